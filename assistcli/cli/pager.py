"""`--pager`: call a paged action until every page is read, and merge the pages.

Both paging styles of the API work: NextToken (followed while a response carries one) and
PageNumber/PageSize/TotalCount. As in the aliyun CLI the result holds only the collection:
`{"Commands": {"Command": [...]}}`. Fields: `path=Commands.Command[]` (or a bare path), and
`PageNumber=`, `PageSize=`, `TotalCount=`, `NextToken=` to rename the response fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from assistcli.cli.exits import usage
from assistcli.output import find_collection

Call = Callable[[Mapping[str, str]], dict[str, Any]]
MAX_PAGES = 10_000


class PagerSpec(NamedTuple):
    path: tuple[str, ...] = ()
    page_number: str = "PageNumber"
    page_size: str = "PageSize"
    total_count: str = "TotalCount"
    next_token: str = "NextToken"


_FIELDS = {
    "PageNumber": "page_number",
    "PageSize": "page_size",
    "TotalCount": "total_count",
    "NextToken": "next_token",
}


def parse_pager(fields: Sequence[str]) -> PagerSpec:
    values: dict[str, Any] = {}
    for text in fields:
        key, equals, value = text.partition("=")
        if not equals or key == "path":
            values["path"] = _path(value if equals else text)
        elif key in _FIELDS and value.isidentifier():
            values[_FIELDS[key]] = value
        else:
            raise usage(
                f"--pager {text}: fields are path=, PageNumber=, PageSize=, TotalCount= and "
                "NextToken=, each naming a response field (set the page size with --PageSize)"
            )
    return PagerSpec(**values)


def _path(text: str) -> tuple[str, ...]:
    parts = tuple(part for part in text.removesuffix("[]").split(".") if part)
    if not parts:
        raise usage(f"--pager path {text!r} is empty; e.g. path=Commands.Command[]")
    return parts


def collect(call: Call, params: Mapping[str, str], spec: PagerSpec) -> dict[str, Any]:
    """Every item of every page, under the collection's path."""
    page = call(params)
    path = spec.path or tuple(find_collection(page) or ())
    if not path:
        raise usage("cannot find the collection in the response; name it: --pager path=A.B[]")
    items = list(_get(page, path))
    for _ in range(MAX_PAGES):
        following = _next_params(page, path, params, spec)
        if following is None:
            break
        page, params = call(following), following
        batch = _get(page, path)
        if not batch:
            break
        items += batch
    return _nest(path, items)


def _get(data: Any, path: Sequence[str]) -> list[Any]:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return list(data) if isinstance(data, list) else []


def _paging_fields(page: dict[str, Any], path: Sequence[str], spec: PagerSpec) -> dict[str, Any]:
    """The object holding TotalCount/NextToken: the response, or the collection's parent
    (DescribeInvocationResults keeps them under `Invocation`)."""
    holders: list[dict[str, Any]] = [page]
    for key in path[:-1]:
        inner = holders[-1].get(key)
        if not isinstance(inner, dict):
            break
        holders.append(inner)
    named = (h for h in reversed(holders) if spec.total_count in h or spec.next_token in h)
    return next(named, page)


def _next_params(
    page: dict[str, Any], path: Sequence[str], params: Mapping[str, str], spec: PagerSpec
) -> dict[str, str] | None:
    fields = _paging_fields(page, path, spec)
    token = fields.get(spec.next_token)
    if token and token != params.get("NextToken"):
        following = {k: v for k, v in params.items() if k != "PageNumber"}
        following["NextToken"] = str(token)
        if "PageSize" in params and "MaxResults" not in params:
            following["MaxResults"] = params["PageSize"]
        return following
    number, size, total = (_int(fields.get(name)) for name in _page_names(spec))
    if number is None or not size or total is None or number * size >= total:
        return None
    return {**params, "PageNumber": str(number + 1)}


def _page_names(spec: PagerSpec) -> tuple[str, str, str]:
    return spec.page_number, spec.page_size, spec.total_count


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _nest(path: Sequence[str], items: list[Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {path[-1]: items}
    for key in reversed(path[:-1]):
        nested = {key: nested}
    return nested
