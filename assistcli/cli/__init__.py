"""`assistcli`: the command line. Only click is imported at start-up; the rest where used."""

from __future__ import annotations

from assistcli.cli.root import main

__all__ = ["main"]
