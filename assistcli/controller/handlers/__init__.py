"""One async handler per action of the table: `(Context, Args) -> response fields`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from assistcli.api.codec import Args
from assistcli.controller.context import Context
from assistcli.controller.handlers import commands, files, fleet, invocations, tags

Handler = Callable[[Context, Args], Awaitable[dict[str, Any]]]

HANDLERS: Mapping[str, Handler] = {
    "CreateCommand": commands.create_command,
    "ModifyCommand": commands.modify_command,
    "DeleteCommand": commands.delete_command,
    "DescribeCommands": commands.describe_commands,
    "InvokeCommand": invocations.invoke_command,
    "RunCommand": invocations.run_command,
    "StopInvocation": invocations.stop_invocation,
    "ModifyInvocationAttribute": invocations.modify_invocation_attribute,
    "DescribeInvocations": invocations.describe_invocations,
    "DescribeInvocationResults": invocations.describe_invocation_results,
    "SendFile": files.send_file,
    "DescribeSendFileResults": files.describe_send_file_results,
    "CreateActivation": fleet.create_activation,
    "DescribeActivations": fleet.describe_activations,
    "DisableActivation": fleet.disable_activation,
    "DeleteActivation": fleet.delete_activation,
    "DescribeManagedInstances": fleet.describe_managed_instances,
    "DeregisterManagedInstance": fleet.deregister_managed_instance,
    "ModifyManagedInstance": fleet.modify_managed_instance,
    "DescribeCloudAssistantStatus": fleet.describe_cloud_assistant_status,
    "TagResources": tags.tag_resources,
    "UntagResources": tags.untag_resources,
    "ListTagResources": tags.list_tag_resources,
}
