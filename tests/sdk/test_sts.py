"""Issue 4 acceptance through the official STS and RAM SDKs (and the credentials library)
against the real server: the mobile-app session policy with the decision endpoint, cross-account
delegation and its revocation, and tokens that must be refused."""

import base64
import glob
import hashlib
import hmac
import json
import os
import time
from datetime import datetime, timezone

import pytest
from alibabacloud_credentials.client import Client as CredClient
from alibabacloud_credentials.models import Config as CredConfig
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi import utils_models
from alibabacloud_tea_openapi.utils import Utils
from darabonba.runtime import RuntimeOptions

from conftest import Server


def cfg(server, ak, secret, token=None):
    return open_api_models.Config(access_key_id=ak, access_key_secret=secret, security_token=token,
                                  endpoint=server.host, protocol="http")


def code_of(call):
    with pytest.raises(Exception) as err:
        call()
    return getattr(err.value, "code", None)


def trust(account):
    return json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Principal": {"RAM": [f"acs:ram::{account}:root"]}}]})


def call_rpc(client, version, action, query):
    """A signed call of a rambridge extension action through the SDK's generic call_api."""
    params = utils_models.Params(action=action, version=version, protocol="HTTP", pathname="/",
                                 method="POST", auth_type="AK", style="RPC",
                                 req_body_type="formData", body_type="json")
    req = utils_models.OpenApiRequest(query=Utils.query(query))
    return client.call_api(params, req, RuntimeOptions())["body"]


@pytest.fixture(scope="module")
def account_a(server):
    acct = server.create_account("acme-sts")
    root = RamClient(cfg(server, acct["AccessKeyId"], acct["AccessKeySecret"]))
    root.create_role(ram_models.CreateRoleRequest(
        role_name="mobile-app", assume_role_policy_document=trust(acct["AccountId"]), max_session_duration=7200))
    root.create_policy(ram_models.CreatePolicyRequest(policy_name="oss-all", policy_document=json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:*", "Resource": "*"}]})))
    root.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
        policy_type="Custom", policy_name="oss-all", role_name="mobile-app"))
    # The object store's own identity, allowed to ask for decisions.
    root.create_user(ram_models.CreateUserRequest(user_name="oss-gateway"))
    key = root.create_access_key(ram_models.CreateAccessKeyRequest(user_name="oss-gateway")).body.access_key
    root.create_policy(ram_models.CreatePolicyRequest(policy_name="gateway", policy_document=json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AuthorizeRequest", "Resource": "*"}]})))
    root.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
        policy_type="Custom", policy_name="gateway", user_name="oss-gateway"))
    acct["gateway"] = (key.access_key_id, key.access_key_secret)
    acct["role_arn"] = f"acs:ram::{acct['AccountId']}:role/mobile-app"
    return acct


SESSION_POLICY = json.dumps({"Version": "1", "Statement": [{
    "Effect": "Allow", "Action": ["oss:PutObject", "oss:GetObject"],
    "Resource": "acs:oss:*:*:app-bucket/user-42/*"}]})


