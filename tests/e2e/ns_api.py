"""The project's signed API client, serving calls over stdin/stdout from inside a namespace.

A controller on a lab's hub is reachable only from inside the hub's namespace, so tests start
this there once and send it calls, one JSON line each, instead of a Python process per call:

    python ns_api.py URL ACCESS_KEY_ID SECRET CA_FILE
    stdin:  {"action": "RunCommand", "params": {...}}
    stdout: {"body": {...}}   or   {"error": "Code", "message": "..."}
"""

from __future__ import annotations

import json
import sys

from assistcli.client import ApiClient, RequestsTransport
from assistcli.errors import ApiError, AssistError
from assistcli.trust import Trust


def main() -> None:
    url, key_id, secret, ca = sys.argv[1:5]
    client = ApiClient(url, key_id, secret, transport=RequestsTransport(Trust(ca, "test")))
    for line in sys.stdin:
        call = json.loads(line)
        try:
            answer = {"body": client.call(call["action"], call["params"])}
        except ApiError as error:
            answer = {"error": error.code, "message": str(error)}
        except AssistError as error:
            answer = {"error": type(error).__name__, "message": str(error)}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
