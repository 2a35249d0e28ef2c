"""What to do about an error the controller answered, said after the aliyun CLI's error block.

The API's own message stays as it is (scripts and the SDKs read it); the CLI knows more about
the call than the controller does (where its secret came from, how a value was given) and says
what the fix is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from assistcli.config import mask

if TYPE_CHECKING:
    from assistcli.config import Settings
    from assistcli.errors import ApiError

Hint = Callable[[Mapping[str, str], "Settings"], str]


def explain(error: ApiError, params: Mapping[str, str], settings: Settings) -> str:
    """A line or two on what to do, or "" when the message says it all."""
    hint = HINTS.get(error.code)
    return hint(params, settings) if hint else ""


def _not_base64(params: Mapping[str, str], settings: Settings) -> str:
    return (
        "CommandContent must be Base64 unless --ContentEncoding PlainText says it is the "
        "script as it is; --CommandContent fileb://script.sh sends a file Base64-encoded."
    )


def _file_not_base64(params: Mapping[str, str], settings: Settings) -> str:
    return (
        "Content must be Base64 unless --ContentType PlainText says it is the text as it is; "
        "--Content fileb://FILE sends a file Base64-encoded."
    )


def _wrong_secret(params: Mapping[str, str], settings: Settings) -> str:
    return (
        f"The Access Key Secret of {settings.secret_source or settings.source} is wrong for "
        f"Access Key Id {mask(settings.access_key_id)}: the controller at {settings.endpoint} "
        "signs with another one."
    )


def _unknown_key(params: Mapping[str, str], settings: Settings) -> str:
    return (
        f"The controller at {settings.endpoint} has no Access Key Id "
        f"{mask(settings.access_key_id)} (of {settings.source}): create one there with "
        "`assistcli controller access-key create`."
    )


def _disabled_key(params: Mapping[str, str], settings: Settings) -> str:
    return (
        f"The Access Key Id {mask(settings.access_key_id)} of {settings.source} is disabled on "
        "the controller (`assistcli controller access-key enable` turns it on again)."
    )


HINTS: dict[str, Hint] = {
    "CmdContent.DecodeError": _not_base64,
    "InvalidParameter.Content": _file_not_base64,
    "SignatureDoesNotMatch": _wrong_secret,
    "InvalidAccessKeyId.NotFound": _unknown_key,
    "InvalidAccessKeyId.Inactive": _disabled_key,
}
