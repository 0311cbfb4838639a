//! Request targets longer than the `http` crate accepts (spec: `CreateSAMLProvider`).
//!
//! # Why
//! Alibaba's SDKs put every RPC parameter in the query string and send an empty body, so a
//! `CreateSAMLProvider` call with a 71 KB AD FS metadata document arrives as a request target of
//! 100-130 KB. The `http` crate that hyper parses into refuses URIs of 65534 bytes or more (hyper
//! then answers a bare 414), long before hyper's ~400 KB header buffer fills up.
//!
//! # How
//! [`LongUriStream`] wraps each accepted connection, below hyper, and watches the HTTP/1.x byte
//! stream request by request:
//!
//! * A head whose request target is longer than [`REWRITE_THRESHOLD`] and that has no body is
//!   rewritten: `METHOD /path?QUERY HTTP/1.1` becomes
//!   `METHOD /path?__rambridge_long_query=1 HTTP/1.1`, the QUERY bytes become the body,
//!   `Content-Length` is set to their length, `Expect` is dropped and
//!   [`QUERY_IN_BODY_HEADER`] is added. The application gets the query back with
//!   [`effective_query`].
//! * Such a head *with* a body (`Content-Length` > 0 or any `Transfer-Encoding`), a request line
//!   longer than [`MAX_REQUEST_LINE`], a long target whose path (not query) is the long part, and
//!   a long request line followed by more than [`MAX_HEADER_BYTES`] of header are refused: the
//!   adapter stops reading the client's request and hands hyper a synthetic
//!   `Connection: close` request marked with [`REJECT_HEADER`] instead, which [`serve`] answers
//!   with a JSON error envelope (414 `RequestLineTooLong`, or 431
//!   `RequestHeaderFieldsTooLarge` for the header case). Going through hyper keeps pipelined
//!   earlier requests answered first and in order; the connection is then closed, after a
//!   bounded lingering drain of what the client still sends (so it reads the 414 rather than a
//!   TCP reset).
//! * Every other head passes through byte for byte, except that client-sent copies of the two
//!   internal headers are removed. Bodies are skipped by `Content-Length`.
//!
//! The internal headers carry a per-process random token, so even a request the adapter did not
//! inspect (see below) cannot fake them: [`effective_query`] and [`rejection`] only believe a
//! header with the right token.
//!
//! # Limits
//! * After a request with `Transfer-Encoding` (chunked bodies are not parsed), an `Upgrade`
//!   header or the `CONNECT` method, or a head that `httparse` rejects, the adapter stops looking
//!   and passes the rest of that connection through unchanged: later long targets there get
//!   hyper's own bare 414. The SDKs never send chunked requests.
//! * Memory per connection: at most [`MAX_REQUEST_LINE`] + [`MAX_HEADER_BYTES`] of buffered head
//!   (plus one 16 KiB read); bodies are streamed, not buffered.
//! * HTTP/1.x only; [`serve`] does not speak HTTP/2.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use bytes::{Buf, BytesMut};
use http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::time::Sleep;

/// Request targets longer than this many bytes are moved into the body (the `http` crate's own
/// limit is 65534).
pub const REWRITE_THRESHOLD: usize = 60_000;

/// The longest request line accepted (method, target and version, without the CRLF): 1 MiB.
/// Longer ones are answered `414 RequestLineTooLong`.
pub const MAX_REQUEST_LINE: usize = 1024 * 1024;

/// How much header may follow a request line longer than [`REWRITE_THRESHOLD`]; more is answered
/// `431 RequestHeaderFieldsTooLarge`. Requests with ordinary request lines are left to hyper's
/// own header limits.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Added by the adapter to a request whose query it moved into the body. Its value is a
/// per-process random token (see [`query_in_body_marker`]); client-sent copies are removed.
pub const QUERY_IN_BODY_HEADER: &str = "x-rambridge-query-in-body";

/// Marks the synthetic request that stands for a refused one; value `<token> <reason>`.
/// Client-sent copies are removed.
pub const REJECT_HEADER: &str = "x-rambridge-reject";

/// The query string that replaces a moved one in the rewritten request target.
pub const LONG_QUERY_MARKER: &str = "__rambridge_long_query=1";

