//! Load generator for rambridge (issue: performance). Starts the real `rambridge serve` on
//! loopback (SQLite in a temp dir by default, or `--database-url postgres://...`), prepares an
//! account, the test SAML provider and a role, a RAM user and STS credentials through the API,
//! pre-generates distinct signed requests (assertions are refused when replayed, nonces too),
//! then drives fixed concurrency levels over keep-alive HTTP/1.1 connections and prints, per
//! scenario and level: requests, throughput, p50/p99/p99.9 latency, errors, and the server's
//! peak RSS (VmHWM). Only 127.0.0.1 is ever contacted; every loop is bounded by `--requests`.
//!
//! `cargo run --release --bin loadgen -- --requests 10000 --concurrency 1,16,64`
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use clap::Parser;
use rambridge::client::{self, Credentials};
use rambridge::clock::{Clock as _, SystemClock, format_iso8601};
use rambridge::saml::test_idp::ResponseBuilder;
use rambridge::xmldsig::SigningKey;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufStream};
use tokio::net::TcpStream;

/// rambridge load generator (loopback only).
#[derive(Parser, Debug)]
struct Args {
    /// The rambridge binary [default: next to this one].
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Database URL for the server [default: SQLite in a temp dir].
    #[arg(long)]
    database_url: Option<String>,
    /// Requests per scenario and concurrency level.
    #[arg(long, default_value_t = 10_000)]
    requests: usize,
    /// Concurrency levels.
    #[arg(long, default_value = "1,16,64", value_delimiter = ',')]
    concurrency: Vec<usize>,
    /// Scenarios: saml, sts-caller, ram-getuser.
    #[arg(
        long,
        default_value = "saml,sts-caller,ram-getuser",
        value_delimiter = ','
    )]
    scenarios: Vec<String>,
}

const IDP: &str = "https://idp.example.test/saml/idp";
const AUDIENCE: &str = "urn:alibaba:cloudcomputing";

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/saml")
        .join(name)
}

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(bin: &Path, dir: &Path, db: &Option<String>) -> anyhow::Result<(Server, Credentials)> {
    let mut envs: Vec<(String, String)> = Vec::new();
    if let Some(url) = db {
        envs.push(("RAMBRIDGE_DATABASE_URL".into(), url.clone()));
        envs.push((
            "RAMBRIDGE_MASTER_KEY".into(),
            base64::engine::general_purpose::STANDARD.encode([9u8; 32]),
        ));
    }
    let alias = format!(
        "load-{}",
        uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .get(..8)
            .unwrap_or("x")
    );
    let out = Command::new(bin)
        .args(["account", "create", "--alias", &alias])
        .current_dir(dir)
        .envs(envs.clone())
        .output()?;
    if !out.status.success() {
        bail!("account create: {}", String::from_utf8_lossy(&out.stderr));
    }
    let acct: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let creds = Credentials {
        access_key_id: acct["AccessKeyId"].as_str().context("AccessKeyId")?.into(),
        access_key_secret: acct["AccessKeySecret"].as_str().context("secret")?.into(),
        security_token: None,
    };
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log",
            "warn",
            "--saml-role-entity-id",
            AUDIENCE,
        ])
        .args([
            "--rate-limit-per-second",
            "10000000",
            "--rate-limit-burst",
            "10000000",
        ])
        .args([
            "--sts-issue-rate-per-second",
            "10000000",
            "--sts-issue-burst",
            "10000000",
        ])
        .current_dir(dir)
        .envs(envs)
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .context("listening line")?
        .to_string();
    Ok((Server { child, addr }, creds))
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    io: BufStream<TcpStream>,
    host: String,
}

