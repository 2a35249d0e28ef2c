"""Models rendered in the API's response shapes: field names, wrappers and time format."""

from __future__ import annotations

import json
import time
from typing import Any

from assistcli.api import status as st
from assistcli.controller.content import encode_content
from assistcli.controller.models import (
    Activation,
    Command,
    FileSpec,
    Instance,
    InstanceStats,
    Invocation,
    Tag,
    Target,
)

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def timestamp(seconds: float | None) -> str:
    """`2020-01-19T09:15:46Z`; empty when the moment has not come."""
    return "" if seconds is None else time.strftime(TIME_FORMAT, time.gmtime(seconds))


def tags(pairs: list[Tag]) -> dict[str, Any]:
    return {"Tag": [{"TagKey": key, "TagValue": value} for key, value in pairs]}


def command(cmd: Command, encoding: str) -> dict[str, Any]:
    return {
        "CommandId": cmd.command_id,
        "Name": cmd.name,
        "Description": cmd.description,
        "Type": cmd.type,
        "CommandContent": encode_content(cmd.content, encoding),
        "WorkingDir": cmd.working_dir,
        "Timeout": cmd.timeout,
        "CreationTime": timestamp(cmd.creation_time),
        "EnableParameter": cmd.enable_parameter,
        "ParameterNames": {"ParameterName": cmd.parameter_names if cmd.enable_parameter else []},
        "ParameterDefinitions": {"ParameterDefinition": []},
        "InvokeTimes": cmd.invoke_times,
        "Launcher": cmd.launcher,
        "ResourceGroupId": cmd.resource_group_id,
        "Tags": tags(cmd.tags),
        "Provider": "",
        "Category": "",
        "Version": 1,
        "Latest": True,
    }


def _outcome(target: Target, encoding: str, with_output: bool) -> dict[str, Any]:
    """The fields a per-instance record shows in both Describe actions."""
    return {
        "InstanceId": target.instance_id,
        "InvocationStatus": target.status,
        "Repeats": target.repeats,
        "StartTime": timestamp(target.start_time),
        "StopTime": timestamp(target.stop_time),
        "ExitCode": target.exit_code if target.exit_code is not None else 0,
        "Output": encode_content(target.output, encoding) if with_output else "",
        "Dropped": target.dropped,
        "ErrorCode": target.error_code,
        "ErrorInfo": target.error_info,
        "OssOutputStatus": "",
        "OssOutputUri": "",
        "OssOutputErrorCode": "",
        "OssOutputErrorInfo": "",
    }


def invoke_instance(target: Target, inv: Invocation, encoding: str, output: bool) -> dict[str, Any]:
    return {
        **_outcome(target, encoding, output),
        "InstanceInvokeStatus": st.instance_invoke_status(target.status),
        "Timed": st.is_timed(inv.repeat_mode, inv.status),
        "CreationTime": timestamp(target.creation_time),
        "UpdateTime": timestamp(target.update_time or target.creation_time),
        "FinishTime": timestamp(target.finish_time),
    }


def invocation(inv: Invocation, encoding: str, output: bool) -> dict[str, Any]:
    return {
        "InvokeId": inv.invoke_id,
        "CommandId": inv.command_id,
        "CommandName": inv.command_name,
        "CommandType": inv.command_type,
        "CommandDescription": inv.command_description,
        "CommandContent": encode_content(inv.content, encoding),
        "Parameters": json.dumps(inv.parameters or {}, ensure_ascii=False),
        "RepeatMode": inv.repeat_mode,
        "Frequency": inv.frequency,
        "Timed": st.is_timed(inv.repeat_mode, inv.status),
        "Timeout": inv.timeout,
        "Username": inv.username,
        "WorkingDir": inv.working_dir,
        "ContainerId": inv.container_id,
        "ContainerName": inv.container_name,
        "Launcher": inv.launcher,
        "TerminationMode": inv.termination_mode,
        "OssOutputDelivery": inv.oss_output_delivery,
        "CreationTime": timestamp(inv.creation_time),
        "InvocationStatus": inv.status,
        "InvokeStatus": inv.legacy_status,
        "Tags": tags(inv.tags),
        "InvokeInstances": {
            "InvokeInstance": [invoke_instance(t, inv, encoding, output) for t in inv.targets]
        },
    }


