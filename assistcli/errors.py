"""Errors shared by the CLI, the controller and the agent.

`ApiError` is what the Cloud Assistant API answers with: an Alibaba error code, an HTTP status and
a message. The codes this project emits are declared once, in `API_ERRORS`, so handlers, docs and
tests share one vocabulary.
"""

from __future__ import annotations

from typing import Any


class AssistError(Exception):
    """Base of every error this project raises on purpose."""


class ApiError(AssistError):
    """An error answered by the API, in Alibaba's error body."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        status: int | None = None,
        request_id: str = "",  # set when the error came back from a server
    ) -> None:
        known_status, template = API_ERRORS.get(code, (400, "The request is not valid."))
        self.code = code
        self.status = status or known_status
        self.message = message or template
        self.request_id = request_id
        super().__init__(f"{code}: {self.message}")

    @classmethod
    def of(cls, code: str, **fields: Any) -> ApiError:
        """The error `code` with its table message, `{placeholders}` filled from `fields`."""
        return cls(code, API_ERRORS[code][1].format(**fields))


def missing(name: str) -> ApiError:
    return ApiError.of("MissingParameter", name=name)


def invalid(name: str, why: str = "") -> ApiError:
    message = f'The specified parameter "{name}" is not valid.'
    return ApiError("InvalidParameter", f"{message} {why}".strip())


# code -> (HTTP status, message). Codes and statuses follow Alibaba's documentation.
API_ERRORS: dict[str, tuple[int, str]] = {
    # Gateway: protocol and authentication.
    "MissingParameter": (
        400,
        'The input parameter "{name}" that is mandatory for processing this request is not '
        "supplied.",
    ),
    "InvalidParameter": (400, 'The specified parameter "{name}" is not valid.'),
    "IncompleteSignature": (400, "The request signature does not conform to Aliyun standards."),
    "SignatureDoesNotMatch": (
        400,
        "Specified signature is not matched with our calculation. server string to sign is:"
        "{string_to_sign}",
    ),
    "SignatureNonceUsed": (400, "Specified signature nonce was used already."),
    "InvalidTimeStamp.Expired": (400, "Specified time stamp or date value is expired."),
    "InvalidTimeStamp.Format": (400, "Specified time stamp or date value is not well formatted."),
    "UnsupportedSignatureMethod": (400, "Specified signature method {method} is not supported."),
    "InvalidAccessKeyId.NotFound": (404, "Specified access key is not found."),
    "InvalidAccessKeyId.Inactive": (403, "Specified access key is disabled."),
    "InvalidAction.NotFound": (
        404,
        "Specified api is not found, please check your url and method.",
    ),
    "InvalidVersion": (400, 'Specified parameter Version "{version}" is not valid.'),
    "InvalidRegionId.Malformed": (400, "The specified RegionId is not valid."),
    "UnsupportedHTTPMethod": (405, "Only GET and POST are served."),
    "InternalError": (500, "The request processing has failed due to some unknown error."),
    "ServiceUnavailable": (
        503,
        "The request has failed due to a temporary failure of the server.",
    ),
    # The HTTP layer: requests refused before they reach an action.
    "InvalidRequest.Malformed": (400, "The HTTP request is malformed: {why}"),
    "InvalidRequest.TooLarge": (413, "The request body is over {limit} bytes."),
    # Idempotency.
    "InvalidClientToken.Malformed": (400, "The specified ClientToken is not valid."),
    "IdempotentParameterMismatch": (
        403,
        "The request uses the same client token as a previous, but non-identical request.",
    ),
    "IdempotentProcessing": (
        403,
        "The previous idempotent request(s) is still processing.",
    ),
    # Paging.
    "InvalidParam.PageNumber": (403, "The specified parameter PageNumber is not valid."),
    "InvalidParam.PageSize": (403, "The specified parameter PageSize is not valid."),
    "InvalidParam.MaxResults": (403, "The specified parameter MaxResults is not valid."),
    "InvalidParam.NextToken": (403, "The specified parameter NextToken is not valid."),
    # Commands.
    "InvalidCmdId.NotFound": (404, "The specified command ID does not exist."),
    "InvalidCmdType.NotFound": (404, "The specified command type does not exist."),
    "CmdName.ExceedLimit": (403, "The length of the command name exceeds the upper limit."),
    "CmdDesc.ExceedLimit": (403, "The length of the command description exceeds the upper limit."),
    "CmdContent.ExceedLimit": (403, "The length of the command content exceeds the upper limit."),
    "CmdContent.DecodeError": (400, "The command content could not be Base64-decoded."),
    "CmdCount.ExceedQuota": (403, "The total number of commands exceeds the quota."),
    "CmdParam.EmptyKey": (400, "The custom parameter name cannot be empty."),
    "CmdParam.InvalidParamName": (400, "The custom parameter name is invalid."),
    "CmdParamCount.ExceedLimit": (403, "The number of custom parameters exceeds the limit of 20."),
    "CmdParamName.ExceedLimit": (
        403,
        "The length of a custom parameter name exceeds the limit of 64 bytes.",
    ),
    "InvalidParameter.WorkingDir": (400, "The specified parameter WorkingDir is not valid."),
    "InvalidTimeout.ExceedLimit": (403, "The specified Timeout is out of range (10-86400 s)."),
    "InvalidLauncher.LengthLimitExceeded": (403, "The length of Launcher exceeds 1 KB."),
    "InvalidParameter.Name": (400, "The specified parameter Name is not valid."),
    # Invocations.
    "MissingParam.InstanceId": (400, "The parameter InstanceId or ResourceTag is required."),
    "InstanceIds.ExceedLimit": (403, "The number of instance IDs exceeds the upper limit."),
    "InvalidInstance.NotFound": (404, "The specified instance does not exist: {instance_id}."),
    "InvalidInstanceId.NotFound": (404, "The specified instance does not exist: {instance_id}."),
    "InvalidInvokeId.NotFound": (404, "The specified invoke ID does not exist."),
    "MissingParam.Frequency": (400, "RepeatMode Period needs a Frequency."),
    "InvalidParam.Frequency": (400, "The specified Frequency is not valid."),
    "InvalidRepeatMode.NotFound": (404, "The specified RepeatMode does not exist."),
    "InvalidTerminationMode.NotFound": (404, "The specified TerminationMode does not exist."),
    "InvalidResourceTag.ConflictWithInstanceIds": (
        400,
        "ResourceTag and InstanceId cannot be specified at the same time.",
    ),
    "InvalidResourceTag.InstanceNotFound": (
        400,
        "No instance matches the specified ResourceTag.",
    ),
    "Username.ExceedLimit": (403, "The length of Username exceeds 255 characters."),
    "WindowsPasswordName.ExceedLimit": (
        403,
        "The length of WindowsPasswordName exceeds 255 characters.",
    ),
    "InvalidContainerId.Malformed": (400, "The specified ContainerId is not valid."),
    "InvalidContainerName.Malformed": (400, "The specified ContainerName is not valid."),
    "InvalidOperation.RepeatModeUnsupported": (
        403,
        "Only tasks with RepeatMode Period, NextRebootOnly or EveryReboot can be modified.",
    ),
    "InvalidOperation.InvokeAlreadyFinished": (403, "The task has already finished."),
    "InvalidInstanceId.CountLimitExceeded": (
        403,
        "The number of instances in the task exceeds the upper limit of 100.",
    ),
    # Custom parameters.
    "Parameter.Disabled": (400, "The command does not enable custom parameters."),
    "Parameter.MissingValue": (400, "No value is given for the custom parameter: {name}."),
    "Parameter.NotMatched": (403, "The custom parameter is not defined in the command: {name}."),
    "InvalidParameter.Parameters": (400, "The specified parameter Parameters is not valid JSON."),
    "ParameterCount.ExceedLimit": (403, "The number of custom parameters exceeds 10."),
    "ParameterKey.ExceedLimit": (403, "The length of a parameter key exceeds 64 characters."),
    "ParameterKey.Duplicate": (403, "The custom parameter keys are duplicated: {name}."),
    "ParameterType.NotSupported": (403, "Custom parameter values must be strings: {name}."),
    "InvalidParameterCharset.Parameters": (
        403,
        "Custom parameters must be valid Unicode text (no unpaired surrogates).",
    ),
    # Files.
    "InvalidParameter.TargetDir": (
        400,
        "TargetDir must be an absolute path without .. components (≤ 255 characters).",
    ),
    "FilePathInvalid": (400, "TargetDir cannot hold a NUL character."),
    "FileNameInvalid": (400, "The file Name cannot be . or .., or hold / or a NUL character."),
    "InvalidParameter.Content": (400, "The file content is empty or not valid Base64."),
    "InvalidParameter.Description": (400, "The specified Description is too long."),
    "InvalidFileContent.LengthLimitExceeded": (
        403,
        "The file content exceeds 32 KB after Base64 encoding.",
    ),
    # Activations and managed instances.
    "InvalidParameter.InstanceName": (400, "The specified InstanceName is not valid."),
    "InvalidParameter.InstanceCount": (400, "InstanceCount must be 1-1000."),
    "InvalidParameter.TimeToLiveInHours": (400, "TimeToLiveInHours must be 1-4."),
    "InvalidParameter.IpAddressRange": (400, "IpAddressRange must be an IP address or CIDR."),
    "InvalidActivationId.NotFound": (404, "The specified activation does not exist."),
    "Activation.InUse": (403, "An activation that registered instances cannot be deleted."),
    "Activation.Disabled": (403, "The activation is disabled."),
    "Activation.Expired": (403, "The activation has expired."),
    "Activation.InvalidCode": (403, "The activation code is not valid."),
    "Activation.InstanceCountExceeded": (
        403,
        "The activation has registered as many instances as it allows.",
    ),
    "Activation.IpNotAllowed": (403, "This address may not register with the activation."),
    # The agent API.
    "Agent.NotRegistered": (
        401,
        "This instance is not registered (it may have been deregistered); register again.",
    ),
    "Agent.InvalidCredential": (401, "The instance secret is not valid."),
    "Agent.InvalidRequest": (400, "The agent request is not valid: {why}"),
    # Tags.
    "InvalidResourceType.NotFound": (404, "The specified ResourceType does not exist."),
    "InvalidResourceId.NotFound": (404, "The specified resource does not exist: {resource_id}."),
    "InvalidTagKey.Malformed": (400, "The specified tag key is not valid."),
    "InvalidTagValue.Malformed": (400, "The specified tag value is not valid."),
    "InvalidTagCount": (400, "A resource can have at most 20 tags."),
    "InvalidParameter.TagValue": (400, "A tag value cannot be given without its key."),
    "Duplicate.TagKey": (400, "The specified tag keys are duplicated."),
}
