//! Load generator for rambridge (docs/performance.md). Starts the real `rambridge serve` on
//! loopback (SQLite in a temp dir by default, or `--database-url postgres://...`), prepares an
//! account, the test SAML provider and a role, a RAM user and STS credentials through the API,
//! pre-generates distinct signed requests (assertions are refused when replayed, nonces too),
//! then drives fixed concurrency levels over keep-alive HTTP/1.1 connections and prints, per
//! scenario and level: requests, throughput, p50/p99/p99.9 latency, errors, and the server's
//! peak RSS (VmHWM). `--soak SECONDS` instead runs signed calls (and a trickle of SAML logins)
//! for that long and samples the server's RSS every few seconds.
//!
//! The client is deliberately light, because it shares the machine's cores with the server:
//! one thread, requests pre-built as bytes, a minimal HTTP/1.1 response reader.
//! Only 127.0.0.1 is ever contacted; every loop is bounded by `--requests` or `--soak`.
//!
//! `cargo run --release --bin loadgen -- --requests 10000 --concurrency 1,16,64`
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use clap::Parser;
use rambridge::client::{self, Credentials};
use rambridge::clock::{Clock as _, SystemClock, format_iso8601};
use rambridge::saml::test_idp::ResponseBuilder;
use rambridge::xmldsig::SigningKey;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
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
    /// Soak mode: run GetCallerIdentity (STS credentials) at the highest concurrency level
    /// plus `--soak-saml-per-second` AssumeRoleWithSAML logins for this many seconds,
    /// sampling the server's RSS every `--sample-seconds`.
    #[arg(long)]
    soak: Option<u64>,
    /// SAML logins per second during a soak (assertions are signed while it runs).
    #[arg(long, default_value_t = 100)]
    soak_saml_per_second: u64,
    /// RSS sampling interval during a soak.
    #[arg(long, default_value_t = 5)]
    sample_seconds: u64,
    /// Also append one JSON object per result line to this file (for scripts/bench).
    #[arg(long)]
    json: Option<PathBuf>,
    /// A label for the database column of the JSON lines [default: sqlite or postgres].
    #[arg(long)]
    label: Option<String>,
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

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM (graceful shutdown, lets profilers write their output), then SIGKILL if needed.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
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
        .with_context(|| format!("expected a 'listening on' line, got {line:?}"))?
        .to_string();
    Ok((Server { child, addr }, creds))
}

/// One keep-alive HTTP/1.1 connection with a reusable read buffer.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: &str) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends one pre-built request; returns the status and the body's range in `self.buf`.
    async fn send(&mut self, request: &[u8]) -> anyhow::Result<(u16, std::ops::Range<usize>)> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.read_more().await? == 0 {
                bail!("connection closed before the response head");
            }
        };
        let head = std::str::from_utf8(&self.buf[..head_end])?;
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line in {head:?}"))?;
        let len = head
            .split("\r\n")
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .ok_or_else(|| anyhow!("no Content-Length in {head:?}"))?;
        while self.buf.len() < head_end + len {
            if self.read_more().await? == 0 {
                bail!("connection closed inside the body");
            }
        }
        Ok((status, head_end..head_end + len))
    }

    async fn read_more(&mut self) -> anyhow::Result<usize> {
        let at = self.buf.len();
        self.buf.resize(at + 16 * 1024, 0);
        let n = self.stream.read(&mut self.buf[at..]).await?;
        self.buf.truncate(at + n);
        Ok(n)
    }

    async fn json(&mut self, request: &[u8]) -> anyhow::Result<(u16, serde_json::Value)> {
        let (status, body) = self.send(request).await?;
        Ok((status, serde_json::from_slice(&self.buf[body])?))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn get_request(host: &str, query: &str) -> Vec<u8> {
    format!("GET /?{query} HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes()
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
    host: &str,
    creds: &Credentials,
    version: &str,
    action: &str,
    extra: &[(&str, &str)],
) -> anyhow::Result<serde_json::Value> {
    let (status, v) = conn
        .json(&get_request(host, &signed(creds, version, action, extra)))
        .await?;
    if status != 200 {
        bail!("{action}: {status} {v}");
    }
    Ok(v)
}

/// Latencies and errors of one run.
struct Run {
    latencies_us: Vec<u32>,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
}

/// Sends every request of `requests` once over `concurrency` connections (one thread).
async fn drive(addr: &str, requests: Rc<Vec<Vec<u8>>>, concurrency: usize) -> anyhow::Result<Run> {
    let next = Rc::new(Cell::new(0usize));
    let local = tokio::task::LocalSet::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (next, requests, addr) = (next.clone(), requests.clone(), addr.to_string());
        tasks.push(local.spawn_local(async move {
            let mut conn = Conn::open(&addr).await?;
            let mut lat = Vec::with_capacity(requests.len() / concurrency.max(1) + 1);
            let (mut errors, mut first_error) = (0usize, None);
            loop {
                let i = next.get();
                next.set(i + 1);
                let Some(q) = requests.get(i) else { break };
                let t = Instant::now();
                match conn.send(q).await {
                    Ok((200, _)) => {}
                    Ok((status, body)) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| {
                            format!(
                                "{status} {}",
                                String::from_utf8_lossy(conn.buf.get(body).unwrap_or(&[]))
                            )
                        });
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| e.to_string());
                        conn = Conn::open(&addr).await?;
                    }
                }
                lat.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
            anyhow::Ok((lat, errors, first_error))
        }));
    }
    let mut all = Run {
        latencies_us: Vec::with_capacity(requests.len()),
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
    };
    local
        .run_until(async {
            for t in tasks {
                let (lat, errors, first) = t.await??;
                all.latencies_us.extend(lat);
                all.errors += errors;
                if all.first_error.is_none() {
                    all.first_error = first;
                }
            }
            anyhow::Ok(())
        })
        .await?;
    all.elapsed = started.elapsed();
    all.latencies_us.sort_unstable();
    Ok(all)
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted.get(idx).copied().unwrap_or(0)) / 1000.0
}