def invocation_result(target: Target, inv: Invocation, encoding: str) -> dict[str, Any]:
    return {
        **_outcome(target, encoding, with_output=True),
        "InvokeId": inv.invoke_id,
        "CommandId": inv.command_id,
        "InvokeRecordStatus": st.invoke_record_status(target.status),
        "FinishedTime": timestamp(target.finish_time),
        "Username": inv.username,
        "ContainerId": inv.container_id,
        "ContainerName": inv.container_name,
        "Launcher": inv.launcher,
        "TerminationMode": inv.termination_mode,
        "OssOutputDelivery": inv.oss_output_delivery,
        "Tags": tags(inv.tags),
    }


def activation(act: Activation, *, with_tags: bool = True) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "ActivationId": act.activation_id,
        "Description": act.description,
        "InstanceName": act.instance_name,
        "InstanceCount": act.instance_count,
        "RegisteredCount": act.registered_count,
        "DeregisteredCount": act.deregistered_count,
        "TimeToLiveInHours": act.time_to_live_hours,
        "IpAddressRange": act.ip_address_range,
        "CreationTime": timestamp(act.creation_time),
        "Disabled": act.disabled,
    }
    if with_tags:  # a plain array here, unlike the Tags.Tag wrapper elsewhere
        shown["ResourceGroupId"] = act.resource_group_id
        shown["Tags"] = tags(act.tags)["Tag"]
    return shown


def managed_instance(inst: Instance, stats: InstanceStats, connected: bool) -> dict[str, Any]:
    return {
        "InstanceId": inst.instance_id,
        "InstanceName": inst.instance_name,
        "Hostname": inst.hostname,
        "MachineId": inst.machine_id,
        "ActivationId": inst.activation_id,
        "AgentVersion": inst.agent_version,
        "Connected": connected,
        "InternetIp": inst.internet_ip,
        "IntranetIp": inst.intranet_ip,
        "OsType": inst.os_type,
        "OsVersion": inst.os_version,
        "RegistrationTime": timestamp(inst.registration_time),
        "LastInvokedTime": timestamp(stats.last_invoked_time),
        "InvocationCount": stats.invocation_count,
        "ResourceGroupId": inst.resource_group_id,
        "Tags": tags(inst.tags)["Tag"],
    }


def assistant_status(inst: Instance, stats: InstanceStats, connected: bool) -> dict[str, Any]:
    return {
        "InstanceId": inst.instance_id,
        "CloudAssistantStatus": "true" if connected else "false",  # a string, as in the API
        "CloudAssistantVersion": inst.agent_version,
        "LastHeartbeatTime": timestamp(inst.last_heartbeat),
        "LastInvokedTime": timestamp(stats.last_invoked_time),
        "ActiveTaskCount": stats.active_task_count,
        "InvocationCount": stats.invocation_count,
        "OSType": {"linux": "Linux", "windows": "Windows"}.get(inst.os_type, inst.os_type),
        "SupportSessionManager": False,
    }


def send_file_invocation(inv: Invocation, file: FileSpec) -> dict[str, Any]:
    return {
        "InvokeId": inv.invoke_id,
        "Name": file.name,
        "Description": inv.command_description,
        "Content": encode_content(inv.content, file.content_type),
        "ContentType": file.content_type,
        "TargetDir": file.target_dir,
        "FileMode": file.file_mode,
        "FileOwner": file.file_owner,
        "FileGroup": file.file_group,
        "Overwrite": "true" if file.overwrite else "false",  # a string, as in the API
        "CreationTime": timestamp(inv.creation_time),
        "VmCount": len(inv.targets),
        "InvocationStatus": inv.status,
        "Tags": tags(inv.tags),
        "InvokeInstances": {
            "InvokeInstance": [
                {
                    "InstanceId": t.instance_id,
                    "InvocationStatus": t.status,
                    "CreationTime": timestamp(t.creation_time),
                    "StartTime": timestamp(t.start_time),
                    "UpdateTime": timestamp(t.update_time or t.creation_time),
                    "FinishTime": timestamp(t.finish_time),
                    "ErrorCode": t.error_code,
                    "ErrorInfo": t.error_info,
                }
                for t in inv.targets
            ]
        },
    }
