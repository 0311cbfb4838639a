//! `rambridge login` as users run it: the real binary against a real `rambridge serve`, with a
//! SAML provider and roles set up through the API and responses signed by the test IdP key.
//! Assertion mode end to end (credentials that work for GetCallerIdentity), role choice
//! without a terminal, the outputs, the aliyun profile writer on a real config, the cache
//! (no request while valid, a new login after expiry under libfaketime), one-line errors, and
//! the browser mode's loopback exchange with the sign-in step played by `complete`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rambridge::client::Credentials;
use rambridge::saml::test_idp::ResponseBuilder;
use rambridge::xmldsig::SigningKey;
use serde_json::Value;

use crate::common::{self, BIN, Server, create_account, creds_of};

const ISSUER: &str = "https://idp.example.test/saml/idp";

fn shared(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/saml")
            .join(name),
    )
    .unwrap()
}

fn idp_key() -> SigningKey {
    SigningKey::from_pkcs8_pem(
        std::str::from_utf8(&shared("idp-test-key.pem")).unwrap(),
        shared("idp-test-cert.der"),
    )
    .unwrap()
}

fn now() -> chrono::DateTime<chrono::Utc> {
    #[allow(clippy::disallowed_methods)]
    chrono::Utc::now()
}

/// A server with an account whose IdP is the test IdP and two roles trusting it.
struct Fed {
    dir: tempfile::TempDir,
    server: Server,
    account: Value,
    provider: String,
    admin: String,
    dev: String,
}

