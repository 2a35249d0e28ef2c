"""Generated documents are fresh."""

from __future__ import annotations

from pathlib import Path

from assistcli import docgen

DOCS = Path(__file__).parents[2] / "docs"


def test_api_reference_is_generated_from_the_table() -> None:
    assert (DOCS / "api.md").read_text(encoding="utf-8") == docgen.render(), "run `make docs`"
