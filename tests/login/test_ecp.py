"""`rambridge login --ecp` against a third-party ECP IdP (pysaml2, tests/login/ecp_idp.py):
credentials that work with the official STS SDK, a wrong password refused in one clear line,
the roles listed, and the cache: no IdP request while the credential is valid, a new sign-in
after it expires (the CLI's clock moved by libfaketime)."""

import glob
import json

from alibabacloud_sts20150401.client import Client as StsClient

from conftest import PASSWORDS, sdk_config


def ecp_args(federation, user, *extra):
    return ["--ecp", "--account", federation["alias"], "--idp-url", federation["idp"].ecp_url,
            "--username", user, *extra]


def one_line_error(result):
    assert result.returncode == 1, result
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_ecp_login_gives_credentials_that_work_with_the_sdk(server, federation, cli):
    before = federation["idp"].stats()["responses"]
    out = cli.run(*ecp_args(federation, "alice", "--output", "json"),
                  RAMBRIDGE_LOGIN_PASSWORD=PASSWORDS["alice"])
    assert out.returncode == 0, out.stderr
    creds = json.loads(out.stdout)
    assert creds["RoleArn"] == federation["roles"]["admin"].arn
    assert federation["idp"].stats()["responses"] == before + 1
    who = StsClient(sdk_config(server, creds["AccessKeyId"], creds["AccessKeySecret"],
                               creds["SecurityToken"])).get_caller_identity().body
    assert who.identity_type == "AssumedRoleUser"
    assert who.account_id == federation["account"]["AccountId"]
    assert who.role_id == federation["roles"]["admin"].role_id
    assert who.arn.endswith(":assumed-role/admin/alice")


def test_wrong_password_fails_with_a_clear_message(federation, cli):
    out = cli.run(*ecp_args(federation, "alice"), RAMBRIDGE_LOGIN_PASSWORD="not-her-password")
    line = one_line_error(out)
    assert 'the IdP refused the username or password for "alice" (HTTP 401)' in line, line
    assert "check --username and the password" in line, line
    out = cli.run(*ecp_args(federation, "mallory"), RAMBRIDGE_LOGIN_PASSWORD="x")
    assert '"mallory" (HTTP 401)' in one_line_error(out)


def test_roles_are_listed_and_chosen_by_flag(federation, cli):
    out = cli.run(*ecp_args(federation, "bob", "--list-roles"),
                  RAMBRIDGE_LOGIN_PASSWORD=PASSWORDS["bob"])
    assert out.returncode == 0, out.stderr
    rows = [line.split("\t") for line in out.stdout.splitlines()]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (federation["roles"]["admin"].arn, federation["provider"], federation["alias"]),
        (federation["roles"]["dev"].arn, federation["provider"], federation["alias"]),
    ]
    # Without a terminal and without --role: the roles in the error, nothing else.
    line = one_line_error(cli.run(*ecp_args(federation, "bob"),
                                  RAMBRIDGE_LOGIN_PASSWORD=PASSWORDS["bob"]))
    assert "several roles are offered" in line and f"{federation['alias']}/dev" in line, line
    out = cli.run(*ecp_args(federation, "bob", "--role", "dev", "--output", "credential-process"),
                  RAMBRIDGE_LOGIN_PASSWORD=PASSWORDS["bob"])
    assert out.returncode == 0, out.stderr
    assert set(json.loads(out.stdout)) == {"mode", "access_key_id", "access_key_secret", "sts_token"}
    assert out.stderr == "", "credential-process prints nothing but the JSON"


def test_second_login_uses_the_cache_and_expiry_signs_in_again(federation, cli):
    idp = federation["idp"]
    args = ecp_args(federation, "alice", "--output", "json")
    first = cli.run(*args, RAMBRIDGE_LOGIN_PASSWORD=PASSWORDS["alice"])
    assert first.returncode == 0, first.stderr
    requests = idp.stats()["ecp_requests"]

    # Within the credential's lifetime: the same credential, and the IdP is not contacted
    # (no request reaches it; no password is even needed).
    second = cli.run(*args)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == json.loads(first.stdout)
    assert idp.stats()["ecp_requests"] == requests

    # 58 minutes later for the CLI (libfaketime), the hour-long credential is due for renewal.
    libs = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
    assert libs, "libfaketime (Debian package faketime) is required; scripts/test installs it"
    third = cli.run(*args, RAMBRIDGE_LOGIN_PASSWORD=PASSWORDS["alice"], LD_PRELOAD=libs[0],
                    FAKETIME="+58m", FAKETIME_DONT_FAKE_MONOTONIC="1")
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["AccessKeyId"] != json.loads(first.stdout)["AccessKeyId"]
    assert idp.stats()["ecp_requests"] == requests + 1

    # --force signs in again at once.
    fourth = cli.run(*args, "--force", RAMBRIDGE_LOGIN_PASSWORD=PASSWORDS["alice"])
    assert fourth.returncode == 0, fourth.stderr
    assert idp.stats()["ecp_requests"] == requests + 2
