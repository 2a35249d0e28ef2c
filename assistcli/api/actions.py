"""The one table of Cloud Assistant actions and their parameters.

Server validation, the client encoder, the CLI, the docs and the completions all read this table.
Limits and error codes follow Alibaba's API reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from assistcli.api.spec import Action, Kind, Param
from assistcli.api.status import RepeatMode

API_VERSION = "2014-05-26"

# Accepted on every action and ignored: RAM delegation plumbing of the real service.
IGNORED_PARAMS = frozenset({"OwnerId", "OwnerAccount", "ResourceOwnerId", "ResourceOwnerAccount"})

COMMAND_TYPES = ("RunShellScript", "RunPowerShellScript", "RunBatScript")
REPEAT_MODES = tuple(mode.value for mode in RepeatMode)
PAGE_SIZE_MAX = 50

REGION_ID = Param(name="RegionId", required=True, help="Region ID, e.g. cn-hangzhou.")
CLIENT_TOKEN = Param(
    name="ClientToken",
    max_len=64,
    length_error="InvalidClientToken.Malformed",
    help="Idempotency token (at most 64 ASCII characters): a retry with the same token and "
    "parameters returns the first result.",
)
RESOURCE_GROUP = Param(name="ResourceGroupId", help="Resource group ID.")
TAGS = Param(
    name="Tag",
    kind=Kind.STRUCTS,
    fields=("Key", "Value"),
    max_items=20,
    help="Tags, as Tag.N.Key / Tag.N.Value (at most 20).",
)
TAG_FILTER = Param(
    name="Tag",
    kind=Kind.STRUCTS,
    fields=("Key", "Value"),
    max_items=20,
    help="Only resources carrying all these tags (Tag.N.Key / Tag.N.Value).",
)
RESOURCE_TAGS = Param(
    name="ResourceTag",
    kind=Kind.STRUCTS,
    fields=("Key", "Value"),
    max_items=20,
    help="Select instances by tag instead of InstanceId (ResourceTag.N.Key / .Value).",
)
PAGING = (
    Param(
        name="PageNumber",
        kind=Kind.INTEGER,
        minimum=1,
        range_error="InvalidParam.PageNumber",
        help="Page number, from 1 (default 1).",
    ),
    Param(
        name="PageSize",
        kind=Kind.INTEGER,
        minimum=1,
        maximum=PAGE_SIZE_MAX,
        range_error="InvalidParam.PageSize",
        help="Entries per page, 1-50 (default 10).",
    ),
    Param(
        name="MaxResults",
        kind=Kind.INTEGER,
        minimum=1,
        maximum=PAGE_SIZE_MAX,
        range_error="InvalidParam.MaxResults",
        help="Entries per page with NextToken paging, 1-50 (default 10).",
    ),
    Param(name="NextToken", help="Token of the next page, from the previous response."),
)
OUTPUT_ENCODING = Param(
    name="ContentEncoding",
    choices=("Base64", "PlainText"),
    default="Base64",
    lenient=True,
    help="Encoding of CommandContent and Output in the response (default Base64).",
)

COMMAND_ID = Param(name="CommandId", required=True, help="Command ID (c-...).")
ACTIVATION_ID = Param(name="ActivationId", required=True, help="Activation ID.")
MANAGED_INSTANCE_ID = Param(name="InstanceId", required=True, help="Managed instance ID (mi-...).")
INVOKE_ID = Param(name="InvokeId", required=True, help="Invocation ID (t-...).")
NAME = Param(
    name="Name", max_len=128, length_error="CmdName.ExceedLimit", help="Command name (≤ 128)."
)
DESCRIPTION = Param(
    name="Description",
    max_len=512,
    length_error="CmdDesc.ExceedLimit",
    help="Command description (≤ 512 characters).",
)
TYPE = Param(
    name="Type",
    required=True,
    choices=COMMAND_TYPES,
    choice_error="InvalidCmdType.NotFound",
    help="Script type.",
)
CONTENT = Param(
    name="CommandContent",
    required=True,
    help="Script content: Base64 (≤ 18 KB encoded) unless ContentEncoding says PlainText.",
)
WORKING_DIR = Param(
    name="WorkingDir",
    max_len=200,
    length_error="InvalidParameter.WorkingDir",
    help="Directory the script runs in (default /root on Linux).",
)
TIMEOUT = Param(
    name="Timeout",
    kind=Kind.INTEGER,
    minimum=10,
    maximum=86400,
    range_error="InvalidTimeout.ExceedLimit",
    help="Seconds before the run is killed, 10-86400 (default 60).",
)
ENABLE_PARAMETER = Param(
    name="EnableParameter",
    kind=Kind.BOOLEAN,
    help="Treat {{name}} placeholders in the content as custom parameters.",
)
LAUNCHER = Param(
    name="Launcher",
    max_len=1024,
    length_error="InvalidLauncher.LengthLimitExceeded",
    help="Custom launcher command line for the script (≤ 1 KB).",
)
INSTANCE_IDS = Param(
    name="InstanceId",
    kind=Kind.LIST,
    max_items=100,
    items_error="InstanceIds.ExceedLimit",
    help="Target instances, as InstanceId.N (1-100).",
)
PARAMETERS = Param(
    name="Parameters",
    kind=Kind.JSON,
    help='Values of custom parameters as a JSON object, e.g. {"name":"value"} (≤ 10 keys).',
)

# What InvokeCommand and RunCommand share: where and how the script runs.
RUN_OPTIONS = (
    INSTANCE_IDS,
    RESOURCE_TAGS,
    Param(
        name="RepeatMode",
        choices=REPEAT_MODES,
        choice_error="InvalidRepeatMode.NotFound",
        help="Once (default), Period, NextRebootOnly, EveryReboot or DryRun.",
    ),
    Param(name="Frequency", help="Schedule of a Period task: rate(...), at(...) or cron."),
    Param(name="Timed", kind=Kind.BOOLEAN, help="Deprecated; ignored (use RepeatMode)."),
    PARAMETERS,
    Param(
        name="Username",
        max_len=255,
        length_error="Username.ExceedLimit",
        help="User the script runs as (default root).",
    ),
    Param(
        name="WindowsPasswordName",
        max_len=255,
        length_error="WindowsPasswordName.ExceedLimit",
        help="Name of the stored password of a Windows user.",
    ),
    WORKING_DIR,
    Param(name="ContainerId", help="Run inside this container (Linux)."),
    Param(name="ContainerName", help="Run inside the container of this name (Linux)."),
    Param(
        name="TerminationMode",
        choices=("Process", "ProcessTree"),
        choice_error="InvalidTerminationMode.NotFound",
        help="What a stop or timeout kills: Process or ProcessTree.",
    ),
    LAUNCHER,
    Param(name="OssOutputDelivery", help="oss://bucket/prefix for full output (not supported)."),
    RESOURCE_GROUP,
    TAGS,
    CLIENT_TOKEN,
)

TAG_RESOURCE_TYPES = ("command", "invocation", "activation", "managedinstance")
RESOURCE_TYPE = Param(
    name="ResourceType",
    required=True,
    choices=TAG_RESOURCE_TYPES,
    choice_error="InvalidResourceType.NotFound",
    help="Type of the tagged resources.",
)
RESOURCE_IDS = Param(
    name="ResourceId",
    kind=Kind.LIST,
    max_items=50,
    help="Resource IDs, as ResourceId.N (1-50).",
)

ACTIONS: tuple[Action, ...] = (
    Action(
        name="CreateCommand",
        summary="Create a reusable command.",
        idempotent=True,
        params=(
            REGION_ID,
            Param(
                name="Name",
                required=True,
                max_len=128,
                length_error="CmdName.ExceedLimit",
                help="Command name (≤ 128 characters).",
            ),
            TYPE,
            CONTENT,
            Param(
                name="ContentEncoding",
                choices=("Base64", "PlainText"),
                default="Base64",
                lenient=True,
                help="Encoding of CommandContent (default Base64).",
            ),
            DESCRIPTION,
            WORKING_DIR,
            TIMEOUT,
            ENABLE_PARAMETER,
            LAUNCHER,
            RESOURCE_GROUP,
            TAGS,
            CLIENT_TOKEN,
        ),
    ),
    Action(
        name="ModifyCommand",
        summary="Change the name, description, working directory, timeout or launcher of a "
        "command.",
        params=(
            REGION_ID,
            COMMAND_ID,
            NAME,
            DESCRIPTION,
            WORKING_DIR,
            TIMEOUT,
            LAUNCHER,
            Param(name="CommandContent", help="Deprecated and ignored: content is immutable."),
        ),
    ),
    Action(
        name="DeleteCommand",
        summary="Delete a command (its past invocations are kept).",
        params=(REGION_ID, COMMAND_ID),
    ),
    Action(
        name="DescribeCommands",
        summary="List commands, filtered by ID, name, description (* wildcards), type or tags.",
        paged=True,
        params=(
            REGION_ID,
            Param(name="CommandId", help="Exact command ID."),
            Param(name="Name", help="Name; * matches any text at the start or end."),
            Param(name="Description", help="Description; * wildcards as for Name."),
            Param(
                name="Type",
                choices=COMMAND_TYPES,
                choice_error="InvalidCmdType.NotFound",
                help="Script type.",
            ),
            Param(name="Provider", help="Public command provider (none are hosted here)."),
            Param(name="Latest", kind=Kind.BOOLEAN, help="Public commands only; ignored."),
            OUTPUT_ENCODING,
            RESOURCE_GROUP,
            TAG_FILTER,
            *PAGING,
        ),
    ),
    Action(
        name="InvokeCommand",
        summary="Run an existing command on instances.",
        idempotent=True,
        params=(
            REGION_ID,
            COMMAND_ID,
            *RUN_OPTIONS,
            replace(
                TIMEOUT, help="Seconds before the run is killed, 10-86400 (default: the command's)."
            ),
        ),
    ),
    Action(
        name="RunCommand",
        summary="Create a command and run it on instances in one call.",
        idempotent=True,
        params=(
            REGION_ID,
            TYPE,
            Param(
                name="CommandContent",
                required=True,
                help="Script content: plain text unless ContentEncoding is Base64.",
            ),
            Param(
                name="ContentEncoding",
                choices=("PlainText", "Base64"),
                default="PlainText",
                lenient=True,
                help="Encoding of CommandContent (default PlainText).",
            ),
            NAME,
            DESCRIPTION,
            ENABLE_PARAMETER,
            Param(
                name="KeepCommand",
                kind=Kind.BOOLEAN,
                default=False,
                help="Keep the command for later InvokeCommand calls (default false).",
            ),
            TIMEOUT,
            *RUN_OPTIONS,
        ),
    ),
    Action(
        name="StopInvocation",
        summary="Stop an invocation on all or some of its instances.",
        params=(
            REGION_ID,
            INVOKE_ID,
            Param(
                name="InstanceId",
                kind=Kind.LIST,
                max_items=50,
                items_error="InstanceIds.ExceedLimit",
                help="Instances to stop it on, as InstanceId.N (default: all).",
            ),
        ),
    ),
    Action(
        name="ModifyInvocationAttribute",
        summary="Change the content, parameters, frequency or instances of a scheduled task.",
        params=(
            REGION_ID,
            INVOKE_ID,
            Param(name="CommandContent", help="New content (creates a new command)."),
            Param(
                name="ContentEncoding",
                choices=("PlainText", "Base64"),
                default="PlainText",
                lenient=True,
                help="Encoding of CommandContent (default PlainText).",
            ),
            ENABLE_PARAMETER,
            PARAMETERS,
            Param(name="Frequency", help="New schedule (Period tasks)."),
            Param(
                name="InstanceId",
                kind=Kind.LIST,
                max_items=100,
                items_error="InvalidInstanceId.CountLimitExceeded",
                help="Instances to add to the task, as InstanceId.N.",
            ),
            CLIENT_TOKEN,
        ),
    ),
    Action(
        name="DescribeInvocations",
        summary="List invocations with their overall and per-instance status.",
        paged=True,
        params=(
            REGION_ID,
            Param(name="InvokeId", help="Invocation ID."),
            Param(name="CommandId", help="Command ID."),
            Param(name="CommandName", help="Command name."),
            Param(name="CommandType", choices=COMMAND_TYPES, help="Script type."),
            Param(name="InstanceId", help="Only invocations that include this instance."),
            Param(name="InvokeStatus", help="Overall status (legacy or current vocabulary)."),
            Param(name="RepeatMode", choices=REPEAT_MODES, help="Repeat mode."),
            Param(name="Timed", kind=Kind.BOOLEAN, help="true: tasks that will still run."),
            Param(
                name="IncludeOutput",
                kind=Kind.BOOLEAN,
                default=False,
                help="Include each instance's Output (default false).",
            ),
            OUTPUT_ENCODING,
            RESOURCE_GROUP,
            TAG_FILTER,
            *PAGING,
        ),
    ),
    Action(
        name="DescribeInvocationResults",
        summary="List per-instance results (exit code, output, times) of invocations.",
        paged=True,
        params=(
            REGION_ID,
            Param(name="InvokeId", help="Invocation ID."),
            Param(name="InstanceId", help="Instance ID."),
            Param(name="CommandId", help="Command ID."),
            Param(name="InvokeRecordStatus", help="Per-instance record status."),
            Param(
                name="IncludeHistory",
                kind=Kind.BOOLEAN,
                default=False,
                help="One record per run of a periodic task (needs InvokeId).",
            ),
            OUTPUT_ENCODING,
            RESOURCE_GROUP,
            TAG_FILTER,
            *PAGING,
        ),
    ),
    Action(
        name="SendFile",
        summary="Write a small file on instances.",
        idempotent=True,
        params=(
            REGION_ID,
            Param(
                name="InstanceId",
                kind=Kind.LIST,
                max_items=50,
                items_error="InstanceIds.ExceedLimit",
                help="Target instances, as InstanceId.N (1-50).",
            ),
            Param(
                name="Name",
                required=True,
                max_len=255,
                length_error="InvalidParameter.Name",
                help="File name (≤ 255 characters).",
            ),
            Param(
                name="TargetDir",
                required=True,
                max_len=255,
                length_error="InvalidParameter.TargetDir",
                help="Absolute directory to write into; created if missing.",
            ),
            Param(name="Content", required=True, help="File content (≤ 32 KB after Base64)."),
            Param(
                name="ContentType",
                choices=("PlainText", "Base64"),
                default="PlainText",
                lenient=True,
                help="Encoding of Content (default PlainText).",
            ),
            Param(
                name="Description",
                max_len=512,
                length_error="InvalidParameter.Description",
                help="Description (≤ 512 characters).",
            ),
            Param(name="FileMode", default="0644", help="Octal permissions (default 0644)."),
            Param(name="FileOwner", default="root", max_len=64, help="Owner (default root)."),
            Param(name="FileGroup", default="root", max_len=64, help="Group (default root)."),
            Param(
                name="Overwrite",
                kind=Kind.BOOLEAN,
                default=False,
                help="Replace an existing file (default false: FileAlreadyExists).",
            ),
            Param(
                name="Timeout",
                kind=Kind.INTEGER,
                minimum=1,
                maximum=86400,
                range_error="InvalidTimeout.ExceedLimit",
                help="Seconds for the write (default 60; values under 10 become 10).",
            ),
            RESOURCE_GROUP,
            TAGS,
            CLIENT_TOKEN,
        ),
    ),
    Action(
        name="DescribeSendFileResults",
        summary="List file-send tasks with their overall and per-instance status.",
        paged=True,
        params=(
            REGION_ID,
            Param(name="InvokeId", help="File-send task ID (f-...)."),
            Param(name="InstanceId", help="Only tasks that include this instance."),
            Param(name="Name", help="File name."),
            Param(name="InvocationStatus", help="Overall status."),
            RESOURCE_GROUP,
            TAG_FILTER,
            *PAGING,
        ),
    ),
    Action(
        name="CreateActivation",
        summary="Create an activation code with which agents register their instances.",
        idempotent=True,
        params=(
            REGION_ID,
            Param(
                name="InstanceName",
                max_len=50,
                length_error="InvalidParameter.InstanceName",
                help="Name prefix of registered instances (2-50 characters).",
            ),
            Param(
                name="Description",
                max_len=100,
                length_error="InvalidParameter.Description",
                help="Description (≤ 100 characters).",
            ),
            Param(
                name="InstanceCount",
                kind=Kind.INTEGER,
                default=10,
                minimum=1,
                maximum=1000,
                range_error="InvalidParameter.InstanceCount",
                help="How many instances may register with it, 1-1000 (default 10).",
            ),
            Param(
                name="TimeToLiveInHours",
                kind=Kind.INTEGER,
                default=4,
                minimum=1,
                maximum=4,
                range_error="InvalidParameter.TimeToLiveInHours",
                help="Hours during which it accepts registrations, 1-4 (default 4).",
            ),
            Param(
                name="IpAddressRange",
                help="Address or CIDR block allowed to register (default: any).",
            ),
            RESOURCE_GROUP,
            TAGS,
            CLIENT_TOKEN,
        ),
    ),
    Action(
        name="DescribeActivations",
        summary="List activation codes and how many instances used them.",
        paged=True,
        params=(
            REGION_ID,
            Param(name="ActivationId", help="Activation ID."),
            Param(name="InstanceName", help="Instance name prefix."),
            RESOURCE_GROUP,
            TAG_FILTER,
            *PAGING,
        ),
    ),
    Action(
        name="DisableActivation",
        summary="Stop an activation code from registering more instances.",
        params=(REGION_ID, ACTIVATION_ID),
    ),
    Action(
        name="DeleteActivation",
        summary="Delete an activation code that registered no instance yet.",
        params=(REGION_ID, ACTIVATION_ID),
    ),
    Action(
        name="DescribeManagedInstances",
        summary="List registered instances.",
        paged=True,
        params=(
            REGION_ID,
            Param(
                name="InstanceId",
                kind=Kind.LIST,
                max_items=50,
                items_error="InstanceIds.ExceedLimit",
                help="Instance IDs, as InstanceId.N (1-50).",
            ),
            Param(name="InstanceName", help="Instance name."),
            Param(name="InstanceIp", help="Internal or public IP address."),
            Param(name="ActivationId", help="Activation the instances registered with."),
            Param(name="OsType", choices=("windows", "linux", "FreeBSD"), help="OS type."),
            Param(
                name="Connected",
                choices=("true", "false"),
                help="Whether the agent polled in the last two minutes.",
            ),
            Param(name="MachineId", max_len=36, help="Machine ID given at registration."),
            RESOURCE_GROUP,
            TAG_FILTER,
            *PAGING,
        ),
    ),
    Action(
        name="DeregisterManagedInstance",
        summary="Remove a registered instance; its agent is refused from then on.",
        params=(REGION_ID, MANAGED_INSTANCE_ID, Param(name="ClientToken", help="Ignored.")),
    ),
    Action(
        name="ModifyManagedInstance",
        summary="Rename a registered instance.",
        params=(
            REGION_ID,
            MANAGED_INSTANCE_ID,
            Param(
                name="InstanceName",
                required=True,
                max_len=128,
                length_error="InvalidParameter.InstanceName",
                help="New name (2-128 characters, starting with a letter).",
            ),
        ),
    ),
    Action(
        name="DescribeCloudAssistantStatus",
        summary="Whether each instance's agent is alive, its version and task counts.",
        paged=True,
        params=(
            REGION_ID,
            Param(
                name="InstanceId",
                kind=Kind.LIST,
                max_items=50,
                items_error="InstanceIds.ExceedLimit",
                help="Instance IDs, as InstanceId.N (1-50).",
            ),
            Param(name="OSType", choices=("Windows", "Linux", "FreeBSD"), help="OS type."),
            *PAGING,
        ),
    ),
    Action(
        name="TagResources",
        summary="Add or overwrite tags on commands or invocations.",
        params=(
            REGION_ID,
            RESOURCE_TYPE,
            Param(
                name="ResourceId",
                kind=Kind.LIST,
                required=True,
                max_items=50,
                help="Resource IDs, as ResourceId.N (1-50).",
            ),
            Param(
                name="Tag",
                kind=Kind.STRUCTS,
                required=True,
                fields=("Key", "Value"),
                max_items=20,
                help="Tags to set, as Tag.N.Key / Tag.N.Value (1-20).",
            ),
        ),
    ),
    Action(
        name="UntagResources",
        summary="Remove tags from commands or invocations.",
        params=(
            REGION_ID,
            RESOURCE_TYPE,
            Param(
                name="ResourceId",
                kind=Kind.LIST,
                required=True,
                max_items=50,
                help="Resource IDs, as ResourceId.N (1-50).",
            ),
            Param(
                name="TagKey",
                kind=Kind.LIST,
                max_items=20,
                help="Keys to remove, as TagKey.N (1-20).",
            ),
            Param(name="All", kind=Kind.BOOLEAN, default=False, help="Remove every tag."),
        ),
    ),
    Action(
        name="ListTagResources",
        summary="List the tags of commands or invocations.",
        params=(
            REGION_ID,
            RESOURCE_TYPE,
            RESOURCE_IDS,
            TAG_FILTER,
            Param(name="NextToken", help="Token of the next page."),
        ),
    ),
)

BY_NAME: Mapping[str, Action] = {action.name: action for action in ACTIONS}