def test_mobile_app(server, account_a):
    sts = StsClient(cfg(server, account_a["AccessKeyId"], account_a["AccessKeySecret"]))
    before = time.time()
    resp = sts.assume_role(sts_models.AssumeRoleRequest(
        role_arn=account_a["role_arn"], role_session_name="user-42", duration_seconds=1800, policy=SESSION_POLICY))
    c = resp.body.credentials
    assert c.access_key_id.startswith("STS.")
    expires = datetime.strptime(c.expiration, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    assert before + 1800 - 5 <= expires <= time.time() + 1800 + 5, "Expiration is 30 minutes ahead"
    assert resp.body.assumed_role_user.arn == account_a["role_arn"] + "/user-42"

    gateway = StsClient(cfg(server, *account_a["gateway"]))

    def decide(action, resource, secret=c.access_key_secret):
        string_to_sign = f"PUT\n\n\n{time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}\n/{resource}"
        sig = base64.b64encode(hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()
        return call_rpc(gateway, "2015-04-01", "AuthorizeRequest", {
            "ClientAccessKeyId": c.access_key_id, "ClientSecurityToken": c.security_token,
            "ClientStringToSign": string_to_sign, "ClientSignature": sig, "ClientSignatureMethod": "HMAC-SHA1",
            "RequestAction": action, "RequestResource": resource,
            "RequestSourceIp": "198.51.100.4", "RequestSecureTransport": "true"})

    assert decide("oss:PutObject", "acs:oss:*:*:app-bucket/user-42/a.jpg")["Decision"] == "Allow"
    assert decide("oss:PutObject", "acs:oss:*:*:app-bucket/user-43/a.jpg")["Decision"] == "Deny"
    # The role allows oss:*, but the session policy does not allow DeleteObject.
    assert decide("oss:DeleteObject", "acs:oss:*:*:app-bucket/user-42/a.jpg")["Decision"] == "Deny"
    forged = decide("oss:PutObject", "acs:oss:*:*:app-bucket/user-42/a.jpg", secret="guess")
    assert (forged["Decision"], forged["Reason"]) == ("Deny", "SignatureDoesNotMatch")

    for d in (899, 7201):
        assert code_of(lambda d=d: sts.assume_role(sts_models.AssumeRoleRequest(
            role_arn=account_a["role_arn"], role_session_name="user-42", duration_seconds=d))) \
            == "InvalidParameter.DurationSeconds"


def test_credentials_library_ram_role_arn(server, account_a):
    """alibabacloud-credentials' RamRoleArn provider: GET, v1 with '+' for spaces (spec 2.2)."""
    cred = CredClient(CredConfig(
        type="ram_role_arn", access_key_id=account_a["AccessKeyId"], access_key_secret=account_a["AccessKeySecret"],
        role_arn=account_a["role_arn"], role_session_name="cred-lib", policy=SESSION_POLICY,
        sts_endpoint=f"http://{server.host}"))
    c = cred.get_credential()
    assert c.access_key_id.startswith("STS.")
    who = StsClient(cfg(server, c.access_key_id, c.access_key_secret, c.security_token)).get_caller_identity().body
    assert who.identity_type == "AssumedRoleUser"
    assert who.arn == f"acs:ram::{account_a['AccountId']}:assumed-role/mobile-app/cred-lib"


def test_cross_account(server, account_a):
    b = server.create_account("partner-b")
    b_ram = RamClient(cfg(server, b["AccessKeyId"], b["AccessKeySecret"]))
    b_ram.create_user(ram_models.CreateUserRequest(user_name="operator"))
    key = b_ram.create_access_key(ram_models.CreateAccessKeyRequest(user_name="operator")).body.access_key
    b_ram.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
        policy_type="System", policy_name="AliyunSTSAssumeRoleAccess", user_name="operator"))

    a_ram = RamClient(cfg(server, account_a["AccessKeyId"], account_a["AccessKeySecret"]))
    a_ram.create_role(ram_models.CreateRoleRequest(role_name="partner-ops", assume_role_policy_document=trust(b["AccountId"])))
    role_arn = f"acs:ram::{account_a['AccountId']}:role/partner-ops"

    operator = StsClient(cfg(server, key.access_key_id, key.access_key_secret))
    c = operator.assume_role(sts_models.AssumeRoleRequest(role_arn=role_arn, role_session_name="op")).body.credentials
    session = StsClient(cfg(server, c.access_key_id, c.access_key_secret, c.security_token))
    who = session.get_caller_identity().body
    assert (who.identity_type, who.account_id) == ("AssumedRoleUser", account_a["AccountId"])
    assert who.arn == f"acs:ram::{account_a['AccountId']}:assumed-role/partner-ops/op"

    # A stops trusting B: no new sessions.
    a_ram.update_role(ram_models.UpdateRoleRequest(role_name="partner-ops",
                                                   new_assume_role_policy_document=trust(account_a["AccountId"])))
    assert code_of(lambda: operator.assume_role(sts_models.AssumeRoleRequest(
        role_arn=role_arn, role_session_name="op"))) == "NoPermission"
    # A voids live sessions: the issued credentials fail on their next call.
    time.sleep(0.01)
    call_rpc(a_ram, "2015-05-01", "RevokeRoleSessions", {"RoleName": "partner-ops"})
    assert code_of(lambda: session.get_caller_identity()) == "InvalidSecurityToken.Revoked"


def test_refused_tokens(server, account_a):
    sts = StsClient(cfg(server, account_a["AccessKeyId"], account_a["AccessKeySecret"]))
    c = sts.assume_role(sts_models.AssumeRoleRequest(
        role_arn=account_a["role_arn"], role_session_name="tokens", duration_seconds=900)).body.credentials
    ok = StsClient(cfg(server, c.access_key_id, c.access_key_secret, c.security_token))
    assert ok.get_caller_identity().body.identity_type == "AssumedRoleUser"

    # One byte changed.
    t = c.security_token
    mid = len(t) // 2
    tampered = t[:mid] + ("A" if t[mid] != "A" else "B") + t[mid + 1:]
    assert code_of(lambda: StsClient(cfg(server, c.access_key_id, c.access_key_secret, tampered))
                   .get_caller_identity()) == "InvalidSecurityToken.Malformed"

    # Sealed under a key the server does not hold: a replica configured with another master key.
    other_key = base64.b64encode(os.urandom(32)).decode()
    stranger = Server(server.workdir, env={"RAMBRIDGE_MASTER_KEY": other_key}, log="stranger.log")
    try:
        s = StsClient(open_api_models.Config(access_key_id=c.access_key_id, access_key_secret=c.access_key_secret,
                                             security_token=c.security_token, endpoint=stranger.host, protocol="http"))
        assert code_of(lambda: s.get_caller_identity()) == "InvalidSecurityToken.Malformed"
    finally:
        stranger.stop()

    # Expired: a replica whose clock is 20 minutes ahead (libfaketime), same database and key.
    libs = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
    assert libs, "libfaketime (Debian package faketime) is required; scripts/test installs it"
    future = Server(server.workdir, extra=("--signature-window-seconds", "3600"), log="future.log",
                    env={"LD_PRELOAD": libs[0], "FAKETIME": "+20m", "FAKETIME_DONT_FAKE_MONOTONIC": "1"})
    try:
        f = StsClient(open_api_models.Config(access_key_id=c.access_key_id, access_key_secret=c.access_key_secret,
                                             security_token=c.security_token, endpoint=future.host, protocol="http"))
        assert code_of(lambda: f.get_caller_identity()) == "InvalidSecurityToken.Expired"
    finally:
        future.stop()
    # The same token is still good on the server with the real clock.
    assert ok.get_caller_identity().body.identity_type == "AssumedRoleUser"