/// Bytes read from the socket at once while collecting a head.
const READ_CHUNK: usize = 16 * 1024;
/// Header slots given to `httparse` (hyper's own default limit is 100).
const MAX_HEADERS: usize = 128;
/// After a refusal: at most this much of the client's remaining request is read and dropped...
const LINGER_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// ...for at most this long after the response, waiting for the client to stop sending.
const LINGER_TIMEOUT: Duration = Duration::from_secs(2);
/// Content type of the error envelope (as in the RPC layer).
const JSON_CONTENT_TYPE: &str = "application/json;charset=utf-8";

/// Random per process: proves that an internal header was set by this adapter.
static TOKEN: LazyLock<String> = LazyLock::new(|| uuid::Uuid::new_v4().simple().to_string());

/// The value the adapter puts in [`QUERY_IN_BODY_HEADER`]. For in-process tests that build
/// requests by hand; never send it to a client.
pub fn query_in_body_marker() -> &'static str {
    TOKEN.as_str()
}

/// Why the adapter refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The request line is longer than [`MAX_REQUEST_LINE`].
    LineTooLong,
    /// A long request target on a request that also has a body: the query cannot be moved.
    LongQueryWithBody,
    /// A long request target whose path, not query, is the long part (or that has no query).
    LongPath,
    /// More than [`MAX_HEADER_BYTES`] of header after a long request line.
    HeadTooLarge,
}

impl RejectReason {
    /// All reasons, for parsing.
    const ALL: [RejectReason; 4] = [
        RejectReason::LineTooLong,
        RejectReason::LongQueryWithBody,
        RejectReason::LongPath,
        RejectReason::HeadTooLarge,
    ];

    /// The word used in [`REJECT_HEADER`].
    fn as_str(self) -> &'static str {
        match self {
            RejectReason::LineTooLong => "line-too-long",
            RejectReason::LongQueryWithBody => "long-query-with-body",
            RejectReason::LongPath => "long-path",
            RejectReason::HeadTooLarge => "head-too-large",
        }
    }

    /// HTTP status of the answer.
    pub fn status(self) -> StatusCode {
        match self {
            RejectReason::HeadTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            _ => StatusCode::URI_TOO_LONG,
        }
    }

    /// Alibaba error `Code` of the answer.
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::HeadTooLarge => "RequestHeaderFieldsTooLarge",
            _ => "RequestLineTooLong",
        }
    }

    /// Human-readable `Message` of the answer.
    pub fn message(self) -> String {
        match self {
            RejectReason::LineTooLong => {
                format!("The request line is longer than the limit of {MAX_REQUEST_LINE} bytes.")
            }
            RejectReason::LongQueryWithBody => format!(
                "A request target longer than {REWRITE_THRESHOLD} bytes is only accepted on a request without a body."
            ),
            RejectReason::LongPath => format!(
                "The request path is longer than {REWRITE_THRESHOLD} bytes; only the query string may be long."
            ),
            RejectReason::HeadTooLarge => format!(
                "The headers after a long request line are larger than the limit of {MAX_HEADER_BYTES} bytes."
            ),
        }
    }
}

/// Why [`effective_query`] could not say what the query is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// [`QUERY_IN_BODY_HEADER`] is present but was not set by the adapter (wrong token, or
    /// repeated). Only possible when a request bypassed the adapter's stripping.
    #[error("the {QUERY_IN_BODY_HEADER} header was not set by the server")]
    ForgedMarker,
    /// The moved query holds bytes that cannot appear in a request target.
    #[error("the query string holds bytes that are not allowed in a request target")]
    InvalidQuery,
    /// The request is the adapter's stand-in for a refused request.
    #[error("request refused by the long-URI adapter: {0:?}")]
    Rejected(RejectReason),
}

