"""`GET /docs/errors`: the error codes this controller answers, one row per code.

Error bodies' `Recommend` links a code's row here (`/docs/errors#InvalidCmdId.NotFound`), unless
the operator names other docs with `--docs-url`. The page is public: it holds the table of
`assistcli.errors`, the same as docs/api.md, and nothing of the controller's state.
"""

from __future__ import annotations

import functools
from html import escape

ERRORS_PAGE = "/docs/errors"
HTML_TYPE = "text/html;charset=utf-8"


@functools.cache
def page() -> bytes:
    from assistcli.errors import API_ERRORS

    rows = "".join(
        f'<tr id="{escape(code)}"><td><a href="#{escape(code)}"><code>{escape(code)}</code></a>'
        f"</td><td>{status}</td><td>{escape(message)}</td></tr>\n"
        for code, (status, message) in sorted(API_ERRORS.items())
    )
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8"><title>Error codes</title></head>'
        "<body>\n<h1>Error codes</h1>\n<p>What each error code of the Cloud Assistant API means "
        "on this controller; <code>{name}</code> stands for a value of the request.</p>\n"
        "<table>\n<tr><th>Code</th><th>HTTP status</th><th>Message</th></tr>\n"
        f"{rows}</table>\n</body></html>\n"
    ).encode()
