"""Identifier shapes: resource ids, secrets and request ids."""

from __future__ import annotations

import re
import uuid

from assistcli.controller.ids import new_id, new_secret, request_id


def test_request_ids_are_distinct_upper_case_version_4_uuids() -> None:
    ids = [request_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for rid in ids:
        assert rid == rid.upper()
        parsed = uuid.UUID(rid)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)


def test_resource_ids_and_secrets_have_alibabas_shape() -> None:
    assert re.fullmatch(r"c-[a-z0-9]{16}", new_id("c-"))
    assert re.fullmatch(r"[A-Za-z0-9]{43}", new_secret(43))