/// The query string of a request, wherever the adapter put it: the real query, or the body when
/// [`QUERY_IN_BODY_HEADER`] is present (then the body is NOT a form body).
///
/// Returns `(query, remaining body)`:
/// * no marker: `(parts.uri.query(), body)`, untouched;
/// * marker (with this process's token): `(Some(body as str), empty)`. The adapter only moves
///   the query of requests that had no body, so the remaining body is always empty.
///
/// # Signature contract
/// Verify signatures against what this returns, never against `parts.uri` or `body` directly:
/// v1 signs the decoded parameters and v3 the canonical query rebuilt from the decoded pairs,
/// both the same either way; v3's `x-acs-content-sha256` was computed by the SDK over an EMPTY
/// body, and the remaining body returned here is empty, so hash the *remaining* body. The
/// original `Content-Length` (0 or absent) was replaced; all other headers (`Host`, `x-acs-*`,
/// `Content-Type`) are as sent, except `Expect`, which is dropped.
pub fn effective_query<'a>(
    parts: &'a http::request::Parts,
    body: &'a [u8],
) -> Result<(Option<&'a str>, &'a [u8]), QueryError> {
    if let Some(reason) = rejection(&parts.headers) {
        return Err(QueryError::Rejected(reason));
    }
    let mut markers = parts.headers.get_all(QUERY_IN_BODY_HEADER).iter();
    let Some(marker) = markers.next() else {
        return Ok((parts.uri.query(), body));
    };
    if markers.next().is_some() || marker.as_bytes() != TOKEN.as_bytes() {
        return Err(QueryError::ForgedMarker);
    }
    if !body.iter().all(|&b| is_target_byte(b)) {
        return Err(QueryError::InvalidQuery);
    }
    let query = std::str::from_utf8(body).map_err(|_| QueryError::InvalidQuery)?;
    Ok((Some(query), &body[body.len()..]))
}

/// Bytes a request target may hold (visible ASCII, no fragment).
fn is_target_byte(b: u8) -> bool {
    b.is_ascii_graphic() && b != b'#'
}

/// The reason, if these are the headers of the adapter's stand-in for a refused request.
pub fn rejection(headers: &HeaderMap) -> Option<RejectReason> {
    let value = headers.get(REJECT_HEADER)?.to_str().ok()?;
    let (token, word) = value.split_once(' ')?;
    if token != TOKEN.as_str() {
        return None;
    }
    RejectReason::ALL.into_iter().find(|r| r.as_str() == word)
}

/// The answer to a refused request: Alibaba's JSON error envelope
/// (`{"RequestId","HostId":"rambridge","Code","Message"}`) with `Connection: close`.
pub fn rejection_response(reason: RejectReason) -> Response {
    let request_id =
        crate::crypto::new_request_id(crate::clock::Clock::now_ms(&crate::clock::SystemClock));
    let body = serde_json::json!({
        "RequestId": request_id,
        "HostId": "rambridge",
        "Code": reason.code(),
        "Message": reason.message(),
    });
    let mut resp = (reason.status(), body.to_string()).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-acs-request-id", v);
    }
    resp
}

/// Serves `app` on `listener` over HTTP/1.x, each connection wrapped in a [`LongUriStream`].
///
/// Handlers can extract `ConnectInfo<SocketAddr>` (the peer address). Requests refused by the
/// adapter are answered with [`rejection_response`] without reaching `app`. When `shutdown`
/// completes, no more connections are accepted, idle keep-alive connections are closed, and this
/// returns once every in-flight request has been answered (wrap it in a timeout for a grace
/// period).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Typically EMFILE: back off instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let service = ConnService {
            router: app.clone(),
            remote,
        };
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(LongUriStream::new(stream)), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::debug!(%err, %remote, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The per-connection hyper service of [`serve`].
#[derive(Clone)]
struct ConnService {
    router: Router,
    remote: SocketAddr,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        if let Some(reason) = rejection(req.headers()) {
            return Box::pin(std::future::ready(Ok(rejection_response(reason))));
        }
        req.extensions_mut().insert(ConnectInfo(self.remote));
        let mut router = self.router.clone();
        Box::pin(async move {
            std::future::poll_fn(|cx| {
                tower_service::Service::<Request<Body>>::poll_ready(&mut router, cx)
            })
            .await?;
            tower_service::Service::call(&mut router, req.map(Body::new)).await
        })
    }
}

/// Where the reader is in the client's byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Expecting (the rest of) a request head.
    Head,
    /// Inside a body: this many bytes still to pass through.
    Body(u64),
    /// No longer inspecting: everything passes through.
    Passthrough,
    /// A refusal was handed to hyper: nothing more is delivered; input is drained and dropped.
    Rejected,
    /// The client closed its side.
    Eof,
}

/// What to do with one complete head.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    /// Pass the head on unchanged.
    Forward(Mode),
    /// Pass these bytes on instead of the head.
    Replace(Vec<u8>, Mode),
    /// Refuse the request.
    Reject(RejectReason),
}

