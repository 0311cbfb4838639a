"""OIDC federation with a real, certified OpenID Provider: the npm `oidc-provider` package (in
tests/sdk/oidc) serves HTTPS on 127.0.0.1 with a self-signed certificate made here. Its
fingerprint is registered through the official IMS SDK; ID tokens it issues (authorization code
flow with PKCE, driven over HTTP through its login and consent pages) are exchanged for role
credentials through the official STS SDK and through the alibabacloud-credentials OIDC provider
reading a token file (as in Kubernetes RRSA); the credentials then work for GetCallerIdentity.

Needs node with `npm ci --prefix tests/sdk/oidc` done; a missing one FAILS the tests (with the
install command), it never skips them."""

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from http.cookiejar import CookieJar
import ipaddress

import pytest
from alibabacloud_credentials.client import Client as CredClient
from alibabacloud_credentials.models import Config as CredConfig
from alibabacloud_ims20190815 import models as ims_models
from alibabacloud_ims20190815.client import Client as ImsClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import models as open_api_models
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import Server

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OP_DIR = os.path.join(ROOT, "tests", "sdk", "oidc")
OP_SCRIPT = os.path.join(OP_DIR, "op.mjs")
REDIRECT = "https://app.example.test/callback"
CLIENTS = {"rrsa-app": "RS256", "es-app": "ES256", "stranger-app": "RS256"}


def cfg(server, ak=None, secret=None, token=None):
    return open_api_models.Config(access_key_id=ak, access_key_secret=secret, security_token=token,
                                  endpoint=server.host, protocol="http")


def code_of(call):
    with pytest.raises(Exception) as err:
        call()
    return getattr(err.value, "code", None) or str(err.value)


