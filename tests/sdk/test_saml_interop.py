"""SAML role federation with a third-party IdP: samlify (npm, in tests/sdk/idp) signs the
responses, the official IMS/RAM/STS SDKs carry them to the real server, and xmlsec1 checks the
same signatures independently.

Needs node with `npm ci --prefix tests/sdk/idp` done, and Debian's xmlsec1; a missing one FAILS
the tests (with the install command), it never skips them."""

import base64
import json
import os
import shutil
import subprocess
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from alibabacloud_ims20190815 import models as ims_models
from alibabacloud_ims20190815.client import Client as ImsClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import models as open_api_models
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IDP_DIR = os.path.join(ROOT, "tests", "sdk", "idp")
IDP_SCRIPT = os.path.join(IDP_DIR, "idp.mjs")
ADFS_METADATA = os.path.join(ROOT, "metadata", "adfs-federation-metadata.xml")

IDP_ENTITY_ID = "https://idp.interop.test/samlify"
ROLE_ATTR = "https://www.aliyun.com/SAML-Role/Attributes/Role"
SESSION_ATTR = "https://www.aliyun.com/SAML-Role/Attributes/RoleSessionName"
ASSERTION_ID_ATTR = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"


def require_node_idp():
    if shutil.which("node") is None:
        pytest.fail("node is not installed: apt-get install -y nodejs npm && npm ci --prefix tests/sdk/idp")
    if not os.path.isdir(os.path.join(IDP_DIR, "node_modules", "samlify")):
        pytest.fail("the samlify IdP is not installed: npm ci --prefix tests/sdk/idp")


def require_xmlsec1():
    if shutil.which("xmlsec1") is None:
        pytest.fail("xmlsec1 is not installed: apt-get install -y xmlsec1")


def make_keypair(common_name):
    """A fresh RSA-2048 key and a self-signed certificate (PEM strings)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=2))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def run_idp(request):
    """Run the samlify CLI on `request` (see idp.mjs) and return its JSON answer."""
    require_node_idp()
    out = subprocess.run(["node", IDP_SCRIPT], input=json.dumps(request), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, f"idp.mjs failed: {out.stderr}"
    return json.loads(out.stdout)


def cfg(server, ak=None, secret=None, token=None):
    return open_api_models.Config(access_key_id=ak, access_key_secret=secret, security_token=token,
                                  endpoint=server.host, protocol="http")


def code_of(call):
    with pytest.raises(Exception) as err:
        call()
    return getattr(err.value, "code", None), str(err.value)


@pytest.fixture(scope="module")
def idp_keys(tmp_path_factory):
    key, cert = make_keypair("samlify interop IdP")
    cert_file = tmp_path_factory.mktemp("idp") / "idp-cert.pem"
    cert_file.write_text(cert)
    return {"key": key, "cert": cert, "cert_file": str(cert_file)}


@pytest.fixture(scope="module")
def federation(server, idp_keys):
    """An account trusting the samlify IdP: the provider registered through the IMS SDK and a
    role (RAM SDK) whose trust policy names it and rambridge's ACS."""
    acct = server.create_account("saml-interop")
    metadata = run_idp({"privateKey": idp_keys["key"], "cert": idp_keys["cert"],
                        "entityID": IDP_ENTITY_ID})["metadata"]
    ims = ImsClient(cfg(server, acct["AccessKeyId"], acct["AccessKeySecret"]))
    created = ims.create_samlprovider(ims_models.CreateSAMLProviderRequest(
        samlprovider_name="samlify-idp", description="samlify interop IdP",
        encoded_samlmetadata_document=base64.b64encode(metadata.encode()).decode()))
    provider_arn = created.body.samlprovider.arn
    assert provider_arn == f"acs:ram::{acct['AccountId']}:saml-provider/samlify-idp"

    acs = f"http://{server.host}/saml-role/sso"
    trust = {"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"Federated": [provider_arn]},
        "Condition": {"StringEquals": {"saml:recipient": acs}}}]}
    ram = RamClient(cfg(server, acct["AccessKeyId"], acct["AccessKeySecret"]))
    role = ram.create_role(ram_models.CreateRoleRequest(
        role_name="samlify-admins", assume_role_policy_document=json.dumps(trust))).body.role
    with urllib.request.urlopen(f"http://{server.host}/saml-role/sp-metadata.xml", timeout=30) as r:
        sp_metadata = r.read().decode()
    return {"account": acct, "provider_arn": provider_arn, "role": role, "acs": acs,
            "sp_metadata": sp_metadata, "keys": idp_keys}


def login_response(fed, session="alice.smith@example.com", sp=None, **extra):
    """A signed SAMLResponse (base64) from samlify for the federation's role."""
    request = {
        "privateKey": fed["keys"]["key"], "cert": fed["keys"]["cert"], "entityID": IDP_ENTITY_ID,
        "sp": sp or {"metadata": fed["sp_metadata"]},
        "nameID": "alice.smith@example.com",
        "attributes": [
            {"name": ROLE_ATTR, "value": f"{fed['role'].arn},{fed['provider_arn']}"},
            {"name": SESSION_ATTR, "value": session},
        ],
        "validitySeconds": 300,
        **extra,
    }
    return run_idp(request)["response"]