impl Conn {
    async fn open(addr: &str) -> anyhow::Result<Conn> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Conn {
            io: BufStream::new(s),
            host: addr.to_string(),
        })
    }

    /// GET `/?query`; returns (status, body).
    async fn get(&mut self, query: &str) -> anyhow::Result<(u16, Vec<u8>)> {
        let head = format!(
            "GET /?{query} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\n\r\n",
            self.host
        );
        self.io.write_all(head.as_bytes()).await?;
        self.io.flush().await?;
        let mut line = String::new();
        self.io.read_line(&mut line).await?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line {line:?}"))?;
        let mut len = 0usize;
        loop {
            line.clear();
            self.io.read_line(&mut line).await?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse()?;
            }
        }
        let mut body = vec![0u8; len];
        self.io.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

fn signed(creds: &Credentials, version: &str, action: &str, extra: &[(&str, &str)]) -> String {
    let mut p = BTreeMap::new();
    p.insert("Action".to_string(), action.to_string());
    p.insert("Version".to_string(), version.to_string());
    for (k, v) in extra {
        p.insert((*k).to_string(), (*v).to_string());
    }
    client::sign_v1(
        "GET",
        &mut p,
        creds,
        &format_iso8601(SystemClock.now()),
        &client::new_nonce(),
    );
    client::encode_query(&p)
}

async fn call(
    conn: &mut Conn,
    creds: &Credentials,
    version: &str,
    action: &str,
    extra: &[(&str, &str)],
) -> anyhow::Result<serde_json::Value> {
    let (status, body) = conn.get(&signed(creds, version, action, extra)).await?;
    let v: serde_json::Value = serde_json::from_slice(&body)?;
    if status != 200 {
        bail!("{action}: {status} {v}");
    }
    Ok(v)
}

struct Result_ {
    latencies_us: Vec<u64>,
    errors: usize,
    elapsed: Duration,
}

async fn drive(
    addr: &str,
    requests: Arc<Vec<String>>,
    concurrency: usize,
) -> anyhow::Result<Result_> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (next, requests, addr) = (next.clone(), requests.clone(), addr.to_string());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await?;
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(q) = requests.get(i) else { break };
                let t = Instant::now();
                match conn.get(q).await {
                    Ok((200, _)) => {}
                    Ok(_) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        conn = Conn::open(&addr).await?;
                    }
                }
                lat.push(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            anyhow::Ok((lat, errors))
        }));
    }
    let mut all = Result_ {
        latencies_us: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for t in tasks {
        let (lat, errors) = t.await??;
        all.latencies_us.extend(lat);
        all.errors += errors;
    }
    all.elapsed = started.elapsed();
    all.latencies_us.sort_unstable();
    Ok(all)
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(idx).copied().unwrap_or(0) as f64 / 1000.0
}

fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = match args.bin {
        Some(b) => b,
        None => std::env::current_exe()?.with_file_name("rambridge"),
    };
    let dir = tempfile_dir()?;
    let (server, root) = start(&bin, &dir, &args.database_url)?;
    let addr = server.addr.clone();
    let mut conn = Conn::open(&addr).await?;

    // Setup through the API.
    let metadata = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(shared("idp-metadata.xml"))?);
    let who = call(&mut conn, &root, "2015-04-01", "GetCallerIdentity", &[]).await?;
    let account = who["AccountId"].as_str().context("AccountId")?.to_string();
    call(
        &mut conn,
        &root,
        "2019-08-15",
        "CreateSAMLProvider",
        &[
            ("SAMLProviderName", "load-idp"),
            ("EncodedSAMLMetadataDocument", &metadata),
        ],
    )
    .await?;
    let provider = format!("acs:ram::{account}:saml-provider/load-idp");
    let acs = format!("http://{addr}/saml-role/sso");
    let trust = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"Federated":["{provider}"]}}}},{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{account}:root"]}}}}]}}"#
    );
    call(
        &mut conn,
        &root,
        "2015-05-01",
        "CreateRole",
        &[
            ("RoleName", "load-role"),
            ("AssumeRolePolicyDocument", &trust),
        ],
    )
    .await?;
    let role = format!("acs:ram::{account}:role/load-role");
    call(
        &mut conn,
        &root,
        "2015-05-01",
        "CreateUser",
        &[("UserName", "reader")],
    )
    .await?;
    let k = call(
        &mut conn,
        &root,
        "2015-05-01",
        "CreateAccessKey",
        &[("UserName", "reader")],
    )
    .await?;
    let reader = Credentials {
        access_key_id: k["AccessKey"]["AccessKeyId"].as_str().context("ak")?.into(),
        access_key_secret: k["AccessKey"]["AccessKeySecret"]
            .as_str()
            .context("sk")?
            .into(),
        security_token: None,
    };
    call(
        &mut conn,
        &root,
        "2015-05-01",
        "AttachPolicyToUser",
        &[
            ("PolicyType", "System"),
            ("PolicyName", "ReadOnlyAccess"),
            ("UserName", "reader"),
        ],
    )
    .await?;
    let s = call(
        &mut conn,
        &root,
        "2015-04-01",
        "AssumeRole",
        &[("RoleArn", &role), ("RoleSessionName", "load")],
    )
    .await?;
    let sts = Credentials {
        access_key_id: s["Credentials"]["AccessKeyId"]
            .as_str()
            .context("sts ak")?
            .into(),
        access_key_secret: s["Credentials"]["AccessKeySecret"]
            .as_str()
            .context("sts sk")?
            .into(),
        security_token: Some(
            s["Credentials"]["SecurityToken"]
                .as_str()
                .context("token")?
                .into(),
        ),
    };
    let key = SigningKey::from_pkcs8_pem(
        &std::fs::read_to_string(shared("idp-test-key.pem"))?,
        std::fs::read(shared("idp-test-cert.der"))?,
    )?;

    println!(
        "rambridge loadgen: server {addr}, database {}",
        args.database_url.as_deref().unwrap_or("sqlite (temp)")
    );
    println!(
        "| scenario | concurrency | requests | req/s | p50 ms | p99 ms | p99.9 ms | errors | server peak RSS MB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for scenario in &args.scenarios {
        for &c in &args.concurrency {
            let n = args.requests;
            let reqs: Vec<String> = match scenario.as_str() {
                "saml" => (0..n)
                    .map(|_| {
                        let b = ResponseBuilder::new(IDP, &acs, AUDIENCE, SystemClock.now())
                            .role(&role, &provider);
                        let xml = b.sign_assertion(&key).map_err(|e| anyhow!("{e}"))?;
                        let mut p = BTreeMap::new();
                        p.insert("Action".to_string(), "AssumeRoleWithSAML".to_string());
                        p.insert("Version".to_string(), "2015-04-01".to_string());
                        p.insert("SAMLProviderArn".to_string(), provider.clone());
                        p.insert("RoleArn".to_string(), role.clone());
                        p.insert(
                            "SAMLAssertion".to_string(),
                            base64::engine::general_purpose::STANDARD.encode(xml),
                        );
                        anyhow::Ok(client::encode_query(&p))
                    })
                    .collect::<Result<_, _>>()?,
                "sts-caller" => (0..n)
                    .map(|_| signed(&sts, "2015-04-01", "GetCallerIdentity", &[]))
                    .collect(),
                "ram-getuser" => (0..n)
                    .map(|_| signed(&reader, "2015-05-01", "GetUser", &[("UserName", "reader")]))
                    .collect(),
                other => bail!("unknown scenario {other}"),
            };
            let r = drive(&addr, Arc::new(reqs), c).await?;
            println!(
                "| {scenario} | {c} | {n} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.1} |",
                n as f64 / r.elapsed.as_secs_f64(),
                pct(&r.latencies_us, 0.50),
                pct(&r.latencies_us, 0.99),
                pct(&r.latencies_us, 0.999),
                r.errors,
                peak_rss_mb(server.child.id()),
            );
        }
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let d = std::env::temp_dir().join(format!(
        "rambridge-loadgen-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