/// An accepted connection, seen through the long-URI adapter (see the module docs).
///
/// Writes pass straight through; reads deliver the client's requests with long request targets
/// moved into the body. Use it as `TokioIo::new(LongUriStream::new(tcp_stream))`.
#[derive(Debug)]
pub struct LongUriStream<S> {
    inner: S,
    mode: Mode,
    /// Bytes read from `inner` and not yet examined (only in `Head` mode, or on the way out of it).
    pending: BytesMut,
    /// Where reads in `Head` mode land before they join `pending`: zeroed once per connection
    /// (on first use), not once per read.
    scratch: Option<Box<[u8]>>,
    /// Bytes examined and ready for the reader.
    ready: BytesMut,
    /// Position in `pending` of the request line's LF, once found.
    line_end: Option<usize>,
    /// Where the next search for the end of the head starts.
    scan_from: usize,
    /// Input dropped since the refusal.
    discarded: u64,
    /// `inner` has reached end of input (or failed) after a refusal.
    drained: bool,
    /// Shutting down after a refusal: the lingering drain's deadline, once the FIN is sent.
    linger: Option<Pin<Box<Sleep>>>,
}

impl<S> LongUriStream<S> {
    /// Wraps a freshly accepted connection (the first bytes read must start a request).
    pub fn new(inner: S) -> Self {
        LongUriStream {
            inner,
            mode: Mode::Head,
            pending: BytesMut::new(),
            scratch: None,
            ready: BytesMut::new(),
            line_end: None,
            scan_from: 0,
            discarded: 0,
            drained: false,
            linger: None,
        }
    }

    /// The wrapped connection.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Moves everything examined-or-not to the reader and stops inspecting.
    fn pass_through(&mut self) {
        let rest = self.pending.split();
        self.ready.unsplit(rest);
        self.mode = Mode::Passthrough;
    }

    /// Hands the reader the stand-in request for a refusal and stops delivering input.
    fn reject(&mut self, reason: RejectReason) {
        tracing::debug!(?reason, "refusing a request with a long request line");
        self.pending = BytesMut::new();
        self.ready = BytesMut::from(
            format!(
                "GET / HTTP/1.1\r\nhost: rambridge\r\nconnection: close\r\ncontent-length: 0\r\n{REJECT_HEADER}: {} {}\r\n\r\n",
                TOKEN.as_str(),
                reason.as_str()
            )
            .as_bytes(),
        );
        self.mode = Mode::Rejected;
    }

    /// Examines `pending` in `Head` mode. `true` if something changed (output or mode), `false`
    /// if more input is needed.
    fn step_head(&mut self) -> bool {
        // Blank lines before a request line are allowed (RFC 9112 §2.2); pass them on.
        let mut lead = 0;
        loop {
            let rest = &self.pending[lead..];
            if rest.starts_with(b"\r\n") {
                lead += 2;
            } else if rest.starts_with(b"\n") {
                lead += 1;
            } else {
                break;
            }
        }
        if lead > 0 {
            let blank = self.pending.split_to(lead);
            self.ready.unsplit(blank);
            self.line_end = None;
            self.scan_from = 0;
            return true;
        }

        let line_end = match self.line_end {
            Some(at) => at,
            None => {
                let Some(at) = find_byte(&self.pending, self.scan_from, b'\n') else {
                    if self.pending.len() > MAX_REQUEST_LINE + 1 {
                        self.reject(RejectReason::LineTooLong);
                        return true;
                    }
                    self.scan_from = self.pending.len();
                    return false;
                };
                self.line_end = Some(at);
                self.scan_from = at;
                at
            }
        };
        let line_len = if line_end > 0 && self.pending[line_end - 1] == b'\r' {
            line_end - 1
        } else {
            line_end
        };
        if line_len > MAX_REQUEST_LINE {
            self.reject(RejectReason::LineTooLong);
            return true;
        }

        let head_end = match find_head_end(&self.pending, self.scan_from) {
            Ok(end) => end,
            Err(resume) => {
                self.scan_from = resume;
                let headers = self.pending.len() - line_end;
                if line_len > REWRITE_THRESHOLD {
                    if headers > MAX_HEADER_BYTES {
                        self.reject(RejectReason::HeadTooLarge);
                        return true;
                    }
                } else if self.pending.len() > MAX_REQUEST_LINE + MAX_HEADER_BYTES {
                    // An ordinary request line with enormous headers: hyper's limits answer it.
                    self.pass_through();
                    return true;
                }
                return false;
            }
        };

        let decision = decide(&self.pending[..head_end]);
        self.line_end = None;
        self.scan_from = 0;
        match decision {
            None => self.pass_through(),
            Some(Decision::Reject(reason)) => self.reject(reason),
            Some(Decision::Forward(next)) => {
                let head = self.pending.split_to(head_end);
                self.ready.unsplit(head);
                self.mode = next;
            }
            Some(Decision::Replace(bytes, next)) => {
                self.pending.advance(head_end);
                self.ready.extend_from_slice(&bytes);
                self.mode = next;
            }
        }
        if self.mode == Mode::Passthrough {
            self.pass_through();
        }
        true
    }
}

