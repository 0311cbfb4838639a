"""Fixtures for the `rambridge login` suite: the real server (the SDK suite's `Server`), an
account whose IdP is the pysaml2 ECP IdP (tests/login/ecp_idp.py) registered through the
official IMS SDK, roles created through the official RAM SDK, and a runner for the CLI with a
private HOME and cache directory.

Needs the venv of tests/sdk/requirements.txt (pysaml2 included) and Debian's xmlsec1; a missing
one FAILS the tests with the install command, it never skips them."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
FIXTURES = os.path.abspath(os.path.join(ROOT, "..", "shared", "fixtures", "saml"))

_spec = importlib.util.spec_from_file_location(
    "sdk_conftest", os.path.join(ROOT, "tests", "sdk", "conftest.py"))
sdk_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sdk_conftest)
Server = sdk_conftest.Server
BIN = sdk_conftest.BIN

PASSWORDS = {"alice": "alice-secret", "bob": "bob-secret"}


def require(tool, install):
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed: {install}")


def sdk_config(server, ak=None, secret=None, token=None):
    from alibabacloud_tea_openapi import models as open_api_models
    return open_api_models.Config(access_key_id=ak, access_key_secret=secret,
                                  security_token=token, endpoint=server.host, protocol="http")


class Idp:
    """tests/login/ecp_idp.py as a process; `stats()` counts its ECP requests."""

    def __init__(self, workdir, config):
        require("xmlsec1", "apt-get install -y xmlsec1")
        try:
            import saml2  # noqa: F401
        except ImportError:
            pytest.fail("pysaml2 is missing from the venv: pip install -r tests/sdk/requirements.txt")
        path = os.path.join(workdir, "idp.json")
        with open(path, "w") as f:
            json.dump(config, f)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "ecp_idp.py"), path],
            stdout=subprocess.PIPE, stderr=open(os.path.join(workdir, "idp.log"), "wb"), text=True)
        line = self.proc.stdout.readline().strip()
        assert line.startswith("listening on "), \
            f"ecp_idp.py did not start ({line!r}); see {workdir}/idp.log"
        self.base = line.removeprefix("listening on ")
        self.ecp_url = f"{self.base}/ecp"

    def metadata(self):
        with urllib.request.urlopen(f"{self.base}/metadata", timeout=30) as r:
            return r.read()

    def stats(self):
        with urllib.request.urlopen(f"{self.base}/stats", timeout=30) as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="session")
def server():
    with tempfile.TemporaryDirectory(prefix="rambridge-login-") as d:
        s = Server(d)
        yield s
        s.stop()


@pytest.fixture(scope="module")
def federation(server, tmp_path_factory):
    """Account `ecp-<module>` trusting the ECP IdP: provider `pysaml2`, roles `admin` and `dev`;
    users alice (admin) and bob (admin and dev)."""
    import base64

    from alibabacloud_ims20190815 import models as ims_models
    from alibabacloud_ims20190815.client import Client as ImsClient
    from alibabacloud_ram20150501 import models as ram_models
    from alibabacloud_ram20150501.client import Client as RamClient

    workdir = tmp_path_factory.mktemp("idp")
    alias = "ecp-" + os.urandom(3).hex()
    acct = server.create_account(alias)
    account_id = acct["AccountId"]
    provider = f"acs:ram::{account_id}:saml-provider/pysaml2"
    role = lambda name: f"acs:ram::{account_id}:role/{name}"  # noqa: E731
    idp = Idp(str(workdir), {
        "sp_entity_id": f"http://{server.host}/saml-role",
        "sp_acs": f"http://{server.host}/saml-role/sso",
        "key_file": os.path.join(FIXTURES, "idp-test-key.pem"),
        "cert_file": os.path.join(FIXTURES, "idp-test-cert.pem"),
        "users": {
            "alice": {"password": PASSWORDS["alice"], "session_name": "alice",
                      "roles": [f"{role('admin')},{provider}"]},
            "bob": {"password": PASSWORDS["bob"], "session_name": "bob",
                    "roles": [f"{role('admin')},{provider}", f"{role('dev')},{provider}"]},
        },
    })
    ims = ImsClient(sdk_config(server, acct["AccessKeyId"], acct["AccessKeySecret"]))
    created = ims.create_samlprovider(ims_models.CreateSAMLProviderRequest(
        samlprovider_name="pysaml2",
        encoded_samlmetadata_document=base64.b64encode(idp.metadata()).decode()))
    assert created.body.samlprovider.arn == provider
    trust = {"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"Federated": [provider]},
        "Condition": {"StringEquals": {"saml:recipient": f"http://{server.host}/saml-role/sso"}}}]}
    ram = RamClient(sdk_config(server, acct["AccessKeyId"], acct["AccessKeySecret"]))
    roles = {}
    for name in ["admin", "dev"]:
        roles[name] = ram.create_role(ram_models.CreateRoleRequest(
            role_name=name, assume_role_policy_document=json.dumps(trust))).body.role
    yield {"alias": alias, "account": acct, "provider": provider, "roles": roles, "idp": idp}
    idp.stop()


class Cli:
    """Runs `rambridge login` against the server with a private HOME and cache."""

    def __init__(self, server, home):
        self.server = server
        self.home = home

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAMBRIDGE_")}
        env.update({"HOME": str(self.home), "XDG_CACHE_HOME": str(self.home / "cache")})
        env.update(extra)
        return env

    def args(self, *args):
        return [BIN, "login", "--endpoint", f"http://{self.server.host}", *args]

    def run(self, *args, **env):
        return subprocess.run(self.args(*args), capture_output=True, text=True,
                              env=self.env(**env), timeout=120)


@pytest.fixture
def cli(server, tmp_path):
    return Cli(server, tmp_path)
