"""Browser sign-in through OIDC end to end, in a real headless Chromium (Debian's chromium +
chromium-driver, driven by Selenium) against a real, certified OpenID Provider (the npm
`oidc-provider` package behind tests/sdk/oidc/op.mjs, HTTPS with a self-signed certificate on
127.0.0.1), configured through the official IMS and RAM SDKs (the provider and its pinned
fingerprint, roles) and the SDK's generic call of rambridge's SetOIDCSsoSettings.

Flows: user sign-in (rambridge /login/<alias> -> the OP's login and consent pages -> console
shows the RAM user); a user of no account (error page with its audit reference); role sign-in
with two roles (OP -> chooser -> console shows the chosen role, whose credentials work for
GetCallerIdentity). Screenshots go to target/screenshots/<test>.png. A missing browser, driver
or OP FAILS the tests, never skips them."""

import base64
import hashlib
import json
import os
import subprocess
import tempfile

import pytest
from alibabacloud_ims20190815 import models as ims_models
from alibabacloud_ims20190815.client import Client as ImsClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.client import Client as OpenApiClient
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import BIN, Server
from test_browser import CHROMEDRIVER, CHROMIUM, SHOTS, require_browser, shot, text_of, wait_for
from test_oidc import OpenIdProvider, cfg
from test_sts import call_rpc

CLIENT = "rambridge-web"
SECRET = "secret-of-rambridge-web"


