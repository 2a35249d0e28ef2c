"""Read runs' output from a controller: a signed GET of its output stream (api/outputstream.py),
its frames yielded as they arrive.

Signed as the API's calls are (signature V1 over the query, a fresh nonce each time), through
`requests` (HTTPS with the profile's trust, proxies), whose import only this path pays for.
Failures are the client's: TransportError when the controller cannot be reached or the stream
is cut, ServerError when it refuses the request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence

from assistcli.api.actions import API_VERSION
from assistcli.api.outputstream import ACTION, PATH, Frame, FrameError, FrameReader
from assistcli.api.signing import canonical_query, sign_v1
from assistcli.client import USER_AGENT, ServerError, TransportError
from assistcli.config import Settings
from assistcli.trust import innermost, tls_failure

# Seconds without a byte before the stream counts as lost: the controller sends a keep-alive
# newline after 15 s of silence.
READ_TIMEOUT = 60.0


def stream_url(
    settings: Settings, invoke_id: str, instance_ids: Sequence[str], offset: int, follow: bool
) -> str:
    params = {
        "Action": ACTION,
        "Version": API_VERSION,
        "RegionId": settings.region_id,
        "InvokeId": invoke_id,
        "Offset": str(offset),
        "Follow": "true" if follow else "false",
    }
    params.update({f"InstanceId.{n}": iid for n, iid in enumerate(instance_ids, start=1)})
    signed = sign_v1(
        "GET", params, access_key_id=settings.access_key_id, secret=settings.access_key_secret
    )
    base = settings.endpoint if "://" in settings.endpoint else f"http://{settings.endpoint}"
    return f"{base.rstrip('/')}{PATH}?{canonical_query(signed)}"


def frames(
    settings: Settings,
    invoke_id: str,
    instance_ids: Sequence[str] = (),
    *,
    offset: int = 0,
    follow: bool = False,
) -> Iterator[Frame]:
    """The frames of the invocation's output stream (all its instances when none are named),
    until the controller ends it."""
    import requests

    url = stream_url(settings, invoke_id, instance_ids, offset, follow)
    base = url.split(PATH, 1)[0] + "/"
    try:
        response = requests.get(
            url,
            stream=True,
            headers={"User-Agent": USER_AGENT},
            timeout=(settings.connect_timeout, max(settings.read_timeout, READ_TIMEOUT)),
            verify=settings.trust.requests_verify,
        )
    except requests.exceptions.SSLError as error:
        raise TransportError(tls_failure(base, error, settings.trust), final=True) from error
    except requests.RequestException as error:
        why = f"cannot reach the controller at {base}: {_reason(error)}"
        raise TransportError(why, unreachable=True) from error
    with response:
        if response.status_code != 200:
            raise _refusal(base, response.status_code, response.content)
        reader = FrameReader()
        try:
            for data in response.iter_content(chunk_size=None):
                yield from reader.feed(data)
        except requests.RequestException as error:
            why = f"the output stream from {base} broke off: {_reason(error)}"
            raise TransportError(why, delivered=True) from error
        except FrameError as error:
            raise TransportError(f"{base} sent no output stream: {error}") from error
        if reader.pending():
            raise TransportError(
                f"the output stream from {base} broke off in a frame", delivered=True
            )


def _reason(error: BaseException) -> str:
    """`[Errno 111] Connection refused`, or the kind of failure: never the message of requests,
    which quotes the signed URL."""
    found = re.search(r"\[Errno -?\d+\] [^'\")]+", str(innermost(error)))
    return found.group(0) if found else type(innermost(error)).__name__


def _refusal(base: str, status: int, body: bytes) -> Exception:
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return TransportError(f"{base} answered HTTP {status} without a JSON body", delivered=True)
    return ServerError(answer, status)