fn status_kb(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
}

fn peak_rss_mb(pid: u32) -> f64 {
    status_kb(pid, "VmHWM:") / 1024.0
}

fn rss_mb(pid: u32) -> f64 {
    status_kb(pid, "VmRSS:") / 1024.0
}

/// Everything the scenarios need, set up through the API.
struct Setup {
    host: String,
    provider: String,
    role: String,
    acs: String,
    sts: Credentials,
    reader: Credentials,
    key: SigningKey,
}

async fn setup(addr: &str, root: &Credentials) -> anyhow::Result<Setup> {
    let mut conn = Conn::open(addr).await?;
    let h = addr;
    let metadata = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(shared("idp-metadata.xml"))?);
    let who = call(&mut conn, h, root, "2015-04-01", "GetCallerIdentity", &[]).await?;
    let account = who["AccountId"].as_str().context("AccountId")?.to_string();
    call(
        &mut conn,
        h,
        root,
        "2019-08-15",
        "CreateSAMLProvider",
        &[
            ("SAMLProviderName", "load-idp"),
            ("EncodedSAMLMetadataDocument", &metadata),
        ],
    )
    .await?;
    let provider = format!("acs:ram::{account}:saml-provider/load-idp");
    let trust = format!(
        r#"{{"Version":"1","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"Federated":["{provider}"]}}}},{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"RAM":["acs:ram::{account}:root"]}}}}]}}"#
    );
    call(
        &mut conn,
        h,
        root,
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
        h,
        root,
        "2015-05-01",
        "CreateUser",
        &[("UserName", "reader")],
    )
    .await?;
    let k = call(
        &mut conn,
        h,
        root,
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
        h,
        root,
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
        h,
        root,
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
    Ok(Setup {
        host: addr.to_string(),
        acs: format!("http://{addr}/saml-role/sso"),
        provider,
        role,
        sts,
        reader,
        key,
    })
}

