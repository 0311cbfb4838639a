//! Helpers: a running `rambridge serve` on 127.0.0.1:0 with a temporary SQLite database, the
//! CLI, and signed requests.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rambridge::client::{self, Credentials};
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_rambridge");

/// Runs the CLI with `args` in `dir`; returns (exit code, stdout, stderr).
pub fn cli(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run rambridge");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Creates an account through the CLI and returns its JSON.
pub fn create_account(dir: &Path, alias: &str, extra: &[&str]) -> Value {
    let mut args = vec!["account", "create", "--alias", alias];
    args.extend_from_slice(extra);
    let (code, out, err) = cli(dir, &args, &[]);
    assert_eq!(code, 0, "account create failed: {err}");
    serde_json::from_str(out.trim()).expect("one JSON object on stdout")
}

pub fn creds_of(account: &Value) -> Credentials {
    Credentials {
        access_key_id: account["AccessKeyId"].as_str().unwrap().to_string(),
        access_key_secret: account["AccessKeySecret"].as_str().unwrap().to_string(),
        security_token: None,
    }
}

/// A running server process, killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Starts `rambridge serve` in `dir` with extra args; waits for the listening line.
    pub fn start(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn rambridge serve");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server {
            child,
            base: format!("http://{addr}"),
        }
    }

    /// Sends SIGTERM and waits for exit; returns the exit status code.
    pub fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn now_iso() -> String {
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now();
    rambridge::clock::format_iso8601(now)
}

/// A v1-signed GET of `action` with extra business params.
pub async fn call_v1(
    server: &Server,
    creds: &Credentials,
    version: &str,
    action: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut p = BTreeMap::new();
    p.insert("Action".to_string(), action.to_string());
    p.insert("Version".to_string(), version.to_string());
    for (k, v) in extra {
        p.insert((*k).to_string(), (*v).to_string());
    }
    client::sign_v1("GET", &mut p, creds, &now_iso(), &client::new_nonce());
    let url = format!("{}/?{}", server.base, client::encode_query(&p));
    let resp = http_client().get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.json_or_null().await;
    (status, body)
}

pub trait JsonOrNull {
    async fn json_or_null(self) -> Value;
}

/// A plain reqwest client. reqwest is built without a default rustls crypto provider (the
/// project uses ring: Cargo.toml), so the process default is set to ring first.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

impl JsonOrNull for reqwest::Response {
    async fn json_or_null(self) -> Value {
        let text = self.text().await.unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}