def b64url_json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def self_signed_cert(directory):
    """A P-256 key and a self-signed certificate for 127.0.0.1 and localhost; returns the PEM
    paths and the certificate's SHA-1 fingerprint (hex), as Alibaba shows it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rambridge TEST-ONLY OP")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(directory, "op.pem"), os.path.join(directory, "op-key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path, cert.fingerprint(hashes.SHA1()).hex()


class OpenIdProvider:
    """`node op.mjs`: oidc-provider on https://127.0.0.1:<random port>."""

    def __init__(self, directory, clients=None, **options):
        """`clients`: oidc-provider client metadata (default: the CLIENTS of this file);
        `options`: more op.mjs input (scopeClaims, accountClaims, claimsInIdToken)."""
        if shutil.which("node") is None:
            pytest.fail("node is not installed: apt-get install -y nodejs npm && npm ci --prefix tests/sdk/oidc")
        if not os.path.isdir(os.path.join(OP_DIR, "node_modules", "oidc-provider")):
            pytest.fail("oidc-provider is not installed: npm ci --prefix tests/sdk/oidc")
        self.cert, key, self.fingerprint = self_signed_cert(directory)
        if clients is None:
            clients = [{"client_id": cid, "client_secret": f"secret-of-{cid}", "redirect_uris": [REDIRECT],
                        "grant_types": ["authorization_code"], "response_types": ["code"],
                        "id_token_signed_response_alg": alg} for cid, alg in CLIENTS.items()]
        self.log = open(os.path.join(directory, "op.log"), "wb")
        self.proc = subprocess.Popen(["node", OP_SCRIPT], cwd=OP_DIR, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.proc.stdin.write(json.dumps({"cert": self.cert, "key": key, "clients": clients, **options}))
        self.proc.stdin.close()
        line = self.proc.stdout.readline()
        assert line, f"op.mjs exited; see {self.log.name}"
        self.issuer = json.loads(line)["issuer"]
        self.tls = ssl.create_default_context(cafile=self.cert)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()

    def id_token(self, client_id, login):
        """Runs the authorization code flow with PKCE for `client_id` as `login` through the
        OP's login and consent pages; returns the ID token from the token endpoint."""
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()),
                                             urllib.request.HTTPSHandler(context=self.tls), NoRedirect())

        def send(url, data=None):
            body = urllib.parse.urlencode(data).encode() if data is not None else None
            try:
                resp = opener.open(urllib.request.Request(url, data=body), timeout=10)
                return resp.status, dict(resp.headers), resp.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, dict(e.headers), e.read().decode()

        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        url = f"{self.issuer}/auth?" + urllib.parse.urlencode({
            "client_id": client_id, "response_type": "code", "scope": "openid email",
            "redirect_uri": REDIRECT, "state": state, "nonce": nonce,
            "code_challenge": challenge, "code_challenge_method": "S256"})
        code = None
        for _ in range(12):
            status, headers, body = send(url)
            if status in (302, 303):
                url = urllib.parse.urljoin(url, headers["Location"])
                if url.startswith(REDIRECT):
                    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
                    assert query["state"] == [state], query
                    code = query["code"][0]
                    break
                continue
            assert status == 200, f"{status} {body[:500]}"
            action = re.search(r'<form[^>]*action="([^"]+)"', body).group(1)
            prompt = re.search(r'name="prompt" value="(\w+)"', body).group(1)
            form = {"prompt": prompt}
            if prompt == "login":
                form.update(login=login, password="any password")
            status, headers, body = send(urllib.parse.urljoin(url, action), form)
            assert status in (302, 303), f"{prompt}: {status} {body[:500]}"
            url = urllib.parse.urljoin(url, headers["Location"])
        assert code, "the OP never redirected back with a code"
        basic = base64.b64encode(f"{client_id}:secret-of-{client_id}".encode()).decode()
        req = urllib.request.Request(f"{self.issuer}/token", data=urllib.parse.urlencode({
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": verifier}).encode(), headers={"Authorization": f"Basic {basic}"})
        with urllib.request.urlopen(req, context=self.tls, timeout=10) as resp:
            tokens = json.loads(resp.read())
        id_token = tokens["id_token"]
        claims = b64url_json(id_token.split(".")[1])
        assert claims["iss"] == self.issuer and claims["aud"] == client_id and claims["nonce"] == nonce
        assert claims["sub"] == login
        return id_token


@pytest.fixture(scope="module")
def op():
    with tempfile.TemporaryDirectory(prefix="rambridge-op-") as d:
        p = OpenIdProvider(d)
        yield p
        p.stop()


@pytest.fixture(scope="module")
def rb():
    """A server allowed to reach the OP on 127.0.0.1 (danger_ setting, documented)."""
    with tempfile.TemporaryDirectory(prefix="rambridge-oidc-") as d:
        s = Server(d, extra=["--danger-oidc-allow-private-addresses", "true"])
        yield s
        s.stop()


@pytest.fixture(scope="module")
def acct(rb, op):
    """An account with the OP registered through the IMS SDK and a role trusting it."""
    a = rb.create_account("oidc-sdk")
    ims = ImsClient(cfg(rb, a["AccessKeyId"], a["AccessKeySecret"]))
    created = ims.create_oidcprovider(ims_models.CreateOIDCProviderRequest(
        oidcprovider_name="test-op", issuer_url=op.issuer, fingerprints=op.fingerprint,
        client_ids="rrsa-app,es-app", issuance_limit_time=1, description="oidc-provider on loopback")).body
    p = created.oidcprovider
    assert p.arn == f"acs:ram::{a['AccountId']}:oidc-provider/test-op"
    assert p.fingerprints == op.fingerprint and p.client_ids == "rrsa-app,es-app"
    trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Federated": [p.arn]},
             "Condition": {"StringEquals": {"oidc:iss": op.issuer, "oidc:aud": ["rrsa-app", "es-app"]},
                           "StringLike": {"oidc:sub": "*"}}}]}
    ram = RamClient(cfg(rb, a["AccessKeyId"], a["AccessKeySecret"]))
    ram.create_role(ram_models.CreateRoleRequest(role_name="op-reader",
                                                 assume_role_policy_document=json.dumps(trust)))
    a["provider_arn"] = p.arn
    a["role_arn"] = f"acs:ram::{a['AccountId']}:role/op-reader"
    a["ims"] = ims
    return a


