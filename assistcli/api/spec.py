"""The schema of the action table: what an action and a parameter are."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    """How a parameter travels on the wire."""

    STRING = "String"
    INTEGER = "Integer"
    BOOLEAN = "Boolean"  # True/true/false, case-insensitive
    LIST = "List"  # Name.1=a&Name.2=b
    STRUCTS = "Structs"  # Name.1.Key=k&Name.1.Value=v
    JSON = "Json"  # one parameter holding a JSON document


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    name: str  # wire name, exactly as Alibaba spells it
    kind: Kind = Kind.STRING
    required: bool = False
    default: str | int | bool | None = None
    help: str = ""
    choices: tuple[str, ...] = ()  # matched case-insensitively, answered in this spelling
    lenient: bool = False  # an unknown choice falls back to `default` instead of failing
    choice_error: str = "InvalidParameter"
    max_len: int | None = None  # characters, for strings and list items
    length_error: str = "InvalidParameter"
    minimum: int | None = None
    maximum: int | None = None
    range_error: str = "InvalidParameter"
    max_items: int | None = None  # lists and struct lists
    items_error: str = "InvalidParameter"
    fields: tuple[str, ...] = ()  # struct-list members, e.g. ("Key", "Value")


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    name: str
    summary: str
    params: tuple[Param, ...]
    idempotent: bool = False  # honours ClientToken
    paged: bool = False

    @property
    def read_only(self) -> bool:
        """Describe* and List* change nothing: repeating one is safe (retries, --waiter)."""
        return self.name.startswith(("Describe", "List"))

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)