/// A freshly signed AssumeRoleWithSAML request: a distinct assertion shaped like the shared
/// 8 KB fixture (Role, RoleSessionName, SessionDuration and eight ordinary attributes).
fn saml_request(s: &Setup) -> anyhow::Result<Vec<u8>> {
    let b = ResponseBuilder::new(IDP, &s.acs, AUDIENCE, SystemClock.now())
        .role(&s.role, &s.provider)
        .attribute(
            "https://www.aliyun.com/SAML-Role/Attributes/SessionDuration",
            &["3600"],
        )
        .attribute("email", &["alice.chen@example.test"])
        .attribute("givenName", &["Alice"])
        .attribute("surname", &["Chen"])
        .attribute("displayName", &["Alice Chen"])
        .attribute("upn", &["alice.chen@corp.example.test"])
        .attribute(
            "groups",
            &[
                "engineering",
                "platform",
                "oncall",
                "readers",
                "sso-users",
                "vpn",
            ],
        )
        .attribute("urn:oid:2.16.840.1.113730.3.1.3", &["E-004217"])
        .attribute("department", &["Platform Engineering"]);
    let xml = b.sign_assertion(&s.key).map_err(|e| anyhow!("{e}"))?;
    let mut p = BTreeMap::new();
    p.insert("Action".to_string(), "AssumeRoleWithSAML".to_string());
    p.insert("Version".to_string(), "2015-04-01".to_string());
    p.insert("SAMLProviderArn".to_string(), s.provider.clone());
    p.insert("RoleArn".to_string(), s.role.clone());
    p.insert(
        "SAMLAssertion".to_string(),
        base64::engine::general_purpose::STANDARD.encode(xml),
    );
    Ok(get_request(&s.host, &client::encode_query(&p)))
}