def spki_sha256(cert_path):
    """base64 SHA-256 of the certificate's SubjectPublicKeyInfo (Chromium's
    --ignore-certificate-errors-spki-list format): the browser trusts exactly the OP's key."""
    with open(cert_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@pytest.fixture(scope="module")
def env():
    """rambridge (allowed to reach the OP on loopback), two accounts (`oidcweb`: user sign-in,
    `oidcroles`: role sign-in with roles `viewer` and `operator`), and the OP with a client whose
    redirect URI is rambridge's callback, and accounts whose claims name a RAM user and roles."""
    with tempfile.TemporaryDirectory(prefix="rambridge-oidcweb-") as d:
        server = Server(d, extra=["--danger-oidc-allow-private-addresses", "true"],
                        log="oidcweb-server.log")
        op = None
        try:
            base = f"http://{server.host}"
            users = server.create_account("oidcweb")
            roles = server.create_account("oidcroles")
            role_arns = [f"acs:ram::{roles['AccountId']}:role/{n}" for n in ("viewer", "operator")]
            op = OpenIdProvider(
                d,
                clients=[{"client_id": CLIENT, "client_secret": SECRET,
                          "redirect_uris": [f"{base}/oidc/callback"],
                          "grant_types": ["authorization_code"], "response_types": ["code"],
                          "id_token_signed_response_alg": "RS256"}],
                scopeClaims={"openid": ["sub"], "email": ["email", "email_verified"],
                             "profile": ["preferred_username"], "roles": ["roles"]},
                accountClaims={"alice": {"preferred_username": "alice@oidcweb.onaliyun.com"},
                               "mallory": {"preferred_username": "mallory@oidcweb.onaliyun.com"},
                               "rolf": {"preferred_username": "rolf", "roles": role_arns}},
                claimsInIdToken=True)
            out = {"server": server, "op": op, "base": base, "dir": d}
            for alias, acct, mode, scopes in (("oidcweb", users, "user", "profile"),
                                              ("oidcroles", roles, "role", "profile roles")):
                ims = ImsClient(cfg(server, acct["AccessKeyId"], acct["AccessKeySecret"]))
                ram = RamClient(cfg(server, acct["AccessKeyId"], acct["AccessKeySecret"]))
                provider = ims.create_oidcprovider(ims_models.CreateOIDCProviderRequest(
                    oidcprovider_name="corp-op", issuer_url=op.issuer, fingerprints=op.fingerprint,
                    client_ids=CLIENT, issuance_limit_time=1)).body.oidcprovider.arn
                generic = OpenApiClient(cfg(server, acct["AccessKeyId"], acct["AccessKeySecret"]))
                settings = call_rpc(generic, "2019-08-15", "SetOIDCSsoSettings", {
                    "Enabled": "true", "OIDCProviderName": "corp-op", "ClientId": CLIENT,
                    "ClientSecret": SECRET, "Scopes": scopes, "Mode": mode,
                    "UserClaim": "preferred_username", "RoleClaim": "roles"})["OIDCSsoSettings"]
                assert settings["ClientSecretSet"] is True and SECRET not in json.dumps(settings)
                out[alias] = {**acct, "ims": ims, "ram": ram, "provider": provider}
            # oidcweb: alice may sign in; mallory does not exist.
            ram = out["oidcweb"]["ram"]
            ram.create_user(ram_models.CreateUserRequest(user_name="alice"))
            ram.create_login_profile(ram_models.CreateLoginProfileRequest(
                user_name="alice", password="Str0ng-Passw0rd!"))
            # oidcroles: two roles trusting the OP for rolf only.
            trust = {"Version": "1", "Statement": [{
                "Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"Federated": [out["oidcroles"]["provider"]]},
                "Condition": {"StringEquals": {"oidc:iss": op.issuer, "oidc:aud": CLIENT,
                                               "oidc:sub": "rolf"}}}]}
            for name in ("viewer", "operator"):
                out["oidcroles"]["ram"].create_role(ram_models.CreateRoleRequest(
                    role_name=name, assume_role_policy_document=json.dumps(trust)))
            out["role_arns"] = role_arns
            yield out
        finally:
            if op is not None:
                op.stop()
            server.stop()


@pytest.fixture(scope="module")
def browser(env):
    """Chromium trusting the OP's self-signed certificate by its key (and nothing else)."""
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="rambridge-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1100,1000", "--no-first-run", "--password-store=basic",
                f"--user-data-dir={profile}",
                f"--ignore-certificate-errors-spki-list={spki_sha256(env['op'].cert)}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    os.makedirs(SHOTS, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture(autouse=True)
def signed_out(request):
    """Every test starts signed out, at rambridge and at the OP (Selenium deletes the cookies
    of the page's origin only)."""
    if "browser" in request.fixturenames:
        driver = request.getfixturevalue("browser")
        env = request.getfixturevalue("env")
        for url in (f"{env['base']}/login", f"{env['op'].issuer}/.well-known/openid-configuration"):
            driver.get(url)
            driver.delete_all_cookies()
    yield


def audit_events(env, alias):
    out = subprocess.run([BIN, "audit", "--account", alias, "--json", "--max", "200"],
                         cwd=env["dir"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["SignInEvents"]


def oidc_sign_in(env, browser, alias, login):
    """rambridge's /login/<alias> -> 'sign in with your organization' -> the OP's login page
    (any password) -> its consent page -> back to rambridge."""
    from selenium.webdriver.common.by import By
    browser.get(f"{env['base']}/login/{alias}")
    wait_for(browser, "oidc-sign-in").click()
    field = None
    for _ in range(2):
        try:
            from selenium.webdriver.support.ui import WebDriverWait
            field = WebDriverWait(browser, 30).until(
                lambda d: d.find_elements(By.NAME, "login") or d.find_elements(By.NAME, "prompt"))
        except Exception:
            pytest.fail(f"the OP's page did not appear; at {browser.current_url}:\n"
                        f"{browser.page_source[:3000]}")
        assert browser.current_url.startswith(env["op"].issuer), browser.current_url
        if browser.find_elements(By.NAME, "login"):
            browser.find_element(By.NAME, "login").send_keys(login)
            browser.find_element(By.NAME, "password").send_keys("any password")
            browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            continue
        break
    assert field, "no OP page"
    # Consent.
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def test_oidc_user_sign_in(env, browser):
    oidc_sign_in(env, browser, "oidcweb", "alice")
    wait_for(browser, "identity")
    assert browser.current_url == f"{env['base']}/console"
    assert text_of(browser, "user-principal-name") == "alice@oidcweb.onaliyun.com"
    assert "oidcweb" in text_of(browser, "account")
    shot(browser, "test_oidc_user_sign_in")
    events = audit_events(env, "oidcweb")
    success = [e for e in events if e["EventName"] == "OidcSSO" and e["Reason"] == "Success"]
    assert success and success[0]["Subject"] == "alice@oidcweb.onaliyun.com", events[:3]
    assert success[0]["Provider"] == env["oidcweb"]["provider"]


def test_oidc_sign_in_of_an_unknown_user_shows_the_error_page(env, browser):
    oidc_sign_in(env, browser, "oidcweb", "mallory")
    wait_for(browser, "error-title")
    assert text_of(browser, "error-title") == "No such user"
    reference = text_of(browser, "reference")
    shot(browser, "test_oidc_sign_in_of_an_unknown_user_shows_the_error_page")
    events = {e["EventId"]: e for e in audit_events(env, "oidcweb")}
    assert events[reference]["Reason"] == "EntityNotExist.User"
    assert browser.get_cookie("rambridge_session") is None


def test_oidc_role_sign_in_with_two_roles(env, browser):
    from selenium.webdriver.common.by import By
    oidc_sign_in(env, browser, "oidcroles", "rolf")
    wait_for(browser, "continue")
    assert browser.current_url == f"{env['base']}/saml-role/choose"
    page = browser.page_source
    viewer, operator = env["role_arns"]
    assert viewer in page and operator in page
    shot(browser, "test_oidc_role_sign_in_with_two_roles_chooser")
    radios = browser.find_elements(By.CSS_SELECTOR, "input[type=radio][name=choice]")
    assert len(radios) == 2
    browser.find_element(By.ID, "choice-1").click()
    browser.find_element(By.ID, "continue").click()
    wait_for(browser, "identity")
    assert browser.current_url == f"{env['base']}/console"
    assert text_of(browser, "role-arn") == operator
    assert text_of(browser, "session-name") == "rolf"
    shot(browser, "test_oidc_role_sign_in_with_two_roles")
    ak, secret, token = (text_of(browser, i) for i in ("access-key-id", "access-key-secret",
                                                       "security-token"))
    who = StsClient(cfg(env["server"], ak, secret, token)).get_caller_identity().body
    assert who.arn == f"acs:ram::{env['oidcroles']['AccountId']}:assumed-role/operator/rolf", who.arn


def test_oidc_sign_in_refuses_an_issuer_whose_certificate_does_not_match(env):
    """A provider registered with another fingerprint: the start page is an error page (no
    redirect to the OP), audited with the TLS code."""
    import urllib.error
    import urllib.request
    acct = env["server"].create_account("oidcpinned")
    ims = ImsClient(cfg(env["server"], acct["AccessKeyId"], acct["AccessKeySecret"]))
    ims.create_oidcprovider(ims_models.CreateOIDCProviderRequest(
        oidcprovider_name="corp-op", issuer_url=env["op"].issuer, fingerprints="00" * 20,
        client_ids=CLIENT, issuance_limit_time=1))
    generic = OpenApiClient(cfg(env["server"], acct["AccessKeyId"], acct["AccessKeySecret"]))
    call_rpc(generic, "2019-08-15", "SetOIDCSsoSettings", {
        "Enabled": "true", "OIDCProviderName": "corp-op", "ClientId": CLIENT})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect())
    with pytest.raises(urllib.error.HTTPError) as err:
        opener.open(f"{env['base']}/oidc/login/oidcpinned", timeout=30)
    assert err.value.code == 401
    page = err.value.read().decode()
    reference = page.split('id="reference">')[1].split("<")[0]
    events = {e["EventId"]: e for e in audit_events(env, "oidcpinned")}
    assert events[reference]["Reason"] == "AuthenticationFail.OIDCToken.HttpsUrlInvalid"
    assert events[reference]["EventName"] == "OidcSSOStart"
