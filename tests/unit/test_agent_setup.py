"""agentd's set-up on its own: fingerprints as people spell them, and unit command lines."""

from __future__ import annotations

import shlex

import pytest

from agentd.install import unit_word
from agentd.trust import parse_fingerprint

HEX = "0b5e4f397d9946e44cd3778cd8701c129d048cbe9eb8ad90a0db2c747da27045"


@pytest.mark.parametrize(
    "spelled",
    [
        f"sha256:{HEX}",
        HEX,
        f"SHA256:{HEX.upper()}",
        ":".join(HEX[i : i + 2] for i in range(0, 64, 2)),
        f" sha256:{HEX}\n",
    ],
)
def test_fingerprints_are_read_in_any_case_with_or_without_colons(spelled: str) -> None:
    assert parse_fingerprint(spelled) == HEX


@pytest.mark.parametrize(
    "spelled", ["", "sha256:", HEX[:-2], HEX + "00", f"sha1:{HEX}", f"sha256:{HEX[:-1]}g", "::"]
)
def test_anything_else_is_not_a_fingerprint(spelled: str) -> None:
    with pytest.raises(ValueError, match="is not sha256:<64 hex digits>"):
        parse_fingerprint(spelled)


@pytest.mark.parametrize(
    ("word", "written"),
    [
        ("/usr/bin/python3", "/usr/bin/python3"),
        ("/opt/my python/bin/python3", '"/opt/my python/bin/python3"'),
        ('/opt/a"b', '"/opt/a\\"b"'),
        ("/opt/100%", "/opt/100%%"),
        ("/opt/$HOME", "/opt/$$HOME"),
    ],
)
def test_unit_words_are_escaped_for_systemd(word: str, written: str) -> None:
    assert unit_word(word) == written
    if "%" not in word and "$" not in word:
        assert shlex.split(written) == [word]  # systemd splits quotes as a shell does
