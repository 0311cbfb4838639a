"""Browser SSO end to end, in a real headless Chromium (Debian's chromium + chromium-driver,
driven by Selenium) against a live third-party IdP (samlify behind tests/sdk/idp/server.mjs) on
127.0.0.1, with accounts, providers, roles and SSO settings configured through the official
IMS and RAM SDKs.

Flows covered: IdP-initiated role SSO with one role and with three roles (chooser); SP-initiated
user SSO (alias page -> IdP login -> console); user SSO for a disabled and for an unknown user
(error page); a tampered response (error page, no session); `rambridge login` in browser
mode (CLI loopback listener + SP-initiated sign-in + chooser -> credentials for the CLI). A screenshot of each final page is
saved as target/screenshots/<test>.png. A missing browser, driver or IdP FAILS the tests."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import urllib.request

import pytest
from alibabacloud_ims20190815 import models as ims_models
from alibabacloud_ims20190815.client import Client as ImsClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient

from conftest import BIN, Server
from test_saml_interop import cfg, make_keypair, require_node_idp

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IDP_SERVER = os.path.join(ROOT, "tests", "sdk", "idp", "server.mjs")
SHOTS = os.path.join(ROOT, "target", "screenshots")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

ROLE_ATTR = "https://www.aliyun.com/SAML-Role/Attributes/Role"
SESSION_ATTR = "https://www.aliyun.com/SAML-Role/Attributes/RoleSessionName"


def require_browser():
    for path, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{path} is missing: apt-get install -y {pkg} (scripts/test does this)")


@pytest.fixture(scope="module")
def browser():
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1100,1000", "--no-first-run", "--password-store=basic"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    os.makedirs(SHOTS, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture(autouse=True)
def fresh_cookies(request):
    """Every test starts signed out."""
    if "browser" in request.fixturenames:
        request.getfixturevalue("browser").delete_all_cookies()
    yield


def shot(driver, name):
    path = os.path.join(SHOTS, f"{name}.png")
    driver.save_screenshot(path)
    assert os.path.getsize(path) > 1000, f"screenshot {path} is empty"
    return path


class Idp:
    """tests/sdk/idp/server.mjs: a samlify IdP listening on 127.0.0.1."""

    def __init__(self, workdir):
        require_node_idp()
        key, cert = make_keypair("browser-test IdP")
        self.log = open(os.path.join(workdir, "idp.log"), "wb")
        self.proc = subprocess.Popen(["node", IDP_SERVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.proc.stdin.write(json.dumps({"privateKey": key, "cert": cert}))
        self.proc.stdin.close()
        line = self.proc.stdout.readline().strip()
        assert line.startswith("listening on "), f"IdP did not start: {line!r}"
        self.base = line.removeprefix("listening on ")
        self.metadata = self.get("/metadata")

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=30) as r:
            return r.read().decode()

    def post(self, path, body):
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read().decode())

    def add_sp(self, metadata_xml):
        return self.post("/admin/sp", {"metadata": metadata_xml})["entityID"]

    def add_user(self, username, name_id, attributes=()):
        self.post("/admin/user", {"username": username, "nameID": name_id,
                                  "attributes": [{"name": n, "values": v} for n, v in attributes]})

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="module")
def env():
    """A rambridge server with an SP key (so AuthnRequests are signed), the IdP, and two
    accounts: `webco` (three roles over two accounts, user SSO) and `webpartner` (one role)."""
    with tempfile.TemporaryDirectory(prefix="rambridge-web-") as d:
        server = Server(d, extra=["--saml-sp-key-file", os.path.join(ROOT, "certs", "sp-test-key.pem"),
                                  "--saml-sp-cert-file", os.path.join(ROOT, "certs", "sp-test-cert.pem")],
                        log="web-server.log")
        idp = Idp(d)
        try:
            base = f"http://{server.host}"
            idp.add_sp(urllib.request.urlopen(f"{base}/saml-role/sp-metadata.xml", timeout=30).read().decode())
            accounts = {}
            for alias in ("webco", "webpartner"):
                acct = server.create_account(alias)
                ims = ImsClient(cfg(server, acct["AccessKeyId"], acct["AccessKeySecret"]))
                ram = RamClient(cfg(server, acct["AccessKeyId"], acct["AccessKeySecret"]))
                provider = ims.create_samlprovider(ims_models.CreateSAMLProviderRequest(
                    samlprovider_name="samlify-live",
                    encoded_samlmetadata_document=base64.b64encode(idp.metadata.encode()).decode(),
                )).body.samlprovider.arn
                trust = {"Version": "1", "Statement": [{
                    "Effect": "Allow", "Action": "sts:AssumeRole",
                    "Principal": {"Federated": [provider]},
                    "Condition": {"StringEquals": {"saml:recipient": f"{base}/saml-role/sso"}}}]}
                roles = ("web-admin", "web-readonly") if alias == "webco" else ("web-auditor",)
                arns = {}
                for name in roles:
                    arns[name] = ram.create_role(ram_models.CreateRoleRequest(
                        role_name=name, assume_role_policy_document=json.dumps(trust),
                    )).body.role.arn
                accounts[alias] = {**acct, "ims": ims, "ram": ram, "provider": provider, "roles": arns}
            yield {"server": server, "idp": idp, "base": base, "accounts": accounts, "dir": d}
        finally:
            idp.stop()
            server.stop()


def audit_events(env, alias):
    out = subprocess.run([BIN, "audit", "--account", alias, "--json", "--max", "200"],
                         cwd=env["dir"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["SignInEvents"]


def text_of(driver, element_id):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.ID, element_id).text


def wait_for(driver, element_id, timeout=30):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        return WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.ID, element_id)))
    except TimeoutException:
        pytest.fail(f"#{element_id} did not appear; at {driver.current_url}:\n{driver.page_source[:3000]}")


def role_pair(env, alias, role):
    a = env["accounts"][alias]
    return f"{a['roles'][role]},{a['provider']}"


def test_idp_initiated_role_sso_with_one_role(env, browser):
    idp = env["idp"]
    pair = role_pair(env, "webpartner", "web-auditor")
    idp.add_user("olivia", "olivia@idp.test", [(ROLE_ATTR, [pair]), (SESSION_ATTR, ["olivia"])])
    # An unsafe RelayState is ignored: the browser ends on the console, not elsewhere.
    browser.get(f"{idp.base}/idp-initiated?sp={env['base']}/saml-role&user=olivia&relay=//evil.example/")
    wait_for(browser, "identity")
    assert browser.current_url == f"{env['base']}/console"
    role_arn = env["accounts"]["webpartner"]["roles"]["web-auditor"]
    assert text_of(browser, "role-arn") == role_arn
    assert text_of(browser, "session-name") == "olivia"
    assert "webpartner" in text_of(browser, "account")
    ak = text_of(browser, "access-key-id")
    secret = text_of(browser, "access-key-secret")
    token = text_of(browser, "security-token")
    assert ak.startswith("STS.")
    assert f"--access-key-id {ak}" in text_of(browser, "cli-snippet")
    shot(browser, "test_idp_initiated_role_sso_with_one_role")
    # The credentials on the console are real: STS says who they are.
    sts = StsClient(cfg(env["server"], ak, secret, token))
    who = sts.get_caller_identity().body
    assert who.arn.endswith(":assumed-role/web-auditor/olivia"), who.arn
    # The session cookie is HttpOnly and SameSite=Lax.
    cookie = browser.get_cookie("rambridge_session")
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    events = audit_events(env, "webpartner")
    assert any(e["EventName"] == "RoleSSO" and e["Outcome"] == "Success" for e in events)
    assert any(e["EventName"] == "RelayStateIgnored" and "//evil.example/" in e["Subject"] for e in events)


def test_idp_initiated_role_sso_with_three_roles_uses_the_chooser(env, browser):
    from selenium.webdriver.common.by import By
    idp = env["idp"]
    pairs = [role_pair(env, "webco", "web-admin"), role_pair(env, "webco", "web-readonly"),
             role_pair(env, "webpartner", "web-auditor")]
    idp.add_user("carol", "carol@idp.test", [(ROLE_ATTR, pairs), (SESSION_ATTR, ["carol"])])
    browser.get(f"{idp.base}/idp-initiated?sp={env['base']}/saml-role&user=carol")
    wait_for(browser, "continue")
    assert browser.current_url == f"{env['base']}/saml-role/choose"
    legends = [e.text for e in browser.find_elements(By.TAG_NAME, "legend")]
    assert legends == [f"Account {env['accounts']['webco']['AccountId']}",
                       f"Account {env['accounts']['webpartner']['AccountId']}"]
    radios = browser.find_elements(By.CSS_SELECTOR, "input[type=radio][name=choice]")
    assert len(radios) == 3
    shot(browser, "test_idp_initiated_role_sso_with_three_roles_chooser")
    browser.find_element(By.CSS_SELECTOR, "label[for=choice-1]").click()
    browser.find_element(By.ID, "continue").click()
    wait_for(browser, "identity")
    assert text_of(browser, "role-arn") == env["accounts"]["webco"]["roles"]["web-readonly"]
    assert text_of(browser, "session-name") == "carol"
    shot(browser, "test_idp_initiated_role_sso_with_three_roles_uses_the_chooser")
    # The choice is single use: back on the chooser, it is gone (pages are never cached).
    browser.back()
    wait_for(browser, "error-title")
    assert "role choice expired" in text_of(browser, "error-title").lower()


@pytest.fixture(scope="module")
def user_sso(env):
    """webco: user SSO enabled (SDK), the user SP registered at the IdP, users alice (enabled)
    and dave (no console access)."""
    acct = env["accounts"]["webco"]
    ims, ram = acct["ims"], acct["ram"]
    saved = ims.set_user_sso_settings(ims_models.SetUserSsoSettingsRequest(
        sso_enabled=True, sso_login_with_domain=True,
        metadata_document=base64.b64encode(env["idp"].metadata.encode()).decode(),
    )).body.user_sso_settings
    assert saved.sso_enabled is True
    got = ims.get_user_sso_settings().body.user_sso_settings
    assert got.sso_enabled is True and got.sso_login_with_domain is True
    sp_md = urllib.request.urlopen(f"{env['base']}/{acct['AccountId']}/saml/SpMetadata.xml", timeout=30).read().decode()
    env["idp"].add_sp(sp_md)
    for name in ("alice", "dave"):
        ram.create_user(ram_models.CreateUserRequest(user_name=name, display_name=name))
    ram.create_login_profile(ram_models.CreateLoginProfileRequest(user_name="alice", password="Str0ng-Passw0rd!"))
    domain = "webco.onaliyun.com"
    env["idp"].add_user("alice", f"alice@{domain}")
    env["idp"].add_user("dave", f"dave@{domain}")
    env["idp"].add_user("zed", f"zed@{domain}")
    return acct


def sp_initiated_sign_in(env, browser, idp_user):
    from selenium.webdriver.common.by import By
    browser.get(f"{env['base']}/login")
    browser.find_element(By.ID, "alias").send_keys("webco")
    browser.find_element(By.ID, "next").click()
    wait_for(browser, "idp-login")
    assert browser.current_url.startswith(f"{env['idp'].base}/sso?SAMLRequest=")
    # samlify verified the AuthnRequest's HTTP-Redirect signature against our SP metadata.
    assert "signature verified" in browser.page_source
    browser.find_element(By.ID, "username").send_keys(idp_user)
    browser.find_element(By.ID, "idp-login").click()


def test_sp_initiated_user_sso(env, browser, user_sso):
    sp_initiated_sign_in(env, browser, "alice")
    wait_for(browser, "identity")
    assert browser.current_url == f"{env['base']}/console"
    assert text_of(browser, "user-principal-name") == "alice@webco.onaliyun.com"
    assert "webco" in text_of(browser, "account")
    shot(browser, "test_sp_initiated_user_sso")
    # Sign out ends the session.
    from selenium.webdriver.common.by import By
    browser.find_element(By.ID, "sign-out").click()
    wait_for(browser, "signed-out")
    browser.get(f"{env['base']}/console")
    assert browser.current_url == f"{env['base']}/login"


def test_user_sso_for_a_disabled_user_shows_the_error_page(env, browser, user_sso):
    sp_initiated_sign_in(env, browser, "dave")
    wait_for(browser, "error-title")
    assert text_of(browser, "error-title") == "This user cannot sign in"
    reference = text_of(browser, "reference")
    shot(browser, "test_user_sso_for_a_disabled_user_shows_the_error_page")
    events = {e["EventId"]: e for e in audit_events(env, "webco")}
    assert events[reference]["Reason"] == "User.Disabled"
    assert events[reference]["Subject"] == "dave@webco.onaliyun.com"
    assert browser.get_cookie("rambridge_session") is None


def test_user_sso_for_an_unknown_user_shows_the_error_page(env, browser, user_sso):
    sp_initiated_sign_in(env, browser, "zed")
    wait_for(browser, "error-title")
    assert text_of(browser, "error-title") == "No such user"
    reference = text_of(browser, "reference")
    shot(browser, "test_user_sso_for_an_unknown_user_shows_the_error_page")
    events = {e["EventId"]: e for e in audit_events(env, "webco")}
    assert events[reference]["Reason"] == "EntityNotExist.User"
    assert browser.get_cookie("rambridge_session") is None


def test_password_sign_in_is_refused_while_sso_is_enabled(env, browser, user_sso):
    from selenium.webdriver.common.by import By
    # webpartner has no user SSO: /login/<alias> shows its password form, which works.
    partner = env["accounts"]["webpartner"]
    partner["ram"].create_user(ram_models.CreateUserRequest(user_name="pat", display_name="Pat"))
    partner["ram"].create_login_profile(ram_models.CreateLoginProfileRequest(user_name="pat", password="Pat-Passw0rd!"))
    browser.get(f"{env['base']}/login/webpartner")
    browser.find_element(By.ID, "user").send_keys("pat")
    browser.find_element(By.ID, "password").send_keys("Pat-Passw0rd!")
    browser.find_element(By.ID, "sign-in").click()
    wait_for(browser, "identity")
    assert text_of(browser, "user-principal-name") == "pat@webpartner.onaliyun.com"
    browser.delete_all_cookies()
    # webco enforces SSO: a password form posted anyway (e.g. an old tab) is refused.
    webco = env["accounts"]["webco"]
    webco["ims"].set_user_sso_settings(ims_models.SetUserSsoSettingsRequest(sso_enabled=False))
    browser.get(f"{env['base']}/login/webco")
    webco["ims"].set_user_sso_settings(ims_models.SetUserSsoSettingsRequest(sso_enabled=True))
    browser.find_element(By.ID, "user").send_keys("alice")
    browser.find_element(By.ID, "password").send_keys("Str0ng-Passw0rd!")
    browser.find_element(By.ID, "sign-in").click()
    wait_for(browser, "error-title")
    assert text_of(browser, "error-title") == "Password sign-in is turned off"
    shot(browser, "test_password_sign_in_is_refused_while_sso_is_enabled")
    assert browser.get_cookie("rambridge_session") is None


def test_tampered_response_shows_the_error_page_and_creates_no_session(env, browser):
    idp = env["idp"]
    pair = role_pair(env, "webpartner", "web-auditor")
    idp.add_user("trent", "trent@idp.test", [(ROLE_ATTR, [pair]), (SESSION_ATTR, ["trent"])])
    browser.get(f"{idp.base}/idp-initiated?sp={env['base']}/saml-role&user=trent&tamper=1")
    wait_for(browser, "error-title")
    assert text_of(browser, "error-title") == "The sign-in response failed its signature check"
    reference = text_of(browser, "reference")
    shot(browser, "test_tampered_response_shows_the_error_page_and_creates_no_session")
    assert browser.get_cookie("rambridge_session") is None
    browser.get(f"{env['base']}/console")
    assert browser.current_url == f"{env['base']}/login"
    events = {e["EventId"]: e for e in audit_events(env, "webpartner")}
    assert events[reference]["Outcome"] == "Failure"
    assert events[reference]["Reason"] == "AuthenticationFail.SAMLAssertion.Invalid.Signature"


def test_rambridge_login_browser_mode(env, browser, tmp_path):
    """`rambridge login` in browser mode (issue 9): the CLI waits on its loopback listener while
    the browser signs in at the IdP (SP-initiated, signed AuthnRequest) and picks a role in the
    chooser; the CLI then redeems its one-time code and prints credentials that work."""
    from selenium.webdriver.common.by import By
    idp = env["idp"]
    pairs = [role_pair(env, "webco", "web-admin"), role_pair(env, "webco", "web-readonly")]
    idp.add_user("devon", "devon@idp.test", [(ROLE_ATTR, pairs), (SESSION_ATTR, ["devon"])])
    home = tmp_path / "home"
    home.mkdir()
    run_env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    cli = subprocess.Popen(
        [BIN, "login", "--endpoint", env["base"], "--account", "webco", "--provider", "samlify-live",
         "--role", "web-readonly", "--no-browser", "--output", "json", "--timeout", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=run_env)
    try:
        url = None
        for _ in range(10):
            line = cli.stderr.readline()
            if not line:
                break
            if line.startswith("http"):
                url = line.strip()
                break
        assert url and "/cli-login/start?" in url, f"no sign-in URL from the CLI (last line {line!r})"
        browser.get(url)
        wait_for(browser, "idp-login")
        assert browser.current_url.startswith(f"{idp.base}/sso?SAMLRequest=")
        assert "signature verified" in browser.page_source
        browser.find_element(By.ID, "username").send_keys("devon")
        browser.find_element(By.ID, "idp-login").click()
        wait_for(browser, "continue")
        assert browser.current_url == f"{env['base']}/saml-role/choose"
        browser.find_element(By.CSS_SELECTOR, "label[for=choice-1]").click()
        browser.find_element(By.ID, "continue").click()
        out, err = cli.communicate(timeout=90)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 0, f"rambridge login failed: {err}"
    # The browser ended on the CLI's own loopback page, never with credentials in a URL.
    assert browser.current_url.startswith("http://127.0.0.1:")
    assert "/callback?code=" in browser.current_url
    shot(browser, "test_rambridge_login_browser_mode")
    creds = json.loads(out)
    assert creds["RoleArn"] == env["accounts"]["webco"]["roles"]["web-readonly"]
    assert creds["AccessKeySecret"] not in browser.current_url
    sts = StsClient(cfg(env["server"], creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"]))
    who = sts.get_caller_identity().body
    assert who.arn.endswith(":assumed-role/web-readonly/devon"), who.arn
    # A second login within the lifetime answers from the cache: no browser, no sign-in URL.
    again = subprocess.run(
        [BIN, "login", "--endpoint", env["base"], "--account", "webco", "--provider", "samlify-live",
         "--role", "web-readonly", "--no-browser", "--output", "json", "--timeout", "5"],
        capture_output=True, text=True, env=run_env, timeout=60)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["AccessKeyId"] == creds["AccessKeyId"]
    assert "/cli-login/start" not in again.stderr