def assume(server, fed, response):
    """AssumeRoleWithSAML through the official STS SDK, anonymously (a Tea client without any
    credential: the SDK marks this action auth_type=Anonymous and signs nothing)."""
    sts = StsClient(cfg(server))
    return sts.assume_role_with_saml(sts_models.AssumeRoleWithSAMLRequest(
        samlprovider_arn=fed["provider_arn"], role_arn=fed["role"].arn, samlassertion=response))


@pytest.fixture(scope="module")
def accepted(server, federation):
    """One samlify response that rambridge accepted, and what AssumeRoleWithSAML returned."""
    response = login_response(federation)
    return response, assume(server, federation, response).body


def test_samlify_response_assumes_role(server, federation, accepted):
    _, body = accepted
    acct = federation["account"]
    # As Alibaba Cloud answers: role/<name>/<session> here, assumed-role/... from GetCallerIdentity.
    assert body.assumed_role_user.arn == \
        f"acs:ram::{acct['AccountId']}:role/samlify-admins/alice.smith@example.com"
    assert body.assumed_role_user.assumed_role_id == \
        f"{federation['role'].role_id}:alice.smith@example.com"
    assert body.samlassertion_info.issuer == IDP_ENTITY_ID
    assert body.samlassertion_info.subject == "alice.smith@example.com"
    assert body.samlassertion_info.recipient == federation["acs"]
    creds = body.credentials
    assert creds.access_key_id.startswith("STS.") and creds.security_token

    who = StsClient(cfg(server, creds.access_key_id, creds.access_key_secret,
                        creds.security_token)).get_caller_identity().body
    assert who.identity_type == "AssumedRoleUser"
    assert who.account_id == acct["AccountId"]
    assert who.role_id == federation["role"].role_id
    assert who.arn == \
        f"acs:ram::{acct['AccountId']}:assumed-role/samlify-admins/alice.smith@example.com"


def test_same_response_again_is_a_replay(server, federation, accepted):
    response, _ = accepted
    code, msg = code_of(lambda: assume(server, federation, response))
    assert code == "AuthenticationFail.SAMLAssertion.Replayed", msg


def test_wrong_audience_refused(server, federation):
    # samlify addresses an SP whose entity ID is not rambridge's (same ACS).
    response = login_response(federation, session="wrong-audience",
                              sp={"entityID": f"http://{server.host}/someone-else",
                                  "acs": federation["acs"]})
    xml = base64.b64decode(response).decode()
    assert f"<saml:Audience>http://{server.host}/someone-else</saml:Audience>" in xml
    code, msg = code_of(lambda: assume(server, federation, response))
    assert code == "AuthenticationFail.SAMLAssertion.Invalid.Audience", msg


def test_sha1_signed_response_refused(server, federation):
    response = login_response(federation, session="sha1-signed", signatureAlgorithm="rsa-sha1")
    assert "xmldsig#rsa-sha1" in base64.b64decode(response).decode()
    code, msg = code_of(lambda: assume(server, federation, response))
    assert code == "AuthenticationFail.SAMLAssertion.Invalid.Signature", msg


def test_large_adfs_metadata_through_sdk(server):
    """71 KB of metadata, base64 in the query string of the SDK's POST: a ~100 KB request line."""
    acct = server.create_account("saml-large-metadata")
    with open(ADFS_METADATA, "rb") as f:
        document = f.read()
    encoded = base64.b64encode(document).decode()
    assert len(encoded) > 90_000
    ims = ImsClient(cfg(server, acct["AccessKeyId"], acct["AccessKeySecret"]))
    ims.create_samlprovider(ims_models.CreateSAMLProviderRequest(
        samlprovider_name="adfs-large", encoded_samlmetadata_document=encoded))
    got = ims.get_samlprovider(ims_models.GetSAMLProviderRequest(samlprovider_name="adfs-large"))
    provider = got.body.samlprovider
    assert provider.arn == f"acs:ram::{acct['AccountId']}:saml-provider/adfs-large"
    assert base64.b64decode(provider.encoded_samlmetadata_document) == document


def xmlsec_verify(xml_file, cert_file):
    require_xmlsec1()
    return subprocess.run(["xmlsec1", "--verify", "--pubkey-cert-pem", cert_file,
                           "--id-attr:ID", ASSERTION_ID_ATTR, xml_file],
                          capture_output=True, text=True, timeout=60)


def test_xmlsec1_agrees_with_rambridge(federation, accepted, tmp_path):
    """The response rambridge accepted also verifies under xmlsec1 with the IdP certificate, and
    not under another certificate (so xmlsec1 really checked that key)."""
    response, body = accepted
    assert body.credentials.access_key_id  # rambridge's verdict: accepted
    xml_file = tmp_path / "response.xml"
    xml_file.write_bytes(base64.b64decode(response))
    ok = xmlsec_verify(str(xml_file), federation["keys"]["cert_file"])
    assert ok.returncode == 0 and "OK" in ok.stdout + ok.stderr, ok.stderr

    _, other_cert = make_keypair("someone else")
    other = tmp_path / "other-cert.pem"
    other.write_text(other_cert)
    bad = xmlsec_verify(str(xml_file), str(other))
    assert bad.returncode != 0, bad.stderr