async fn fed() -> Fed {
    let dir = tempfile::tempdir().unwrap();
    let account = create_account(dir.path(), "acme", &[]);
    let server = Server::start(dir.path(), &[], &[]);
    let creds = creds_of(&account);
    let (status, body) = common::call_v1(
        &server,
        &creds,
        "2019-08-15",
        "CreateSAMLProvider",
        &[
            ("SAMLProviderName", "test-idp"),
            (
                "EncodedSAMLMetadataDocument",
                &B64.encode(shared("idp-metadata.xml")),
            ),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = account["AccountId"].as_str().unwrap().to_string();
    let provider = format!("acs:ram::{id}:saml-provider/test-idp");
    let trust = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"Federated":["{provider}"]}},"Condition":{{"StringEquals":{{"saml:recipient":"{}/saml-role/sso"}}}}}}]}}"#,
        server.base
    );
    for name in ["admin", "dev"] {
        let (status, body) = common::call_v1(
            &server,
            &creds,
            "2015-05-01",
            "CreateRole",
            &[("RoleName", name), ("AssumeRolePolicyDocument", &trust)],
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    Fed {
        admin: format!("acs:ram::{id}:role/admin"),
        dev: format!("acs:ram::{id}:role/dev"),
        dir,
        server,
        account,
        provider,
    }
}

impl Fed {
    fn builder(&self) -> ResponseBuilder {
        ResponseBuilder::new(
            ISSUER,
            &format!("{}/saml-role/sso", self.server.base),
            &format!("{}/saml-role", self.server.base),
            now(),
        )
    }

    /// A fresh signed Response offering `roles`, written to a new file; returns its path.
    fn assertion(&self, roles: &[&str]) -> PathBuf {
        let mut b = self.builder();
        for r in roles {
            b = b.role(r, &self.provider);
        }
        self.write_signed(&b)
    }

    fn write_signed(&self, b: &ResponseBuilder) -> PathBuf {
        let xml = b.sign_assertion(&idp_key()).unwrap();
        let path = self
            .dir
            .path()
            .join(format!("assertion-{}.b64", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, B64.encode(xml)).unwrap();
        path
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Runs `rambridge login --endpoint <server> ARGS` with a private HOME and cache.
    fn login(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Out {
        self.login_at(&self.server.base, args, env, stdin)
    }

    fn login_at(
        &self,
        endpoint: &str,
        args: &[&str],
        env: &[(&str, &str)],
        stdin: Option<&[u8]>,
    ) -> Out {
        let mut cmd = Command::new(BIN);
        cmd.arg("login")
            .args(["--endpoint", endpoint])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(bytes) = stdin {
            input.write_all(bytes).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    async fn assume_count(&self) -> u64 {
        let text = common::http_client()
            .get(format!("{}/metrics", self.server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with("rambridge_requests_total{action=\"AssumeRoleWithSAML\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }
}

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        self
    }

    fn json(&self) -> Value {
        self.ok();
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }

    /// A failure: exit 1, nothing on stdout, exactly one line on stderr containing `want`.
    fn fails_with(&self, want: &str) {
        assert_eq!(self.code, 1, "{self:?}");
        assert!(self.stdout.is_empty(), "{self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {:?}", self.stderr);
        assert!(lines[0].starts_with("error: "), "{}", lines[0]);
        assert!(lines[0].contains(want), "want {want:?} in {:?}", lines[0]);
    }
}

async fn caller(server: &Server, creds: &Credentials) -> Value {
    let (status, body) =
        common::call_v1(server, creds, "2015-04-01", "GetCallerIdentity", &[]).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Credentials in the aliyun CLI's profile fields (credential-process output, config file).
fn aliyun_style(v: &Value) -> Credentials {
    Credentials {
        access_key_id: v["access_key_id"].as_str().unwrap().into(),
        access_key_secret: v["access_key_secret"].as_str().unwrap().into(),
        security_token: Some(v["sts_token"].as_str().unwrap().into()),
    }
}

fn sts(v: &Value) -> Credentials {
    Credentials {
        access_key_id: v["AccessKeyId"].as_str().unwrap().into(),
        access_key_secret: v["AccessKeySecret"].as_str().unwrap().into(),
        security_token: Some(v["SecurityToken"].as_str().unwrap().into()),
    }
}

#[tokio::test]
async fn assertion_mode_gives_working_credentials() {
    let f = fed().await;
    let file = f.assertion(&[&f.admin]);
    let v = f
        .login(
            &[
                "--saml-assertion-file",
                file.to_str().unwrap(),
                "--output",
                "json",
            ],
            &[],
            None,
        )
        .json();
    assert_eq!(v["Code"], "Success");
    assert_eq!(v["RoleArn"], f.admin.as_str());
    assert_eq!(v["AccountId"], f.account["AccountId"]);
    assert!(v["AccessKeyId"].as_str().unwrap().starts_with("STS."));
    assert!(rambridge::clock::parse_iso8601(v["Expiration"].as_str().unwrap()).is_some());
    let who = caller(&f.server, &sts(&v)).await;
    assert_eq!(who["IdentityType"], "AssumedRoleUser");
    assert_eq!(
        who["Arn"],
        format!(
            "acs:ram::{}:assumed-role/admin/alice@example.test",
            f.account["AccountId"].as_str().unwrap()
        )
    );

    // From stdin, as XML, with a session duration; credential-process output.
    let b = f.builder().role(&f.admin, &f.provider);
    let xml = b.sign_assertion(&idp_key()).unwrap();
    let out = f.login(
        &[
            "--saml-assertion-file",
            "-",
            "--output",
            "credential-process",
            "--profile",
            "other",
            "--duration",
            "900",
        ],
        &[],
        Some(&xml),
    );
    let v = out.json();
    let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["access_key_id", "access_key_secret", "mode", "sts_token"]
    );
    assert_eq!(v["mode"], "StsToken");
    assert!(
        out.stderr.is_empty(),
        "nothing but the JSON: {}",
        out.stderr
    );
    assert_eq!(
        caller(&f.server, &aliyun_style(&v)).await["IdentityType"],
        "AssumedRoleUser"
    );

    // env output, read back by a shell.
    let file = f.assertion(&[&f.admin]);
    let out = f.login(
        &[
            "--saml-assertion-file",
            file.to_str().unwrap(),
            "--profile",
            "env",
            "--force",
        ],
        &[],
        None,
    );
    out.ok();
    let sh = Command::new("sh")
        .args([
            "-c",
            &format!("{}printf '%s %s' \"$ALIBABA_CLOUD_ACCESS_KEY_ID\" \"$ALIBABA_CLOUD_SECURITY_TOKEN\"", out.stdout),
        ])
        .output()
        .unwrap();
    let printed = String::from_utf8(sh.stdout).unwrap();
    let (ak, token) = printed.split_once(' ').unwrap();
    assert!(
        ak.starts_with("STS.") && token.starts_with("RBS1."),
        "{printed}"
    );
}

#[tokio::test]
async fn choosing_among_several_roles_without_a_terminal() {
    let f = fed().await;
    let file = f.assertion(&[&f.admin, &f.dev]);
    let path = file.to_str().unwrap();
    let out = f.login(
        &["--saml-assertion-file", path, "--output", "json"],
        &[],
        None,
    );
    out.fails_with("several roles are offered (no terminal to choose from)");
    assert!(
        out.stderr.contains("acme/admin") || out.stderr.contains("/admin ("),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&f.dev), "{}", out.stderr);
    assert!(
        out.stderr.contains("pick one with --role"),
        "{}",
        out.stderr
    );

    let listed = f.login(&["--saml-assertion-file", path, "--list-roles"], &[], None);
    listed.ok();
    let lines: Vec<&str> = listed.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", listed.stdout);
    assert!(lines[0].starts_with(&format!("{}\t{}\t", f.admin, f.provider)));
    assert!(lines[1].starts_with(&format!("{}\t{}\t", f.dev, f.provider)));

    // The refusals above used nothing: the same response still signs in, by role name.
    let v = f
        .login(
            &[
                "--saml-assertion-file",
                path,
                "--role",
                "dev",
                "--output",
                "json",
            ],
            &[],
            None,
        )
        .json();
    assert_eq!(v["RoleArn"], f.dev.as_str());

    let file = f.assertion(&[&f.admin, &f.dev]);
    f.login(
        &[
            "--saml-assertion-file",
            file.to_str().unwrap(),
            "--role",
            "ops",
        ],
        &[],
        None,
    )
    .fails_with("role \"ops\" is not offered to you");
}

#[tokio::test]
async fn failures_are_one_actionable_line() {
    let f = fed().await;
    let file = f.assertion(&[&f.admin]);
    let path = file.to_str().unwrap();
    f.login(
        &["--saml-assertion-file", path, "--output", "json"],
        &[],
        None,
    )
    .ok();
    // The same response again: the server's replay cache refuses it.
    f.login(&["--saml-assertion-file", path, "--force"], &[], None)
        .fails_with("sign in again for a fresh one");

    // An expired response: the IdP's clock and rambridge's disagree.
    let mut b = f.builder().role(&f.admin, &f.provider);
    let past = now() - chrono::Duration::hours(2);
    b.issue_instant = past;
    b.not_before = past;
    b.not_on_or_after = past + chrono::Duration::minutes(5);
    b.confirmation_not_on_or_after = past + chrono::Duration::minutes(5);
    let old = f.write_signed(&b);
    f.login(
        &["--saml-assertion-file", old.to_str().unwrap(), "--force"],
        &[],
        None,
    )
    .fails_with("the clocks disagree");

    // A role whose trust policy does not name the provider.
    let creds = creds_of(&f.account);
    let (status, body) = common::call_v1(
        &f.server,
        &creds,
        "2015-05-01",
        "CreateRole",
        &[
            ("RoleName", "untrusting"),
            (
                "AssumeRolePolicyDocument",
                r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1234567890123456:root"]}}]}"#,
            ),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = f.account["AccountId"].as_str().unwrap();
    let file = f.assertion(&[&format!("acs:ram::{id}:role/untrusting")]);
    f.login(
        &["--saml-assertion-file", file.to_str().unwrap(), "--force"],
        &[],
        None,
    )
    .fails_with("trust policy does not allow this SAML provider");

    // A response naming a provider rambridge does not know: SSO not configured.
    let mut b = f.builder();
    b = b.role(&f.admin, &format!("acs:ram::{id}:saml-provider/ghost"));
    let ghost = f.write_signed(&b);
    f.login(
        &["--saml-assertion-file", ghost.to_str().unwrap(), "--force"],
        &[],
        None,
    )
    .fails_with("SSO is not configured for this account");

    // Nothing listening.
    f.login_at(
        "http://127.0.0.1:9",
        &["--saml-assertion-file", path, "--force"],
        &[],
        None,
    )
    .fails_with("cannot reach rambridge at http://127.0.0.1:9/");

    // Local problems.
    f.login(
        &["--saml-assertion-file", "/nonexistent/file", "--force"],
        &[],
        None,
    )
    .fails_with("SAML assertion file /nonexistent/file");
    f.login(
        &["--saml-assertion-file", "-", "--force"],
        &[],
        Some(b"  \n"),
    )
    .fails_with("is empty");
    f.login(
        &["--saml-assertion-file", "-", "--force"],
        &[],
        Some(b"%%% not base64"),
    )
    .fails_with("the SAML response is unusable");
    f.login(&[], &[], None)
        .fails_with("browser login needs --account");
    f.login(&["--ecp", "--account", "acme"], &[], None)
        .fails_with("--ecp needs --idp-url");
    f.login(&["--account", "acme", "--list-roles"], &[], None)
        .fails_with("--list-roles needs --ecp or --saml-assertion-file");
    f.login_at("sso.example.com", &["--account", "acme"], &[], None)
        .fails_with("is not a URL");
    // Pre-flight of browser and ECP mode: unknown account, and an account without SSO.
    f.login(
        &["--account", "nobody", "--no-browser", "--force"],
        &[],
        None,
    )
    .fails_with("account \"nobody\" does not exist; check --account");
    create_account(f.dir.path(), "nosso", &[]);
    f.login(
        &[
            "--ecp",
            "--account",
            "nosso",
            "--idp-url",
            "http://127.0.0.1:9/ecp",
            "--username",
            "u",
        ],
        &[("RAMBRIDGE_LOGIN_PASSWORD", "p")],
        None,
    )
    .fails_with("SSO is not configured for account \"nosso\"");
    // ECP with an IdP that is not there.
    f.login(
        &[
            "--ecp",
            "--account",
            "acme",
            "--idp-url",
            "http://127.0.0.1:9/ecp",
            "--username",
            "u",
        ],
        &[("RAMBRIDGE_LOGIN_PASSWORD", "p")],
        None,
    )
    .fails_with("cannot reach the IdP at http://127.0.0.1:9/ecp");
    // No password in the environment and no terminal to ask on (setsid: no controlling tty).
    let out = Command::new("setsid")
        .args([
            BIN,
            "login",
            "--endpoint",
            &f.server.base,
            "--ecp",
            "--account",
            "acme",
            "--idp-url",
            "http://127.0.0.1:9/ecp",
            "--username",
            "u",
        ])
        .env_remove("RAMBRIDGE_LOGIN_PASSWORD")
        .env("HOME", f.home())
        .env("XDG_CACHE_HOME", f.dir.path().join("cache"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
    .fails_with("cannot read the password");
}

#[tokio::test]
async fn the_aliyun_profile_writer_keeps_every_other_byte() {
    let f = fed().await;
    let config = f.home().join(".aliyun/config.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    // As `aliyun configure` writes it: tabs, Go's \u003c escapes, several profiles, extras.
    let before = "{\n\t\"current\": \"default\",\n\t\"profiles\": [\n\t\t{\n\t\t\t\"name\": \"default\",\n\t\t\t\"mode\": \"AK\",\n\t\t\t\"access_key_id\": \"LTAI5tExampleKeyId\",\n\t\t\t\"access_key_secret\": \"ExampleSecret\",\n\t\t\t\"region_id\": \"cn-hangzhou\",\n\t\t\t\"output_format\": \"json\",\n\t\t\t\"language\": \"zh\",\n\t\t\t\"site\": \"\\u003cchina\\u003e\"\n\t\t},\n\t\t{\n\t\t\t\"name\": \"ops\",\n\t\t\t\"mode\": \"RamRoleArn\",\n\t\t\t\"access_key_id\": \"LTAI5tOps\",\n\t\t\t\"access_key_secret\": \"OpsSecret\",\n\t\t\t\"ram_role_arn\": \"acs:ram::1234567890123456:role/ops\",\n\t\t\t\"ram_session_name\": \"ops\",\n\t\t\t\"region_id\": \"cn-beijing\",\n\t\t\t\"output_format\": \"json\",\n\t\t\t\"language\": \"en\"\n\t\t}\n\t],\n\t\"meta_path\": \"\"\n}";
    std::fs::write(&config, before).unwrap();
    let file = f.assertion(&[&f.admin]);
    let out = f.login(
        &[
            "--saml-assertion-file",
            file.to_str().unwrap(),
            "--output",
            "aliyun-profile",
            "--profile",
            "login",
            "--region",
            "eu-central-1",
        ],
        &[],
        None,
    );
    out.ok();
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr.contains("wrote aliyun CLI profile \"login\""),
        "{}",
        out.stderr
    );
    let after = std::fs::read_to_string(&config).unwrap();
    // Everything up to the end of the last existing profile, and everything after the list,
    // is byte-for-byte what was there.
    let cut = before.find("\n\t],\n\t\"meta_path\"").unwrap();
    assert_eq!(after[..cut], before[..cut]);
    assert!(after.ends_with(&before[cut..]));
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&config).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let v: Value = serde_json::from_str(&after).unwrap();
    let login = &v["profiles"][2];
    assert_eq!(login["name"], "login");
    assert_eq!(login["mode"], "StsToken");
    assert_eq!(login["region_id"], "eu-central-1");
    assert_eq!(
        caller(&f.server, &aliyun_style(login)).await["IdentityType"],
        "AssumedRoleUser"
    );

    // Logging in again updates that profile in place; the other two stay as they were.
    let first_key = login["access_key_id"].as_str().unwrap().to_string();
    let file = f.assertion(&[&f.admin]);
    f.login(
        &[
            "--saml-assertion-file",
            file.to_str().unwrap(),
            "--output",
            "aliyun-profile",
            "--profile",
            "login",
            "--force",
        ],
        &[],
        None,
    )
    .ok();
    let again = std::fs::read_to_string(&config).unwrap();
    assert_eq!(again[..cut], before[..cut]);
    assert!(again.ends_with(&before[cut..]));
    assert_eq!(again.len(), after.len(), "same shape, new values");
    assert!(!again.contains(&first_key));
}

fn libfaketime() -> String {
    let found = std::fs::read_dir("/usr/lib")
        .unwrap()
        .flatten()
        .map(|d| d.path().join("faketime/libfaketime.so.1"))
        .find(|p| p.exists());
    found
        .expect("libfaketime (Debian package faketime) is required; scripts/test installs it")
        .display()
        .to_string()
}

#[tokio::test]
async fn cached_credentials_are_reused_until_they_expire() {
    let f = fed().await;
    let run = |file: &Path, env: &[(&str, &str)]| {
        f.login(
            &[
                "--saml-assertion-file",
                file.to_str().unwrap(),
                "--role",
                "admin",
                "--output",
                "json",
            ],
            env,
            None,
        )
        .json()
    };
    let first = run(&f.assertion(&[&f.admin]), &[]);
    assert_eq!(f.assume_count().await, 1);

    // Within the lifetime: the cached credential, and rambridge is not asked at all (the
    // request counter does not move, and even an unusable assertion file is not read).
    let garbage = f.dir.path().join("garbage");
    std::fs::write(&garbage, "not an assertion").unwrap();
    let second = run(&garbage, &[]);
    assert_eq!(second, first);
    assert_eq!(f.assume_count().await, 1);

    // The cache file is private.
    use std::os::unix::fs::PermissionsExt as _;
    let cache_dir = f.dir.path().join("cache/rambridge/login");
    let files: Vec<_> = std::fs::read_dir(&cache_dir).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    assert_eq!(
        files[0].metadata().unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&cache_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );

    // 58 minutes later (this process's clock only, libfaketime) the hour-long credential is
    // within the renewal margin: a new login with a fresh response, new credentials.
    let lib = libfaketime();
    let later = [
        ("LD_PRELOAD", lib.as_str()),
        ("FAKETIME", "+58m"),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
    ];
    let third = run(&f.assertion(&[&f.admin]), &later);
    assert_ne!(third["AccessKeyId"], first["AccessKeyId"]);
    assert_eq!(f.assume_count().await, 2);
    // --force logs in even while the cache is valid.
    let fourth = f
        .login(
            &[
                "--saml-assertion-file",
                f.assertion(&[&f.admin]).to_str().unwrap(),
                "--output",
                "json",
                "--force",
            ],
            &[],
            None,
        )
        .json();
    assert_ne!(fourth["AccessKeyId"], third["AccessKeyId"]);
    assert_eq!(f.assume_count().await, 3);

    // With rambridge down, the cached credential is still returned.
    let base = f.server.base.clone();
    drop(f.server);
    let mut cmd = Command::new(BIN);
    let out = cmd
        .args([
            "login",
            "--endpoint",
            &base,
            "--saml-assertion-file",
            "/nonexistent",
            "--output",
            "json",
        ])
        .env("HOME", f.dir.path().join("home"))
        .env("XDG_CACHE_HOME", f.dir.path().join("cache"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["AccessKeyId"], fourth["AccessKeyId"]);
}

#[tokio::test]
async fn browser_mode_waits_on_loopback_and_redeems_the_code() {
    let f = fed().await;
    // The CLI in browser mode, printing the URL instead of opening a browser.
    let mut child = Command::new(BIN)
        .args([
            "login",
            "--endpoint",
            &f.server.base,
            "--account",
            "acme",
            "--role",
            "admin",
            "--no-browser",
            "--output",
            "json",
            "--timeout",
            "60",
        ])
        .env("HOME", f.home())
        .env("XDG_CACHE_HOME", f.dir.path().join("cache"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut url = String::new();
    while !url.starts_with("http") {
        url.clear();
        let n = std::io::BufRead::read_line(&mut stderr, &mut url).unwrap();
        assert!(n > 0, "the CLI ended without printing the URL");
    }
    let url = url.trim().to_string();
    assert!(
        url.starts_with(&format!("{}/cli-login/start?port=", f.server.base)),
        "{url}"
    );
    assert!(
        url.contains("&code_challenge_method=S256&account=acme&provider=test-idp&role=admin"),
        "{url}"
    );

    // The browser: the start page sets the cookie and sends it to the role sign-in.
    let _ = common::http_client(); // installs the ring provider for reqwest
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(
        resp.headers()["location"],
        format!(
            "{}/saml-role/login/acme?provider=test-idp&RelayState=%2Fcli-login%2Fcontinue",
            f.server.base
        )
        .as_str()
    );
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("cookie", cookie.split(';').next().unwrap().parse().unwrap());
    let pending = rambridge::web::cli_login::pending_id(&headers).unwrap();

    // The sign-in (issue 6's role chooser) runs in the server; here it is played in process on
    // the same database and master key: mint the role's credentials and complete the login.
    let config = rambridge::config::Config::load(
        rambridge::config::Settings {
            database_url: Some(format!(
                "sqlite://{}",
                f.dir.path().join("rambridge.db").display()
            )),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let (store, keys) = rambridge::open(&config).await.unwrap();
    let clock: rambridge::clock::SharedClock = std::sync::Arc::new(rambridge::clock::SystemClock);
    let role = store
        .find_role(f.account["AccountId"].as_str().unwrap(), "admin")
        .await
        .unwrap()
        .unwrap();
    let minted = rambridge::sts::mint(
        &keys,
        clock.as_ref(),
        &role,
        rambridge::sts::SessionSpec {
            session_name: "alice".into(),
            duration_s: 3600,
            session_policy: None,
            chained: false,
            source: f.provider.clone(),
            source_identity: None,
        },
    )
    .unwrap();
    let state = rambridge::AppState::new(config, store, keys, clock, f.server.base.clone());
    let redirect = rambridge::web::cli_login::complete(&state, &pending, &minted)
        .await
        .unwrap();
    // The browser follows the redirect to the CLI's listener.
    let page = http.get(&redirect).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("Signed in"));

    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["AccessKeyId"], minted.claims.access_key_id.as_str());
    assert_eq!(v["RoleArn"], f.admin.as_str());
    let who = caller(&f.server, &sts(&v)).await;
    assert_eq!(who["IdentityType"], "AssumedRoleUser");
    assert_eq!(who["RoleId"], role.id.as_str());
    // The code was spent by the CLI.
    let code = redirect.split("code=").nth(1).unwrap();
    let again = http
        .post(format!("{}/cli-login/token", f.server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "code={code}&code_verifier={}&port=1",
            "a".repeat(43)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 400);
}
