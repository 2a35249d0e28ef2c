"""Request authentication over HTTP: the official SDKs are accepted, and read the server's
answers to a wrong secret as they read Alibaba's (reference §1.6); no secret reaches the log.

What the server checks of each signature, timestamp and nonce is tested in process, with
requests built by the independent raw client: integration/test_signatures.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import REGION, Controller, make_tea_client
from rawclient import build, ok_body, send

pytestmark = pytest.mark.e2e


def test_official_sdks_are_accepted(controller: Controller, core_client: Any) -> None:
    from alibabacloud_ecs20140526 import models as ecs
    from aliyunsdkecs.request.v20140526.DescribeCommandsRequest import DescribeCommandsRequest

    assert b"Commands" in core_client.do_action_with_exception(DescribeCommandsRequest())
    for v1 in (False, True):
        client = make_tea_client(controller, v1=v1)
        resp = client.describe_commands(ecs.DescribeCommandsRequest(region_id=REGION))
        assert resp.status_code == 200 and resp.body.request_id


def test_core_sdk_recognises_its_own_string_to_sign(controller: Controller) -> None:
    """On a match the core SDK rewrites SignatureDoesNotMatch to InvalidAccessKeySecret (§1.6)."""
    from aliyunsdkcore.acs_exception.exceptions import ServerException
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkecs.request.v20140526.DescribeCommandsRequest import DescribeCommandsRequest

    client = AcsClient(controller.access_key_id, "wrong-secret", REGION, auto_retry=False)
    client.add_endpoint(REGION, "Ecs", controller.endpoint)
    with pytest.raises(ServerException) as info:
        client.do_action_with_exception(DescribeCommandsRequest())
    assert info.value.get_http_status() == 400
    assert info.value.get_error_code() == "InvalidAccessKeySecret"


def test_tea_sdk_wrong_secret_is_a_client_error(controller: Controller) -> None:
    from alibabacloud_ecs20140526 import models as ecs
    from alibabacloud_tea_openapi.exceptions import ClientException

    client = make_tea_client(controller, secret="wrong-secret")
    with pytest.raises(ClientException) as info:
        client.describe_commands(ecs.DescribeCommandsRequest(region_id=REGION))
    assert info.value.code == "SignatureDoesNotMatch"
    assert info.value.status_code == 400


# --- secrets stay out of the log (runs last in this file) --------------------------------------


def test_zz_secret_never_appears_in_the_log(controller: Controller) -> None:
    key_id, secret = controller.access_key_id, controller.access_key_secret
    ok_body(
        send(
            build(
                controller.url, key_id, secret, {"Action": "DescribeCommands", "RegionId": REGION}
            )
        )
    )
    log = controller.log()
    assert controller.access_key_secret not in log
    assert "wrong-secret" not in log
