"""Both paging styles of the API: PageNumber/PageSize and MaxResults/NextToken."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from assistcli.api.codec import Args
from assistcli.controller.models import Page, PageRequest
from assistcli.errors import ApiError

DEFAULT_PAGE_SIZE = 10
# Entries a page may start at: past any store's size, within every database's integers.
MAX_OFFSET = 2**53


def page_request(args: Args) -> PageRequest:
    """Token paging wins when MaxResults or NextToken is given, as in the real API."""
    if "MaxResults" in args or "NextToken" in args:
        limit = args.number("MaxResults") or DEFAULT_PAGE_SIZE
        return PageRequest(offset=decode_token(args.text("NextToken")), limit=limit)
    size = args.number("PageSize") or DEFAULT_PAGE_SIZE
    number = args.number("PageNumber") or 1
    # A page past every entry is empty however far past it is.
    return PageRequest(offset=min((number - 1) * size, MAX_OFFSET), limit=size)


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def decode_token(token: str) -> int:
    if not token:
        return 0
    try:
        kind, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "offset" and offset.isdigit() and int(offset[:20]) <= MAX_OFFSET:
            return int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError("InvalidParam.NextToken")


def page_fields(page: Page[Any]) -> dict[str, Any]:
    """TotalCount, PageNumber, PageSize and NextToken of a response."""
    request = page.request
    return {
        "TotalCount": page.total,
        "PageNumber": request.offset // request.limit + 1,
        "PageSize": request.limit,
        "NextToken": next_token(page),
    }


def next_token(page: Page[Any]) -> str:
    """The token of the page after `page`; empty on the last page."""
    return encode_token(page.request.offset + len(page.items)) if page.has_more else ""
