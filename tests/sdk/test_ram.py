"""Issue 3 acceptance: the enterprise scenario through the official RAM SDK (Tea, v3 signatures)
against the real server. The account owner keeps its root key to itself, creates a RAM user per
employee with only the permissions that person needs, and revokes them at will."""

import json

import pytest
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import models as open_api_models
from aliyunsdkcore.client import AcsClient
from aliyunsdkram.request.v20150501.GetUserRequest import GetUserRequest as LegacyGetUser


def cfg(server, ak, secret):
    return open_api_models.Config(access_key_id=ak, access_key_secret=secret,
                                  endpoint=server.host, protocol="http")


def code_of(call):
    with pytest.raises(Exception) as err:
        call()
    return getattr(err.value, "code", None)


def policy(cidr):
    return json.dumps({"Version": "1", "Statement": [{
        "Effect": "Allow",
        "Action": ["ram:GetUser", "ram:ListUsers"],
        "Resource": "*",
        "Condition": {"IpAddress": {"acs:SourceIp": [cidr]}},
    }]})


def test_enterprise_scenario(server):
    acct = server.create_account("acme-ram")
    root = RamClient(cfg(server, acct["AccessKeyId"], acct["AccessKeySecret"]))

    # The owner creates an employee, a key, and a custom policy bound to the office network
    # (the test client connects from 127.0.0.1).
    u = root.create_user(ram_models.CreateUserRequest(user_name="alice", display_name="Alice"))
    assert u.body.user.user_name == "alice"
    assert len(u.body.user.user_id) == 16
    key = root.create_access_key(ram_models.CreateAccessKeyRequest(user_name="alice")).body.access_key
    assert key.access_key_id.startswith("LTAI") and len(key.access_key_secret) == 30
    root.create_policy(ram_models.CreatePolicyRequest(
        policy_name="office-read", policy_document=policy("127.0.0.0/8"), description="read from the office"))
    root.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
        policy_type="Custom", policy_name="office-read", user_name="alice"))

    alice = RamClient(cfg(server, key.access_key_id, key.access_key_secret))
    # Allowed: the granted action, from inside the range.
    got = alice.get_user(ram_models.GetUserRequest(user_name="alice"))
    assert got.body.user.display_name == "Alice"
    assert [x.user_name for x in alice.list_users(ram_models.ListUsersRequest()).body.users.user] == ["alice"]
    # Denied: anything not granted.
    assert code_of(lambda: alice.create_user(ram_models.CreateUserRequest(user_name="mallory"))) == "NoPermission"
    assert code_of(lambda: alice.create_access_key(ram_models.CreateAccessKeyRequest(user_name="alice"))) == "NoPermission"

    # The legacy SDK generation sees the same decision.
    legacy = AcsClient(key.access_key_id, key.access_key_secret, "cn-hangzhou")
    req = LegacyGetUser()
    req.set_UserName("alice")
    req.set_endpoint(server.host)
    req.set_protocol_type("http")
    assert json.loads(legacy.do_action_with_exception(req))["User"]["UserName"] == "alice"

    # Denied from outside the range: the office network moves; 127.0.0.1 is no longer in it.
    root.create_policy_version(ram_models.CreatePolicyVersionRequest(
        policy_name="office-read", policy_document=policy("192.0.2.0/24"), set_as_default=True))
    assert code_of(lambda: alice.get_user(ram_models.GetUserRequest(user_name="alice"))) == "NoPermission"
    root.create_policy_version(ram_models.CreatePolicyVersionRequest(
        policy_name="office-read", policy_document=policy("127.0.0.1/32"), set_as_default=True))
    assert alice.get_user(ram_models.GetUserRequest(user_name="alice")).body.user.user_name == "alice"

    # Detaching takes effect on the very next call.
    root.detach_policy_from_user(ram_models.DetachPolicyFromUserRequest(
        policy_type="Custom", policy_name="office-read", user_name="alice"))
    assert code_of(lambda: alice.get_user(ram_models.GetUserRequest(user_name="alice"))) == "NoPermission"

    # Disabling the key takes effect on the very next call, even for calls needing no policy.
    sts_alice = StsClient(cfg(server, key.access_key_id, key.access_key_secret))
    assert sts_alice.get_caller_identity().body.identity_type == "RAMUser"
    root.update_access_key(ram_models.UpdateAccessKeyRequest(
        user_name="alice", user_access_key_id=key.access_key_id, status="Inactive"))
    assert code_of(lambda: sts_alice.get_caller_identity()) == "InvalidAccessKeyId.Inactive"

    # The user goes: first the dependents, as RAM requires.
    assert code_of(lambda: root.delete_user(ram_models.DeleteUserRequest(user_name="alice"))) \
        == "DeleteConflict.User.AccessKey"
    root.delete_access_key(ram_models.DeleteAccessKeyRequest(user_name="alice", user_access_key_id=key.access_key_id))
    root.delete_user(ram_models.DeleteUserRequest(user_name="alice"))
    assert code_of(lambda: root.get_user(ram_models.GetUserRequest(user_name="alice"))) == "EntityNotExist.User"
    assert code_of(lambda: sts_alice.get_caller_identity()) == "InvalidAccessKeyId.NotFound"
    root.delete_policy(ram_models.DeletePolicyRequest(policy_name="office-read", cascading_delete=True))


def test_groups_roles_and_policies_shapes(server):
    """Response shapes the SDK models must parse: groups, roles (trust policy as a string,
    MaxSessionDuration as an int), system policies and versions."""
    acct = server.create_account("acme-shapes")
    root = RamClient(cfg(server, acct["AccessKeyId"], acct["AccessKeySecret"]))
    root.create_group(ram_models.CreateGroupRequest(group_name="ops", comments="operators"))
    root.create_user(ram_models.CreateUserRequest(user_name="bob"))
    root.add_user_to_group(ram_models.AddUserToGroupRequest(group_name="ops", user_name="bob"))
    groups = root.list_groups_for_user(ram_models.ListGroupsForUserRequest(user_name="bob")).body.groups.group
    assert [g.group_name for g in groups] == ["ops"]
    assert code_of(lambda: root.delete_group(ram_models.DeleteGroupRequest(group_name="ops"))) == "DeleteConflict.Group.User"

    trust = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                        "Principal": {"RAM": [f"acs:ram::{acct['AccountId']}:root"]}}]})
    role = root.create_role(ram_models.CreateRoleRequest(
        role_name="app", assume_role_policy_document=trust, max_session_duration=7200)).body.role
    assert role.arn == f"acs:ram::{acct['AccountId']}:role/app"
    assert role.max_session_duration == 7200
    assert json.loads(role.assume_role_policy_document) == json.loads(trust)
    root.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
        policy_type="System", policy_name="AliyunRAMReadOnlyAccess", role_name="app"))
    pols = root.list_policies_for_role(ram_models.ListPoliciesForRoleRequest(role_name="app")).body.policies.policy
    assert [(p.policy_name, p.policy_type) for p in pols] == [("AliyunRAMReadOnlyAccess", "System")]
    sysp = root.get_policy(ram_models.GetPolicyRequest(policy_name="AdministratorAccess", policy_type="System")).body
    assert json.loads(sysp.default_policy_version.policy_document)["Statement"][0]["Action"] == "*"
    assert code_of(lambda: root.create_policy(ram_models.CreatePolicyRequest(
        policy_name="broken", policy_document='{"Version":"1","Statement":[{"Effect":"Maybe"}]}'))) \
        == "MalformedPolicyDocument"