impl<S: AsyncRead + Unpin> LongUriStream<S> {
    /// Reads more input into `pending`; `Ok(0)` at end of input.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let scratch = self
            .scratch
            .get_or_insert_with(|| vec![0u8; READ_CHUNK].into_boxed_slice());
        let mut buf = ReadBuf::new(scratch);
        let polled = Pin::new(&mut self.inner).poll_read(cx, &mut buf);
        let n = buf.filled().len();
        self.pending.extend_from_slice(buf.filled());
        ready!(polled)?;
        Poll::Ready(Ok(n))
    }

    /// Reads and drops input after a refusal. `Ready` once there is nothing more to read
    /// (end of input, an error, or the drain limit).
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut scratch = [0u8; 8192];
        while !self.drained && self.discarded < LINGER_MAX_BYTES {
            let mut buf = ReadBuf::new(&mut scratch);
            match ready!(Pin::new(&mut self.inner).poll_read(cx, &mut buf)) {
                Ok(()) if !buf.filled().is_empty() => {
                    self.discarded += buf.filled().len() as u64;
                }
                _ => self.drained = true,
            }
        }
        Poll::Ready(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for LongUriStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if !this.ready.is_empty() {
                let n = this.ready.len().min(buf.remaining());
                buf.put_slice(&this.ready[..n]);
                this.ready.advance(n);
                return Poll::Ready(Ok(()));
            }
            match this.mode {
                Mode::Eof => return Poll::Ready(Ok(())),
                Mode::Rejected => {
                    // Never report end of input here: hyper would drop the pending refusal.
                    // Once drained, nothing wakes this read again; hyper does not need it to,
                    // the stand-in request said `Connection: close`.
                    ready!(this.poll_drain(cx));
                    return Poll::Pending;
                }
                Mode::Passthrough => {
                    if !this.pending.is_empty() {
                        this.pass_through();
                        continue;
                    }
                    return Pin::new(&mut this.inner).poll_read(cx, buf);
                }
                Mode::Body(left) => {
                    if !this.pending.is_empty() {
                        let n = usize::try_from(left)
                            .unwrap_or(usize::MAX)
                            .min(this.pending.len());
                        let chunk = this.pending.split_to(n);
                        this.ready.unsplit(chunk);
                        this.mode = next_body_mode(left, n);
                        continue;
                    }
                    let want = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(buf.remaining());
                    let dst = buf.initialize_unfilled_to(want);
                    let mut sub = ReadBuf::new(dst);
                    ready!(Pin::new(&mut this.inner).poll_read(cx, &mut sub))?;
                    let n = sub.filled().len();
                    buf.advance(n);
                    this.mode = if n == 0 {
                        Mode::Eof
                    } else {
                        next_body_mode(left, n)
                    };
                    return Poll::Ready(Ok(()));
                }
                Mode::Head => {
                    if this.step_head() {
                        continue;
                    }
                    if ready!(this.poll_fill(cx))? == 0 {
                        // End of input inside a head: hand over what there is; hyper reports it.
                        let rest = this.pending.split();
                        this.ready.unsplit(rest);
                        this.mode = Mode::Eof;
                    }
                }
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for LongUriStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    /// After a refusal, sends FIN and then keeps reading (and dropping) for a bounded time and
    /// amount, so that the client's unsent request does not turn the close into a reset that
    /// destroys the error response before the client reads it.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.mode != Mode::Rejected {
            return Pin::new(&mut this.inner).poll_shutdown(cx);
        }
        if this.linger.is_none() {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            this.linger = Some(Box::pin(tokio::time::sleep(LINGER_TIMEOUT)));
        }
        if let Some(deadline) = this.linger.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Ok(()));
        }
        ready!(this.poll_drain(cx));
        Poll::Ready(Ok(()))
    }
}

