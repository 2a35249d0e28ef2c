"""Error bodies' `Recommend` points at this controller's own page of error codes, not Alibaba's
site; `--docs-url` points it at other docs."""

from __future__ import annotations

import re

import pytest
import requests
from conftest import Controller, StartController, api

from assistcli.errors import ApiError

pytestmark = pytest.mark.e2e


def recommend(ctl: Controller) -> str:
    with pytest.raises(ApiError) as refused:
        api(ctl).call("DeleteCommand", {"CommandId": "c-missing"})
    return str(refused.value.recommend)  # type: ignore[attr-defined]


def test_recommend_links_the_code_on_the_controllers_own_page(controller: Controller) -> None:
    link = recommend(controller)
    assert link == f"{controller.url}docs/errors#InvalidCmdId.NotFound"
    page = requests.get(link.partition("#")[0], timeout=5)  # no credentials needed
    assert page.headers["Content-Type"] == "text/html;charset=utf-8"
    row = re.search(r'<tr id="InvalidCmdId\.NotFound">.*?</tr>', page.text)
    assert row and "404" in row.group(0) and "does not exist" in row.group(0)


def test_docs_url_points_it_elsewhere(start_controller: StartController) -> None:
    ctl = start_controller("--docs-url", "https://docs.example.net/api.md")
    assert recommend(ctl) == "https://docs.example.net/api.md#InvalidCmdId.NotFound"
