"""The columns `-o table` shows for each action: the fields a person reads of its rows.

A row of DescribeInvocationResults has 24 fields, far wider than a terminal; the table shows
these (as the quickstart's does), `-o cols=A,B` any others. An action not listed here shows
every scalar field of its rows.
"""

from __future__ import annotations

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "DescribeCommands": ("CommandId", "Name", "Type", "InvokeTimes", "CreationTime"),
    "DescribeInvocations": (
        "InvokeId",
        "CommandName",
        "RepeatMode",
        "InvocationStatus",
        "CreationTime",
    ),
    "DescribeInvocationResults": ("InstanceId", "InvocationStatus", "ExitCode", "Output"),
    "DescribeSendFileResults": ("InvokeId", "Name", "TargetDir", "InvocationStatus", "VmCount"),
    "DescribeActivations": (
        "ActivationId",
        "InstanceName",
        "RegisteredCount",
        "InstanceCount",
        "Disabled",
        "CreationTime",
    ),
    "DescribeManagedInstances": (
        "InstanceId",
        "InstanceName",
        "Hostname",
        "Connected",
        "AgentVersion",
        "LastInvokedTime",
    ),
    "DescribeCloudAssistantStatus": (
        "InstanceId",
        "CloudAssistantStatus",
        "CloudAssistantVersion",
        "LastHeartbeatTime",
        "ActiveTaskCount",
    ),
}