fn build(s: &Setup, scenario: &str, n: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    Ok(match scenario {
        // RSA signing dominates: spread it over the machine's cores.
        "saml" => {
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
            let per = n.div_ceil(threads);
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let count = per.min(n.saturating_sub(t * per));
                        scope.spawn(move || {
                            (0..count)
                                .map(|_| saml_request(s))
                                .collect::<anyhow::Result<Vec<_>>>()
                        })
                    })
                    .collect();
                let mut all = Vec::with_capacity(n);
                for h in handles {
                    all.extend(h.join().map_err(|_| anyhow!("signing thread panicked"))??);
                }
                anyhow::Ok(all)
            })?
        }
        "sts-caller" => (0..n)
            .map(|_| {
                get_request(
                    &s.host,
                    &signed(&s.sts, "2015-04-01", "GetCallerIdentity", &[]),
                )
            })
            .collect(),
        "ram-getuser" => (0..n)
            .map(|_| {
                get_request(
                    &s.host,
                    &signed(
                        &s.reader,
                        "2015-05-01",
                        "GetUser",
                        &[("UserName", "reader")],
                    ),
                )
            })
            .collect(),
        other => bail!("unknown scenario {other} (saml, sts-caller, ram-getuser)"),
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let bin = match &args.bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()?.with_file_name("rambridge"),
    };
    let dir = tempfile_dir()?;
    let (server, root) = start(&bin, &dir, &args.database_url)?;
    let addr = server.addr.clone();
    let s = setup(&addr, &root).await?;
    let label = args.label.clone().unwrap_or_else(|| {
        if args.database_url.is_some() {
            "postgres".into()
        } else {
            "sqlite".into()
        }
    });
    let mut json = match &args.json {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("opening {}", p.display()))?,
        ),
        None => None,
    };
    let result = match args.soak {
        Some(seconds) => soak(&args, &s, &server, seconds, &label, &mut json).await,
        None => levels(&args, &s, &server, &label, &mut json).await,
    };
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn levels(
    args: &Args,
    s: &Setup,
    server: &Server,
    label: &str,
    json: &mut Option<std::fs::File>,
) -> anyhow::Result<()> {
    println!(
        "rambridge loadgen: server {}, database {label}, {} requests per level",
        server.addr, args.requests
    );
    println!(
        "| database | scenario | concurrency | requests | req/s | p50 ms | p99 ms | p99.9 ms | errors | server peak RSS MB |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut failed = false;
    for scenario in &args.scenarios {
        for &c in &args.concurrency {
            let reqs = Rc::new(build(s, scenario, args.requests)?);
            let r = drive(&server.addr, reqs, c).await?;
            let rps = args.requests as f64 / r.elapsed.as_secs_f64();
            let rss = peak_rss_mb(server.pid());
            println!(
                "| {label} | {scenario} | {c} | {} | {rps:.0} | {:.2} | {:.2} | {:.2} | {} | {rss:.1} |",
                args.requests,
                pct(&r.latencies_us, 0.50),
                pct(&r.latencies_us, 0.99),
                pct(&r.latencies_us, 0.999),
                r.errors,
            );
            if let Some(e) = &r.first_error {
                eprintln!("first error ({scenario}, concurrency {c}): {e}");
                failed = true;
            }
            if let Some(f) = json.as_mut() {
                writeln!(
                    f,
                    "{}",
                    serde_json::json!({
                        "kind": "load", "database": label, "scenario": scenario,
                        "concurrency": c, "requests": args.requests, "rps": rps,
                        "p50_ms": pct(&r.latencies_us, 0.50), "p99_ms": pct(&r.latencies_us, 0.99),
                        "p999_ms": pct(&r.latencies_us, 0.999), "errors": r.errors,
                        "peak_rss_mb": rss,
                    })
                )?;
            }
        }
    }
    if failed {
        bail!("some requests failed (see above)");
    }
    Ok(())
}

/// Soak: signed calls at the highest concurrency level, SAML logins at a fixed rate, RSS
/// sampled every `sample_seconds`, for `seconds`.
async fn soak(
    args: &Args,
    s: &Setup,
    server: &Server,
    seconds: u64,
    label: &str,
    json: &mut Option<std::fs::File>,
) -> anyhow::Result<()> {
    let concurrency = args.concurrency.iter().copied().max().unwrap_or(64);
    let end = Instant::now() + Duration::from_secs(seconds);
    let done = Rc::new(Cell::new(0usize));
    let errors = Rc::new(Cell::new(0usize));
    let saml_done = Rc::new(Cell::new(0usize));
    let local = tokio::task::LocalSet::new();
    println!(
        "rambridge loadgen soak: server {}, database {label}, {seconds} s, GetCallerIdentity at concurrency {concurrency} + {} SAML logins/s",
        server.addr, args.soak_saml_per_second
    );
    let mut samples: Vec<(f64, f64)> = Vec::new();
    let started = Instant::now();
    local
        .run_until(async {
            let mut tasks = Vec::new();
            for _ in 0..concurrency {
                let (done, errors, addr) = (done.clone(), errors.clone(), server.addr.clone());
                let sts = s.sts.clone();
                let host = s.host.clone();
                tasks.push(tokio::task::spawn_local(async move {
                    let mut conn = Conn::open(&addr).await?;
                    while Instant::now() < end {
                        let q = get_request(
                            &host,
                            &signed(&sts, "2015-04-01", "GetCallerIdentity", &[]),
                        );
                        match conn.send(&q).await {
                            Ok((200, _)) => done.set(done.get() + 1),
                            Ok(_) => errors.set(errors.get() + 1),
                            Err(_) => {
                                errors.set(errors.get() + 1);
                                conn = Conn::open(&addr).await?;
                            }
                        }
                    }
                    anyhow::Ok(())
                }));
            }
            // SAML logins at a fixed rate; assertions are signed on a helper thread.
            let rate = args.soak_saml_per_second;
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(256);
            let signer = {
                let s2 = Setup {
                    host: s.host.clone(),
                    provider: s.provider.clone(),
                    role: s.role.clone(),
                    acs: s.acs.clone(),
                    sts: s.sts.clone(),
                    reader: s.reader.clone(),
                    key: SigningKey::from_pkcs8_pem(
                        &std::fs::read_to_string(shared("idp-test-key.pem"))?,
                        std::fs::read(shared("idp-test-cert.der"))?,
                    )?,
                };
                std::thread::spawn(move || {
                    while Instant::now() < end {
                        let Ok(q) = saml_request(&s2) else { break };
                        if tx.blocking_send(q).is_err() {
                            break;
                        }
                    }
                })
            };
            if rate > 0 {
                let (saml_done, errors, addr) =
                    (saml_done.clone(), errors.clone(), server.addr.clone());
                tasks.push(tokio::task::spawn_local(async move {
                    let mut conn = Conn::open(&addr).await?;
                    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
                    while Instant::now() < end {
                        tick.tick().await;
                        let Some(q) = rx.recv().await else { break };
                        match conn.send(&q).await {
                            Ok((200, _)) => saml_done.set(saml_done.get() + 1),
                            Ok(_) => errors.set(errors.get() + 1),
                            Err(_) => {
                                errors.set(errors.get() + 1);
                                conn = Conn::open(&addr).await?;
                            }
                        }
                    }
                    anyhow::Ok(())
                }));
            }
            let mut last = (Instant::now(), 0usize);
            while Instant::now() < end {
                tokio::time::sleep(Duration::from_secs(args.sample_seconds)).await;
                let t = started.elapsed().as_secs_f64();
                let rss = rss_mb(server.pid());
                let now = (Instant::now(), done.get());
                let rps = (now.1 - last.1) as f64 / now.0.duration_since(last.0).as_secs_f64();
                last = now;
                samples.push((t, rss));
                println!(
                    "t={t:6.1}s  RSS {rss:6.1} MB  GetCallerIdentity {rps:7.0} req/s  SAML {}  errors {}",
                    saml_done.get(),
                    errors.get()
                );
            }
            for t in tasks {
                t.await??;
            }
            let _ = signer.join();
            anyhow::Ok(())
        })
        .await?;
    let first = samples.first().map_or(0.0, |s| s.1);
    let last = samples.last().map_or(0.0, |s| s.1);
    let peak = samples.iter().map(|s| s.1).fold(0.0, f64::max);
    let (warm, slope) = after_warm_up(&samples);
    let hwm = peak_rss_mb(server.pid());
    let total = started.elapsed().as_secs_f64();
    println!(
        "soak {label}: {:.0} s, {} signed calls ({:.0}/s), {} SAML logins, {} errors; RSS first {first:.1} MB, after {WARM_UP_SECONDS:.0} s warm-up {warm:.1} MB, last {last:.1} MB, trend after warm-up {slope:+.2} MB/min, peak sample {peak:.1} MB, VmHWM {hwm:.1} MB",
        total,
        done.get(),
        done.get() as f64 / total,
        saml_done.get(),
        errors.get()
    );
    if let Some(f) = json.as_mut() {
        writeln!(
            f,
            "{}",
            serde_json::json!({
                "kind": "soak", "database": label, "seconds": total, "calls": done.get(),
                "saml": saml_done.get(), "errors": errors.get(), "rss_first_mb": first,
                "rss_last_mb": last, "rss_peak_mb": peak, "vmhwm_mb": hwm,
                "warm_up_seconds": WARM_UP_SECONDS, "rss_warm_mb": warm,
                "rss_trend_mb_per_min": slope,
            })
        )?;
    }
    if errors.get() > 0 {
        bail!("{} requests failed during the soak", errors.get());
    }
    Ok(())
}

/// The first minute of a soak fills what is meant to fill (connection pools, SQLite's page
/// caches, the server's caches); growth is measured from its end.
const WARM_UP_SECONDS: f64 = 60.0;

/// From `(seconds, RSS MB)` samples: the RSS of the first sample at or after the warm-up (the
/// first sample if the soak is shorter), and the least-squares trend of the samples from there
/// on, in MB per minute (0 with fewer than two).
fn after_warm_up(samples: &[(f64, f64)]) -> (f64, f64) {
    let from = samples
        .iter()
        .position(|s| s.0 >= WARM_UP_SECONDS)
        .unwrap_or(0);
    let rest = samples.get(from..).unwrap_or_default();
    let warm = rest.first().map_or(0.0, |s| s.1);
    let n = rest.len() as f64;
    if rest.len() < 2 {
        return (warm, 0.0);
    }
    let (mt, mr) = (
        rest.iter().map(|s| s.0).sum::<f64>() / n,
        rest.iter().map(|s| s.1).sum::<f64>() / n,
    );
    let cov: f64 = rest.iter().map(|s| (s.0 - mt) * (s.1 - mr)).sum();
    let var: f64 = rest.iter().map(|s| (s.0 - mt).powi(2)).sum();
    (warm, if var > 0.0 { cov / var * 60.0 } else { 0.0 })
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let d = std::env::temp_dir().join(format!(
        "rambridge-loadgen-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::after_warm_up;

    #[test]
    fn growth_is_measured_after_the_warm_up() {
        // 30 MB at the start, 44 MB by 60 s, then one MB a minute.
        let samples: Vec<(f64, f64)> = (1..=20)
            .map(|i| {
                let t = f64::from(i) * 30.0;
                (
                    t,
                    if t < 60.0 {
                        30.0
                    } else {
                        44.0 + (t - 60.0) / 60.0
                    },
                )
            })
            .collect();
        let (warm, trend) = after_warm_up(&samples);
        assert_eq!(warm, 44.0);
        assert!((trend - 1.0).abs() < 1e-9, "{trend}");
        // Flat after the warm-up: no trend.
        let flat: Vec<(f64, f64)> = (1..=20).map(|i| (f64::from(i) * 30.0, 50.0)).collect();
        assert_eq!(after_warm_up(&flat), (50.0, 0.0));
        // A soak shorter than the warm-up measures from its first sample.
        assert_eq!(after_warm_up(&[(5.0, 31.0), (10.0, 33.0)]).0, 31.0);
        assert_eq!(after_warm_up(&[]), (0.0, 0.0));
    }
}
