"""Issue 2 acceptance through the official SDKs, unchanged, against the real server:
GetCallerIdentity signed with the root key through both SDK generations (Tea v3, Tea v1 mode,
legacy core), a wrong secret, a stale timestamp and a reused nonce."""

import json
import time

import pytest
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.utils import Utils as TeaUtils
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.auth.composer import rpc_signature_composer
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest
from aliyunsdksts.request.v20150401.GetCallerIdentityRequest import GetCallerIdentityRequest


def tea_sts(server, ak, secret, signature_algorithm=None):
    cfg = open_api_models.Config(
        access_key_id=ak, access_key_secret=secret, endpoint=server.host, protocol="http"
    )
    if signature_algorithm:
        cfg.signature_algorithm = signature_algorithm
    return StsClient(cfg)


def assert_root_identity(body, account):
    assert body.account_id == account["AccountId"]
    assert body.arn == f"acs:ram::{account['AccountId']}:root"
    assert body.identity_type == "Account"
    assert body.user_id == account["AccountId"]
    assert len(body.request_id) == 36


def tea_error_code(exc):
    return getattr(exc, "code", None)


def test_tea_v3_get_caller_identity(server, root):
    resp = tea_sts(server, root["AccessKeyId"], root["AccessKeySecret"]).get_caller_identity()
    assert resp.status_code == 200
    assert_root_identity(resp.body, root)


def test_tea_v1_signature_get_caller_identity(server, root):
    client = tea_sts(server, root["AccessKeyId"], root["AccessKeySecret"], "v2")
    assert_root_identity(client.get_caller_identity().body, root)


def test_legacy_core_common_request(server, root):
    client = AcsClient(root["AccessKeyId"], root["AccessKeySecret"], "cn-hangzhou")
    req = CommonRequest(domain=server.host, version="2015-04-01", action_name="GetCallerIdentity")
    req.set_protocol_type("http")
    req.set_method("POST")
    body = json.loads(client.do_action_with_exception(req))
    assert body["AccountId"] == root["AccountId"]
    assert body["IdentityType"] == "Account"


def test_legacy_sts_sdk_request_class(server, root):
    client = AcsClient(root["AccessKeyId"], root["AccessKeySecret"], "cn-hangzhou")
    req = GetCallerIdentityRequest()
    req.set_endpoint(server.host)
    req.set_protocol_type("http")
    body = json.loads(client.do_action_with_exception(req))
    assert body["Arn"] == f"acs:ram::{root['AccountId']}:root"


def test_wrong_secret_tea(server, root):
    for algo in (None, "v2"):
        client = tea_sts(server, root["AccessKeyId"], root["AccessKeySecret"] + "x", algo)
        with pytest.raises(Exception) as err:
            client.get_caller_identity()
        assert tea_error_code(err.value) == "SignatureDoesNotMatch", (algo, err.value)


def test_wrong_secret_legacy_core(server, root):
    client = AcsClient(root["AccessKeyId"], root["AccessKeySecret"] + "x", "cn-hangzhou")
    # A typed request records its string to sign; the legacy core compares it with the one the
    # server echoes and, when they agree, reports the real cause: the secret is wrong (spec 3.1).
    typed = GetCallerIdentityRequest()
    typed.set_endpoint(server.host)
    typed.set_protocol_type("http")
    with pytest.raises(ServerException) as err:
        client.do_action_with_exception(typed)
    assert err.value.get_error_code() == "InvalidAccessKeySecret"
    assert err.value.get_http_status() == 400
    # CommonRequest keeps no string to sign, so the server's code comes through as is.
    common = CommonRequest(domain=server.host, version="2015-04-01", action_name="GetCallerIdentity")
    common.set_protocol_type("http")
    with pytest.raises(ServerException) as err:
        client.do_action_with_exception(common)
    assert err.value.get_error_code() == "SignatureDoesNotMatch"
    assert "server string to sign is:GET&%2F&AccessKeyId%3D" in err.value.get_error_msg()


def test_unknown_access_key(server):
    client = tea_sts(server, "LTAIdoesnotexist0000000", "x")
    with pytest.raises(Exception) as err:
        client.get_caller_identity()
    assert tea_error_code(err.value) == "InvalidAccessKeyId.NotFound"


def test_stale_timestamp_tea(server, root, monkeypatch):
    stale = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    monkeypatch.setattr(TeaUtils, "get_timestamp", staticmethod(lambda: stale))
    for algo in (None, "v2"):
        client = tea_sts(server, root["AccessKeyId"], root["AccessKeySecret"], algo)
        with pytest.raises(Exception) as err:
            client.get_caller_identity()
        assert tea_error_code(err.value) == "InvalidTimeStamp.Expired", (algo, err.value)


def test_stale_timestamp_legacy_core(server, root, monkeypatch):
    stale = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    monkeypatch.setattr(rpc_signature_composer.helper, "get_iso_8061_date", lambda: stale)
    client = AcsClient(root["AccessKeyId"], root["AccessKeySecret"], "cn-hangzhou")
    req = CommonRequest(domain=server.host, version="2015-04-01", action_name="GetCallerIdentity")
    req.set_protocol_type("http")
    with pytest.raises(ServerException) as err:
        client.do_action_with_exception(req)
    assert err.value.get_error_code() == "InvalidTimeStamp.Expired"


def test_reused_nonce(server, root, monkeypatch):
    for algo, nonce in ((None, "a" * 32), ("v2", "b" * 32)):
        monkeypatch.setattr(TeaUtils, "get_nonce", staticmethod(lambda n=nonce: n))
        client = tea_sts(server, root["AccessKeyId"], root["AccessKeySecret"], algo)
        assert client.get_caller_identity().body.account_id == root["AccountId"]
        with pytest.raises(Exception) as err:
            client.get_caller_identity()
        assert tea_error_code(err.value) == "SignatureNonceUsed", (algo, err.value)