def assume(rb, acct, token, session="alice-session"):
    """AssumeRoleWithOIDC through the official STS SDK, anonymously."""
    return StsClient(cfg(rb)).assume_role_with_oidc(sts_models.AssumeRoleWithOIDCRequest(
        oidcprovider_arn=acct["provider_arn"], role_arn=acct["role_arn"], oidctoken=token,
        role_session_name=session, duration_seconds=900)).body


def caller(rb, c):
    return StsClient(cfg(rb, c.access_key_id, c.access_key_secret, c.security_token)).get_caller_identity().body


def test_id_token_exchanged_through_the_sts_sdk(rb, op, acct):
    token = op.id_token("rrsa-app", "alice")
    assert b64url_json(token.split(".")[0])["alg"] == "RS256"
    body = assume(rb, acct, token)
    info = body.oidctoken_info
    assert info.issuer == op.issuer and info.subject == "alice" and info.client_ids == "rrsa-app"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info.issuance_time)
    assert info.verification_info.startswith("Success: RS256 signature verified with key op-rs256")
    assert body.credentials.access_key_id.startswith("STS.")
    assert body.assumed_role_user.arn == f"acs:ram::{acct['AccountId']}:role/op-reader/alice-session"
    who = caller(rb, body.credentials)
    assert who.identity_type == "AssumedRoleUser"
    assert who.arn == f"acs:ram::{acct['AccountId']}:assumed-role/op-reader/alice-session"


def test_es256_id_token(rb, op, acct):
    token = op.id_token("es-app", "bob")
    assert b64url_json(token.split(".")[0])["alg"] == "ES256"
    body = assume(rb, acct, token, session="bob-session")
    assert body.oidctoken_info.verification_info.startswith("Success: ES256 signature verified with key op-es256")
    assert caller(rb, body.credentials).arn.endswith(":assumed-role/op-reader/bob-session")


def test_credentials_library_reads_the_token_file(rb, op, acct, tmp_path):
    """alibabacloud-credentials' OIDC role provider, as a Kubernetes pod with RRSA uses it."""
    token_file = tmp_path / "token"
    token_file.write_text(op.id_token("rrsa-app", "system-serviceaccount-prod-app"))
    cred = CredClient(CredConfig(
        type="oidc_role_arn", role_arn=acct["role_arn"], oidc_provider_arn=acct["provider_arn"],
        oidc_token_file_path=str(token_file), role_session_name="rrsa-pod",
        sts_endpoint=f"http://{rb.host}"))
    c = cred.get_credential()
    assert c.access_key_id.startswith("STS.")
    who = StsClient(cfg(rb, c.access_key_id, c.access_key_secret, c.security_token)).get_caller_identity().body
    assert who.arn == f"acs:ram::{acct['AccountId']}:assumed-role/op-reader/rrsa-pod"


def test_refused_tokens_through_the_sdk(rb, op, acct):
    # Issued by the OP for a client the provider does not list.
    stranger = op.id_token("stranger-app", "carol")
    assert code_of(lambda: assume(rb, acct, stranger)) == "AuthenticationFail.OIDCToken.AudienceNotMatch"
    # A genuine token with its subject rewritten.
    header, payload, sig = op.id_token("rrsa-app", "carol").split(".")
    claims = b64url_json(payload)
    claims["sub"] = "admin"
    forged = ".".join([header, base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode(), sig])
    assert code_of(lambda: assume(rb, acct, forged)) == "AuthenticationFail.OIDCToken.InvalidSignature"
    # The same token stripped of its signature and marked alg none.
    none = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode() + "." + payload + "."
    assert code_of(lambda: assume(rb, acct, none)) == "AuthenticationFail.OIDCToken.Invalid.Algorithm"


