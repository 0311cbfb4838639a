//! Raw-TCP tests against a real server on 127.0.0.1, plus unit tests of the pieces.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::routing::{any, get};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::*;

const STEP: Duration = Duration::from_secs(10);

/// Echoes what the RPC handler would see.
async fn echo(ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request) -> axum::Json<Value> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let effective = match effective_query(&parts, &bytes) {
        Ok((query, rest)) => json!({
            "query": query,
            "rest": String::from_utf8_lossy(rest),
        }),
        Err(err) => json!({ "error": format!("{err:?}") }),
    };
    axum::Json(json!({
        "method": parts.method.as_str(),
        "uri": parts.uri.to_string(),
        "marker": parts.headers.contains_key(QUERY_IN_BODY_HEADER),
        "content_length": header("content-length"),
        "x_acs": header("x-acs-signature-nonce"),
        "raw_body": String::from_utf8_lossy(&bytes),
        "peer": peer.to_string(),
        "effective": effective,
    }))
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(600)).await;
    "slow done"
}

fn app() -> Router {
    Router::new()
        .route("/", any(echo))
        .route("/slow", get(slow))
        .route("/x/{*rest}", any(echo))
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

async fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, app(), async {
        let _ = rx.await;
    }));
    Server {
        addr,
        stop: Some(tx),
        task,
    }
}

struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: Option<OwnedWriteHalf>,
    local: SocketAddr,
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.unwrap();
        let local = stream.local_addr().unwrap();
        let (r, w) = stream.into_split();
        Client {
            reader: BufReader::new(r),
            writer: Some(w),
            local,
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        let writer = self.writer.as_mut().unwrap();
        tokio::time::timeout(STEP, writer.write_all(bytes))
            .await
            .unwrap()
            .unwrap();
    }

    async fn response(&mut self) -> Resp {
        tokio::time::timeout(STEP, self.read_response())
            .await
            .expect("response timed out")
    }

    async fn read_response(&mut self) -> Resp {
        let mut line = String::new();
        self.reader.read_line(&mut line).await.unwrap();
        let status: u16 = line
            .split(' ')
            .nth(1)
            .unwrap_or_else(|| panic!("bad status line {line:?}"))
            .parse()
            .unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).await.unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (n, v) = l.split_once(':').unwrap();
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
        let len: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().unwrap())
            .expect("responses here have a Content-Length");
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).await.unwrap();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// The server closed the connection (EOF, or a reset after it).
    async fn closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(STEP, self.reader.read(&mut byte)).await,
            Ok(Ok(0) | Err(_))
        )
    }
}

/// A query like the SDK's for `CreateSAMLProvider` with `len` bytes of metadata.
fn long_query(len: usize) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut doc = String::with_capacity(len);
    for i in 0..len {
        if i % 97 == 96 {
            doc.push_str("%2B");
        } else {
            doc.push(char::from(alphabet[i % alphabet.len()]));
        }
    }
    format!(
        "Action=CreateSAMLProvider&Format=JSON&SAMLProviderName=adfs&SAMLMetadataDocument={doc}"
    )
}