/// The mode after `n` of `left` body bytes went through.
fn next_body_mode(left: u64, n: usize) -> Mode {
    match left.saturating_sub(n as u64) {
        0 => Mode::Head,
        more => Mode::Body(more),
    }
}

/// Index of the first `byte` in `buf[from..]`.
fn find_byte(buf: &[u8], from: usize, byte: u8) -> Option<usize> {
    memchr::memchr(byte, buf.get(from..)?).map(|i| i + from)
}

/// End of the head (index after its blank line), searching from `from`, which must be at or
/// before the request line's LF; or where to resume searching once more input has arrived.
fn find_head_end(buf: &[u8], from: usize) -> Result<usize, usize> {
    let mut i = from;
    while let Some(lf) = find_byte(buf, i, b'\n') {
        match (buf.get(lf + 1), buf.get(lf + 2)) {
            (Some(b'\n'), _) => return Ok(lf + 2),
            (Some(b'\r'), Some(b'\n')) => return Ok(lf + 3),
            (None, _) | (Some(b'\r'), None) => return Err(lf),
            _ => i = lf + 1,
        }
    }
    Err(buf.len())
}

/// What to do with a complete head (`head` ends with its blank line); `None` to stop inspecting
/// the connection (a head `httparse` rejects or whose framing is unclear: hyper answers it).
fn decide(head: &[u8]) -> Option<Decision> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    match req.parse(head) {
        Ok(httparse::Status::Complete(n)) if n == head.len() => {}
        _ => return None,
    }
    let (method, target, version) = (req.method?, req.path?, req.version?);

    let mut content_length: Option<u64> = None;
    let mut chunked_or_other_coding = false;
    let mut upgrade = method.eq_ignore_ascii_case("CONNECT");
    let mut forged = false;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let value = parse_decimal(h.value)?;
            if content_length.is_some_and(|seen| seen != value) {
                return None;
            }
            content_length = Some(value);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked_or_other_coding = true;
        } else if h.name.eq_ignore_ascii_case("upgrade") {
            upgrade = true;
        } else if is_internal(h.name) {
            forged = true;
        }
    }
    let body = content_length.unwrap_or(0);
    let after = if chunked_or_other_coding || upgrade {
        Mode::Passthrough
    } else if body > 0 {
        Mode::Body(body)
    } else {
        Mode::Head
    };

    if target.len() > REWRITE_THRESHOLD {
        if chunked_or_other_coding || body > 0 {
            return Some(Decision::Reject(RejectReason::LongQueryWithBody));
        }
        let Some((path, query)) = target.split_once('?') else {
            return Some(Decision::Reject(RejectReason::LongPath));
        };
        if path.len() > REWRITE_THRESHOLD {
            return Some(Decision::Reject(RejectReason::LongPath));
        }
        let mut out = Vec::with_capacity(head.len() + 128);
        out.extend_from_slice(
            format!("{method} {path}?{LONG_QUERY_MARKER} HTTP/1.{version}\r\n").as_bytes(),
        );
        for h in req.headers.iter() {
            if !(is_internal(h.name)
                || h.name.eq_ignore_ascii_case("content-length")
                || h.name.eq_ignore_ascii_case("expect"))
            {
                push_header(&mut out, h.name, h.value);
            }
        }
        push_header(
            &mut out,
            "content-length",
            query.len().to_string().as_bytes(),
        );
        push_header(&mut out, QUERY_IN_BODY_HEADER, TOKEN.as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(query.as_bytes());
        return Some(Decision::Replace(out, after));
    }

    if !forged {
        return Some(Decision::Forward(after));
    }
    let mut out = Vec::with_capacity(head.len());
    out.extend_from_slice(format!("{method} {target} HTTP/1.{version}\r\n").as_bytes());
    for h in req.headers.iter().filter(|h| !is_internal(h.name)) {
        push_header(&mut out, h.name, h.value);
    }
    out.extend_from_slice(b"\r\n");
    Some(Decision::Replace(out, after))
}

/// One of the adapter's own headers.
fn is_internal(name: &str) -> bool {
    name.eq_ignore_ascii_case(QUERY_IN_BODY_HEADER) || name.eq_ignore_ascii_case(REJECT_HEADER)
}

/// Appends `name: value\r\n`.
fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// A `Content-Length` value: ASCII digits only (surrounding whitespace is already trimmed).
fn parse_decimal(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

#[cfg(test)]
mod tests;