def test_wrong_fingerprint_through_the_sdk(rb, op):
    """Another account registers the OP with a fingerprint that is not its certificate's."""
    b = rb.create_account("oidc-sdk-pin")
    ims = ImsClient(cfg(rb, b["AccessKeyId"], b["AccessKeySecret"]))
    arn = ims.create_oidcprovider(ims_models.CreateOIDCProviderRequest(
        oidcprovider_name="pinned-wrong", issuer_url=op.issuer, fingerprints="0" * 40,
        client_ids="rrsa-app")).body.oidcprovider.arn
    trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Federated": [arn]}}]}
    RamClient(cfg(rb, b["AccessKeyId"], b["AccessKeySecret"])).create_role(ram_models.CreateRoleRequest(
        role_name="r", assume_role_policy_document=json.dumps(trust)))
    target = {"provider_arn": arn, "role_arn": f"acs:ram::{b['AccountId']}:role/r"}
    token = op.id_token("rrsa-app", "dave")
    assert code_of(lambda: assume(rb, target, token)) == "AuthenticationFail.OIDCToken.HttpsUrlInvalid"
    ims.add_fingerprint_to_oidcprovider(ims_models.AddFingerprintToOIDCProviderRequest(
        oidcprovider_name="pinned-wrong", fingerprint=op.fingerprint.upper()))
    assert assume(rb, target, token).credentials.access_key_id.startswith("STS.")


def test_provider_actions_through_the_ims_sdk(rb, op, acct):
    ims = acct["ims"]
    name = "lifecycle"
    ims.create_oidcprovider(ims_models.CreateOIDCProviderRequest(
        oidcprovider_name=name, issuer_url="https://issuer.example.test/realms/x",
        fingerprints=op.fingerprint, client_ids="a"))
    got = ims.get_oidcprovider(ims_models.GetOIDCProviderRequest(oidcprovider_name=name)).body.oidcprovider
    assert got.issuance_limit_time == 12 and got.client_ids == "a" and got.gmt_create == got.gmt_modified
    assert int(got.gmt_create) > 1_600_000_000_000
    u = ims.update_oidcprovider(ims_models.UpdateOIDCProviderRequest(
        oidcprovider_name=name, client_ids="b,c", issuance_limit_time=24, new_description="d")).body.oidcprovider
    assert (u.client_ids, u.issuance_limit_time, u.description) == ("b,c", 24, "d")
    r = ims.add_client_id_to_oidcprovider(ims_models.AddClientIdToOIDCProviderRequest(
        oidcprovider_name=name, client_id="e")).body.oidcprovider
    assert r.client_ids == "b,c,e"
    r = ims.remove_client_id_from_oidcprovider(ims_models.RemoveClientIdFromOIDCProviderRequest(
        oidcprovider_name=name, client_id="b")).body.oidcprovider
    assert r.client_ids == "c,e"
    r = ims.add_fingerprint_to_oidcprovider(ims_models.AddFingerprintToOIDCProviderRequest(
        oidcprovider_name=name, fingerprint="ab" * 20)).body.oidcprovider
    assert r.fingerprints == f"{op.fingerprint},{'ab' * 20}"
    r = ims.remove_fingerprint_from_oidcprovider(ims_models.RemoveFingerprintFromOIDCProviderRequest(
        oidcprovider_name=name, fingerprint=op.fingerprint)).body.oidcprovider
    assert r.fingerprints == "ab" * 20
    listed = ims.list_oidcproviders(ims_models.ListOIDCProvidersRequest(max_items=1)).body
    assert listed.is_truncated is True and len(listed.oidcproviders.oidcprovider) == 1
    rest = ims.list_oidcproviders(ims_models.ListOIDCProvidersRequest(marker=listed.marker)).body
    names = [listed.oidcproviders.oidcprovider[0].oidcprovider_name] + \
        [p.oidcprovider_name for p in rest.oidcproviders.oidcprovider]
    assert names == ["lifecycle", "test-op"]
    assert code_of(lambda: ims.create_oidcprovider(ims_models.CreateOIDCProviderRequest(
        oidcprovider_name="dup-issuer", issuer_url=op.issuer, fingerprints=op.fingerprint,
        client_ids="a"))) == "EntityAlreadyExists.OIDCProvider.IssuerUrl"
    ims.delete_oidcprovider(ims_models.DeleteOIDCProviderRequest(oidcprovider_name=name))
    assert code_of(lambda: ims.get_oidcprovider(ims_models.GetOIDCProviderRequest(
        oidcprovider_name=name))) == "EntityNotExist.OIDCProvider"