fn bodiless(method: &str, target: &str) -> Vec<u8> {
    format!(
        "{method} {target} HTTP/1.1\r\nHost: ims.aliyuncs.com\r\nx-acs-signature-nonce: n1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn assert_moved(resp: &Resp, method: &str, query: &str) {
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let v = resp.json();
    assert_eq!(v["method"], method);
    assert_eq!(v["uri"], format!("/?{LONG_QUERY_MARKER}"));
    assert_eq!(v["marker"], true);
    assert_eq!(v["content_length"], query.len().to_string());
    assert_eq!(v["x_acs"], "n1", "other headers are kept");
    assert_eq!(v["effective"]["query"], query);
    assert_eq!(v["effective"]["rest"], "");
}

fn assert_short(resp: &Resp, query: &str, body: &str) {
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let v = resp.json();
    assert_eq!(v["marker"], false);
    assert_eq!(v["effective"]["query"], query);
    assert_eq!(v["effective"]["rest"], body);
}

fn assert_envelope(resp: &Resp, status: u16, code: &str) {
    assert_eq!(
        resp.status,
        status,
        "{}",
        String::from_utf8_lossy(&resp.body)
    );
    assert_eq!(resp.header("content-type"), Some(JSON_CONTENT_TYPE));
    assert_eq!(resp.header("connection"), Some("close"));
    let v = resp.json();
    assert_eq!(v["Code"], code);
    assert_eq!(v["HostId"], "rambridge");
    let rid = v["RequestId"].as_str().unwrap();
    assert_eq!(rid.len(), 36);
    assert_eq!(rid, rid.to_uppercase());
    assert_eq!(resp.header("x-acs-request-id"), Some(rid));
    assert!(v["Message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn long_post_query_moves_into_the_body() {
    let server = start().await;
    let query = long_query(130_000);
    let mut c = Client::connect(server.addr).await;
    c.send(&bodiless("POST", &format!("/?{query}"))).await;
    assert_moved(&c.response().await, "POST", &query);
}

#[tokio::test]
async fn long_get_query_moves_into_the_body() {
    let server = start().await;
    let query = long_query(100_000);
    let mut c = Client::connect(server.addr).await;
    // Without any Content-Length this time.
    c.send(
        format!("GET /?{query} HTTP/1.1\r\nHost: h\r\nx-acs-signature-nonce: n1\r\n\r\n")
            .as_bytes(),
    )
    .await;
    assert_moved(&c.response().await, "GET", &query);
}

#[tokio::test]
async fn long_query_keeps_its_path() {
    let server = start().await;
    let query = long_query(70_000);
    let mut c = Client::connect(server.addr).await;
    c.send(&bodiless("POST", &format!("/x/y?{query}"))).await;
    let resp = c.response().await;
    let v = resp.json();
    assert_eq!(v["uri"], format!("/x/y?{LONG_QUERY_MARKER}"));
    assert_eq!(v["effective"]["query"], query);
}

#[tokio::test]
async fn keep_alive_long_short_long() {
    let server = start().await;
    let (q1, q3) = (long_query(120_000), long_query(65_600));
    let mut c = Client::connect(server.addr).await;
    c.send(&bodiless("POST", &format!("/?{q1}"))).await;
    assert_moved(&c.response().await, "POST", &q1);
    c.send(b"POST /?Action=GetUser HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab=cd")
        .await;
    assert_short(&c.response().await, "Action=GetUser", "ab=cd");
    c.send(&bodiless("GET", &format!("/?{q3}"))).await;
    assert_moved(&c.response().await, "GET", &q3);
}

#[tokio::test]
async fn pipelined_in_one_write() {
    let server = start().await;
    let (q1, q3) = (long_query(90_000), long_query(130_000));
    let mut all = bodiless("POST", &format!("/?{q1}"));
    all.extend_from_slice(b"POST /?short=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nx=y");
    all.extend_from_slice(b"\r\n"); // a stray blank line between requests is allowed
    all.extend(bodiless("GET", &format!("/?{q3}")));
    all.extend_from_slice(b"GET /?last=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    let mut c = Client::connect(server.addr).await;
    c.send(&all).await;
    assert_moved(&c.response().await, "POST", &q1);
    assert_short(&c.response().await, "short=1", "x=y");
    assert_moved(&c.response().await, "GET", &q3);
    assert_short(&c.response().await, "last=1", "");
}

#[tokio::test]
async fn dribbled_bytes_are_reassembled() {
    let server = start().await;
    let query = long_query(80_000);
    let mut all = bodiless("POST", &format!("/?{query}"));
    all.extend_from_slice(b"PUT /?b=2 HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789");
    let mut c = Client::connect(server.addr).await;
    // Odd-sized pieces, so that CRLFs and the head's end get split.
    for piece in all.chunks(7_919) {
        c.send(piece).await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_moved(&c.response().await, "POST", &query);
    assert_short(&c.response().await, "b=2", "0123456789");
}

#[tokio::test]
async fn fake_marker_is_stripped() {
    let server = start().await;
    let mut c = Client::connect(server.addr).await;
    c.send(
        format!(
            "POST /?a=1 HTTP/1.1\r\nHost: h\r\nX-Rambridge-Query-In-Body: 1\r\n{QUERY_IN_BODY_HEADER}: {}\r\n{REJECT_HEADER}: {} line-too-long\r\nContent-Length: 7\r\n\r\nb=2&c=3",
            query_in_body_marker(),
            query_in_body_marker()
        )
        .as_bytes(),
    )
    .await;
    let resp = c.response().await;
    assert_short(&resp, "a=1", "b=2&c=3");
    assert_eq!(resp.json()["content_length"], "7");
}

#[tokio::test]
async fn long_query_with_a_body_is_refused() {
    let server = start().await;
    let query = long_query(70_000);
    let mut c = Client::connect(server.addr).await;
    c.send(
        format!("POST /?{query} HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\na=b").as_bytes(),
    )
    .await;
    assert_envelope(&c.response().await, 414, "RequestLineTooLong");
    assert!(c.closed().await);
}

#[tokio::test]
async fn refusal_waits_for_earlier_pipelined_requests() {
    let server = start().await;
    let mut all =
        b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /?first=1 HTTP/1.1\r\nHost: h\r\n\r\n".to_vec();
    all.extend_from_slice(
        format!(
            "POST /?{} HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx",
            long_query(70_000)
        )
        .as_bytes(),
    );
    all.extend_from_slice(b"GET /?never=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    let mut c = Client::connect(server.addr).await;
    c.send(&all).await;
    let slow = c.response().await;
    assert_eq!(slow.body, b"slow done");
    assert_short(&c.response().await, "first=1", "");
    assert_envelope(&c.response().await, 414, "RequestLineTooLong");
    assert!(c.closed().await);
}

#[tokio::test]
async fn long_query_with_chunked_body_is_refused() {
    let server = start().await;
    let query = long_query(70_000);
    let mut c = Client::connect(server.addr).await;
    c.send(
        format!("POST /?{query} HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\na=b\r\n0\r\n\r\n")
            .as_bytes(),
    )
    .await;
    assert_envelope(&c.response().await, 414, "RequestLineTooLong");
    assert!(c.closed().await);
}

#[tokio::test]
async fn long_path_is_refused() {
    let server = start().await;
    let path = "/x/".to_string() + &"p".repeat(70_000);
    let mut c = Client::connect(server.addr).await;
    c.send(&bodiless("GET", &path)).await;
    assert_envelope(&c.response().await, 414, "RequestLineTooLong");
    assert!(c.closed().await);
}

#[tokio::test]
async fn request_line_over_the_limit_is_refused_and_server_lives_on() {
    let server = start().await;
    let query = long_query(MAX_REQUEST_LINE + 200_000);
    let mut c = Client::connect(server.addr).await;
    // The client writes its whole request while the server answers (it may stop reading).
    let mut writer = c.writer.take().unwrap();
    let request = bodiless("POST", &format!("/?{query}"));
    let writing = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        writer
    });
    assert_envelope(&c.response().await, 414, "RequestLineTooLong");
    assert!(c.closed().await);
    drop(tokio::time::timeout(STEP, writing).await.unwrap());

    let mut again = Client::connect(server.addr).await;
    again
        .send(b"GET /?after=1 HTTP/1.1\r\nHost: h\r\n\r\n")
        .await;
    assert_short(&again.response().await, "after=1", "");
}

#[tokio::test]
async fn request_line_exactly_at_the_limit_is_accepted() {
    let server = start().await;
    let prefix = "POST /?";
    let suffix = " HTTP/1.1";
    let filler = MAX_REQUEST_LINE - prefix.len() - suffix.len() - "a=".len();
    let query = format!("a={}", "z".repeat(filler));
    let mut c = Client::connect(server.addr).await;
    let req = bodiless("POST", &format!("/?{query}"));
    assert_eq!(req.iter().position(|&b| b == b'\r'), Some(MAX_REQUEST_LINE));
    c.send(&req).await;
    assert_moved(&c.response().await, "POST", &query);
}

#[tokio::test]
async fn huge_head_after_long_line_is_refused() {
    let server = start().await;
    let query = long_query(70_000);
    let mut head = format!("GET /?{query} HTTP/1.1\r\nHost: h\r\n");
    for i in 0..100 {
        head.push_str(&format!("x-filler-{i}: {}\r\n", "v".repeat(1_000)));
    }
    head.push_str("\r\n");
    let mut c = Client::connect(server.addr).await;
    c.send(head.as_bytes()).await;
    assert_envelope(&c.response().await, 431, "RequestHeaderFieldsTooLarge");
    assert!(c.closed().await);
}

#[tokio::test]
async fn short_request_with_body_passes_unchanged() {
    let server = start().await;
    let mut c = Client::connect(server.addr).await;
    c.send(b"POST /?Action=ListUsers&Version=2015-05-01 HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 23\r\n\r\nMarker=abc&MaxItems=100")
        .await;
    let resp = c.response().await;
    assert_short(
        &resp,
        "Action=ListUsers&Version=2015-05-01",
        "Marker=abc&MaxItems=100",
    );
    assert_eq!(resp.json()["content_length"], "23");
    assert_eq!(resp.json()["raw_body"], "Marker=abc&MaxItems=100");
}

#[tokio::test]
async fn chunked_request_passes_and_ends_inspection() {
    let server = start().await;
    let mut c = Client::connect(server.addr).await;
    c.send(b"POST /?c=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        .await;
    assert_short(&c.response().await, "c=1", "hello world");

    // Documented limit: the rest of the connection is not inspected, so a forged marker gets
    // through the adapter, but its token is wrong, so effective_query refuses it...
    c.send(b"GET /?d=1 HTTP/1.1\r\nHost: h\r\nx-rambridge-query-in-body: 1\r\n\r\n")
        .await;
    let v = c.response().await.json();
    assert_eq!(v["marker"], true);
    assert_eq!(v["effective"]["error"], "ForgedMarker");

    // ...and a long target is no longer rewritten: hyper answers it itself.
    c.send(&bodiless("GET", &format!("/?{}", long_query(70_000))))
        .await;
    let resp = c.response().await;
    assert_eq!(resp.status, 414);
    assert_ne!(resp.header("content-type"), Some(JSON_CONTENT_TYPE));
}

#[tokio::test]
async fn connect_info_is_available() {
    let server = start().await;
    let mut c = Client::connect(server.addr).await;
    c.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").await;
    let resp = c.response().await;
    assert_eq!(resp.json()["peer"], c.local.to_string());
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_request() {
    let mut server = start().await;
    let mut c = Client::connect(server.addr).await;
    c.send(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n").await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.stop.take().unwrap().send(()).unwrap();
    let resp = c.response().await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, b"slow done");
    assert!(
        c.closed().await,
        "keep-alive connection closed after shutdown"
    );
    tokio::time::timeout(STEP, server.task)
        .await
        .unwrap()
        .unwrap();
    // No longer accepting.
    assert!(TcpStream::connect(server.addr).await.is_err());
}

#[test]
fn effective_query_without_marker_is_the_uri_query() {
    let (parts, ()) = Request::builder()
        .uri("/?a=1&b=2")
        .body(())
        .unwrap()
        .into_parts();
    assert_eq!(
        effective_query(&parts, b"c=3"),
        Ok((Some("a=1&b=2"), &b"c=3"[..]))
    );
    let (parts, ()) = Request::builder().uri("/").body(()).unwrap().into_parts();
    assert_eq!(effective_query(&parts, b""), Ok((None, &b""[..])));
}

#[test]
fn effective_query_checks_the_marker() {
    let with = |value: &str, body: &'static [u8]| {
        let (parts, ()) = Request::builder()
            .uri(format!("/?{LONG_QUERY_MARKER}"))
            .header(QUERY_IN_BODY_HEADER, value)
            .body(())
            .unwrap()
            .into_parts();
        effective_query(&parts, body).map(|(q, rest)| (q.map(str::to_owned), rest.to_vec()))
    };
    assert_eq!(
        with(query_in_body_marker(), b"a=1&b=%2B"),
        Ok((Some("a=1&b=%2B".to_owned()), Vec::new()))
    );
    assert_eq!(with("1", b"a=1"), Err(QueryError::ForgedMarker));
    assert_eq!(
        with(query_in_body_marker(), b"a=1 b"),
        Err(QueryError::InvalidQuery)
    );
    assert_eq!(
        with(query_in_body_marker(), "a=\u{e9}".as_bytes()),
        Err(QueryError::InvalidQuery)
    );
}

#[test]
fn effective_query_reports_refusals() {
    let (parts, ()) = Request::builder()
        .header(
            REJECT_HEADER,
            format!("{} long-path", query_in_body_marker()),
        )
        .body(())
        .unwrap()
        .into_parts();
    assert_eq!(
        effective_query(&parts, b""),
        Err(QueryError::Rejected(RejectReason::LongPath))
    );
}

#[test]
fn head_end_is_found_with_either_line_ending() {
    assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\nrest", 14), Ok(18));
    assert_eq!(find_head_end(b"GET / HTTP/1.1\nA: b\n\nrest", 14), Ok(21));
    assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n", 15), Err(21));
    assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r", 15), Err(21));
    assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nA: b", 15), Err(20));
}

#[test]
fn decide_leaves_ordinary_heads_alone() {
    assert_eq!(
        decide(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
        Some(Decision::Forward(Mode::Head))
    );
    assert_eq!(
        decide(b"POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n"),
        Some(Decision::Forward(Mode::Body(12)))
    );
    assert_eq!(
        decide(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Some(Decision::Forward(Mode::Passthrough))
    );
    assert_eq!(
        decide(b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"),
        Some(Decision::Forward(Mode::Passthrough))
    );
    // Conflicting lengths and garbage are hyper's to answer.
    assert_eq!(
        decide(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        None
    );
    assert_eq!(
        decide(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
        None
    );
    assert_eq!(decide(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n"), None);
}

#[test]
fn decide_rewrites_and_drops_expect() {
    let query = "a=".to_string() + &"b".repeat(REWRITE_THRESHOLD);
    let head = format!(
        "POST /p?{query} HTTP/1.0\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n"
    );
    let Some(Decision::Replace(out, Mode::Head)) = decide(head.as_bytes()) else {
        panic!("not rewritten");
    };
    let expected = format!(
        "POST /p?{LONG_QUERY_MARKER} HTTP/1.0\r\nHost: h\r\ncontent-length: {}\r\n{QUERY_IN_BODY_HEADER}: {}\r\n\r\n{query}",
        query.len(),
        query_in_body_marker()
    );
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn target_at_threshold_is_not_rewritten() {
    let target = "/?".to_string() + &"q".repeat(REWRITE_THRESHOLD - 2);
    let head = format!("GET {target} HTTP/1.1\r\n\r\n");
    assert_eq!(decide(head.as_bytes()), Some(Decision::Forward(Mode::Head)));
}

/// Reads everything the adapter delivers for `input` (fed in `piece`-sized writes).
async fn through_adapter(input: &[u8], piece: usize) -> Vec<u8> {
    let (mut client, server) = tokio::io::duplex(4096);
    let input = input.to_vec();
    let writer = tokio::spawn(async move {
        for chunk in input.chunks(piece) {
            client.write_all(chunk).await.unwrap();
        }
        client
    });
    let mut adapter = LongUriStream::new(server);
    let mut out = Vec::new();
    let reading = async {
        let mut buf = [0u8; 3000];
        loop {
            let n = adapter.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
    };
    let done = async {
        let client = writer.await.unwrap();
        drop(client);
    };
    tokio::time::timeout(STEP, async { tokio::join!(reading, done) })
        .await
        .unwrap();
    out
}

#[tokio::test]
async fn bodies_that_look_like_heads_are_not_touched() {
    // A body holding a forged header line and a long "request line" passes byte for byte.
    let fake = format!(
        "GET /?{} HTTP/1.1\r\nx-rambridge-query-in-body: 1\r\n\r\n",
        "q".repeat(70_000)
    );
    let mut input =
        format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", fake.len()).into_bytes();
    input.extend_from_slice(fake.as_bytes());
    input.extend_from_slice(b"GET /?z=1 HTTP/1.1\r\n\r\n");
    for piece in [1, 13, 4096, input.len()] {
        assert_eq!(through_adapter(&input, piece).await, input, "piece {piece}");
    }
}

#[tokio::test]
async fn truncated_head_is_handed_over_at_eof() {
    let input = b"GET /?a=1 HTTP/1.1\r\nHost: h\r\n";
    assert_eq!(through_adapter(input, 5).await, input);
}
