//! `network.filterRequest`: the library's per-request callback, asked for
//! every request the proxy parses (plain HTTP, and HTTPS in a terminated
//! tunnel), and the header rules around it (`allowPlaintextHeaderSet`,
//! `stripResponseHeaders`, `ambiguousRequestTarget`).
//!
//! Fails closed: an error, a malformed decision or no decision in time
//! denies. The callback may read the request's body; what it reads is kept
//! and forwarded first, so reading consumes nothing (`BodyTap`).

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST, TRANSFER_ENCODING};
use hyper::{Request, Response, StatusCode};

use super::request_target;
use super::{Client, NetConfig, Proxy};
use crate::policy::host::Host;

type Body = BoxBody<Bytes, hyper::Error>;

/// How long a decision may take; then the request is denied.
pub const DECISION_TIMEOUT: Duration = Duration::from_secs(if cfg!(test) { 1 } else { 60 });

/// The most of a body srt keeps for the callback to read (and forwards after).
pub const MAX_SHOWN_BODY: usize = if cfg!(test) { 64 << 10 } else { 32 << 20 };

/// The most srt keeps of all bodies being judged at once.
const MAX_KEPT_TOTAL: usize = 256 << 20;

static KEPT_TOTAL: AtomicUsize = AtomicUsize::new(0);

/// Bytes kept of one body, counted in `KEPT_TOTAL` (the budget every body
/// srt holds shares) until dropped.
#[derive(Default)]
pub(crate) struct Charge(usize);

impl Charge {
    fn add(&mut self, n: usize) {
        KEPT_TOTAL.fetch_add(n, Ordering::Relaxed);
        self.0 += n;
    }

    /// Counts `n` more bytes, unless all held bodies would pass the budget.
    pub(crate) fn try_add(&mut self, n: usize) -> bool {
        if KEPT_TOTAL.fetch_add(n, Ordering::Relaxed) + n > MAX_KEPT_TOTAL {
            KEPT_TOTAL.fetch_sub(n, Ordering::Relaxed);
            return false;
        }
        self.0 += n;
        true
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        KEPT_TOTAL.fetch_sub(self.0, Ordering::Relaxed);
    }
}

/// A denial's reason when the callback gives none.
pub const DEFAULT_DENY_REASON: &str = "denied by sandbox policy";

const PLAINTEXT_HEADER_SET_REASON: &str = "the allow decision sets headers, and headers are not set on plain-HTTP requests unless network.allowPlaintextHeaderSet is true; nothing was forwarded";

/// How the proxy received a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// In cleartext (an absolute `https://` URI sent in cleartext included).
    Http,
    /// In a TLS tunnel srt terminated.
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// What the callback gets of the body.
pub enum BodyView {
    /// No body (GET, HEAD, OPTIONS declaring none).
    None,
    /// The `Request`'s body.
    Shown(BodyTap),
    /// A GET, HEAD or OPTIONS declaring a body, which a web `Request` cannot
    /// hold: the callback can only ask whether it carries bytes.
    Unshown(BodyTap),
}

/// One request, as the callback sees it.
pub struct FilterRequest {
    pub method: String,
    /// `scheme://host[:port]/target`, from the destination the policy judged
    /// (never from the `Host` the client wrote).
    pub url: String,
    /// The header lines as received, names lower-cased, values byte for byte
    /// (as Latin-1). `Proxy-Authorization` is left out: it is srt's own.
    pub headers: Vec<(String, String)>,
    pub scheme: Scheme,
    /// The TLS server name the client sent (terminated tunnels).
    pub sni: Option<String>,
    pub target_host: String,
    pub target_port: u16,
    /// The target in origin form, as spelled.
    pub request_target: String,
    pub normalized_request_target: String,
    pub request_target_is_ambiguous: bool,
    /// The command id the sandbox was wrapped with, if it had one.
    pub command_id: Option<String>,
    pub body: BodyView,
}

/// Called once with the upstream response's status and headers (hop-by-hop
/// headers gone), before the response goes to the client. It observes.
pub type ResponseObserver = Box<dyn FnOnce(u16, Vec<(String, String)>) + Send>;

/// An allow, and the header edits that go with it.
#[derive(Default)]
pub struct Allowed {
    /// Headers removed from the forwarded request (names folded).
    pub remove_headers: Vec<String>,
    /// Headers set on it, after the removals; a name may come more than once.
    pub set_headers: Vec<(String, String)>,
    pub on_response: Option<ResponseObserver>,
}

pub struct Denied {
    pub reason: Option<String>,
    /// 400 to 599; anything else answers 403.
    pub status: Option<u16>,
}

pub enum FilterDecision {
    Allow(Allowed),
    Deny(Denied),
}

/// The callback. `Err` is its failure (a throw, a rejection), which denies.
pub trait RequestFilter: Send + Sync {
    fn decide(&self, request: FilterRequest) -> Pin<Box<dyn Future<Output = Result<FilterDecision, String>> + Send>>;
}

// ---- The body the callback may read ----

struct Tap {
    source: Option<Incoming>,
    kept: VecDeque<Bytes>,
    charge: Charge,
    trailers: Option<HeaderMap>,
    error: Option<hyper::Error>,
    ended: bool,
    /// The decision was made: the callback reads no more.
    closed: bool,
    /// The callback asked for more than srt keeps: it did not see it all.
    overflowed: bool,
}

/// A request body the callback reads through: every chunk it reads is kept
/// and forwarded before the rest.
#[derive(Clone)]
pub struct BodyTap(Arc<tokio::sync::Mutex<Tap>>);

impl BodyTap {
    fn new(source: Incoming) -> BodyTap {
        BodyTap(Arc::new(tokio::sync::Mutex::new(Tap {
            source: Some(source),
            kept: VecDeque::new(),
            charge: Charge::default(),
            trailers: None,
            error: None,
            ended: false,
            closed: false,
            overflowed: false,
        })))
    }

    /// The next chunk of the body; `None` at its end (or once decided).
    pub async fn read(&self) -> Result<Option<Bytes>, String> {
        let mut tap = self.0.lock().await;
        loop {
            if tap.closed || tap.ended {
                return Ok(None);
            }
            if let Some(e) = &tap.error {
                return Err(format!("the request body failed: {e}"));
            }
            // Checked before reading: what is read must be kept, to be forwarded.
            if tap.charge.0 >= MAX_SHOWN_BODY || KEPT_TOTAL.load(Ordering::Relaxed) >= MAX_KEPT_TOTAL {
                tap.overflowed = true;
                return Err(format!(
                    "the request body is larger than srt keeps for filterRequest to read ({} MiB, {} MiB for all requests at once)",
                    MAX_SHOWN_BODY >> 20,
                    MAX_KEPT_TOTAL >> 20
                ));
            }
            let Some(source) = tap.source.as_mut() else { return Ok(None) };
            match source.frame().await {
                None => tap.ended = true,
                Some(Err(e)) => tap.error = Some(e),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        // One frame may pass the budget; the next read refuses.
                        tap.charge.add(data.len());
                        tap.kept.push_back(data.clone());
                        return Ok(Some(data));
                    }
                    Err(frame) => {
                        tap.trailers = frame.into_trailers().ok();
                        tap.ended = true;
                    }
                },
            }
        }
    }

    /// Whether the callback asked for more of the body than srt keeps.
    async fn overflowed(&self) -> bool {
        self.0.lock().await.overflowed
    }

    /// No more reads: the request was decided, or abandoned.
    pub async fn close(&self) {
        self.0.lock().await.closed = true;
    }

    /// The body to forward: what was read, then the rest.
    async fn into_forwarded(self) -> Body {
        let mut tap = self.0.lock().await;
        tap.closed = true;
        Replay {
            _charge: std::mem::take(&mut tap.charge),
            kept: std::mem::take(&mut tap.kept),
            trailers: tap.trailers.take(),
            error: tap.error.take(),
            source: if tap.ended { None } else { tap.source.take() },
        }
        .boxed()
    }
}

/// A body replayed from what the tap kept, then read on from its source.
struct Replay {
    /// The kept bytes stay counted until the request is done.
    _charge: Charge,
    kept: VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
    error: Option<hyper::Error>,
    source: Option<Incoming>,
}

impl hyper::body::Body for Replay {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        if let Some(data) = self.kept.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        // A body that failed while read ends failed here too: never
        // forwarded as complete.
        if let Some(e) = self.error.take() {
            return Poll::Ready(Some(Err(e)));
        }
        if let Some(t) = self.trailers.take() {
            return Poll::Ready(Some(Ok(Frame::trailers(t))));
        }
        match self.source.as_mut() {
            Some(source) => Pin::new(source).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.kept.is_empty()
            && self.error.is_none()
            && self.trailers.is_none()
            && self.source.as_ref().is_none_or(|s| s.is_end_stream())
    }
}

// ---- Header names and edits ----

/// A header name folded for comparison: lower case, `_` and `.` read as `-`
/// (upstreams differ in which separators they treat as one).
pub fn fold(name: &str) -> String {
    name.chars().map(|c| if c == '_' || c == '.' { '-' } else { c.to_ascii_lowercase() }).collect()
}

/// Framing headers: never removed or set by a decision.
const UNSETTABLE: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
];

/// Removes every header whose folded name is one of `names`.
pub fn remove_folded(headers: &mut HeaderMap, names: &[String]) {
    let drop: HashSet<String> = names.iter().map(|n| fold(n)).collect();
    if drop.is_empty() {
        return;
    }
    let doomed: Vec<HeaderName> = headers.keys().filter(|k| drop.contains(&fold(k.as_str()))).cloned().collect();
    for name in doomed {
        headers.remove(name);
    }
}

/// An RFC 9110 token.
fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// HTAB and no other control character; nothing above U+00FF.
fn is_field_value(value: &str) -> bool {
    value.chars().all(|c| (c >= ' ' || c == '\t') && c != '\u{7f}' && (c as u32) <= 0xff)
}

fn latin1(value: &str) -> Vec<u8> {
    value.chars().map(|c| c as u32 as u8).collect()
}

/// Why an allow cannot be applied as given.
fn malformed(allowed: &Allowed) -> Option<&'static str> {
    if allowed.remove_headers.iter().any(|n| !is_token(n)) {
        return Some("removeHeaders holds an invalid header name");
    }
    if allowed.set_headers.iter().any(|(n, _)| !is_token(n)) {
        return Some("setHeaders holds an invalid header name");
    }
    if allowed.set_headers.iter().any(|(_, v)| !is_field_value(v)) {
        return Some("setHeaders holds an invalid header value");
    }
    None
}

/// Applies an allow's edits to the headers about to go upstream: removals
/// and every spelling of a set name first, then the set values (grouped by
/// folded name, under the first spelling). Framing headers are untouched.
pub fn apply_edits(headers: &mut HeaderMap, allowed: &Allowed) {
    let mut sets: Vec<(String, HeaderName, Vec<HeaderValue>)> = Vec::new();
    for (name, value) in &allowed.set_headers {
        let folded = fold(name);
        if UNSETTABLE.contains(&folded.as_str()) {
            continue;
        }
        let (Ok(header), Ok(value)) =
            (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(&latin1(value)))
        else {
            continue;
        };
        match sets.iter_mut().find(|(f, _, _)| *f == folded) {
            Some((_, _, values)) => values.push(value),
            None => sets.push((folded, header, vec![value])),
        }
    }
    let mut removals: Vec<String> =
        allowed.remove_headers.iter().filter(|n| !UNSETTABLE.contains(&fold(n).as_str())).cloned().collect();
    removals.extend(sets.iter().map(|(f, _, _)| f.clone()));
    remove_folded(headers, &removals);
    for (_, name, values) in sets {
        for value in values {
            headers.append(name.clone(), value);
        }
    }
}

/// The response's last step before the client: the decision's observer
/// sees it, then `stripResponseHeaders` applies.
pub fn finish_response<B>(response: &mut Response<B>, config: &NetConfig, observer: Option<ResponseObserver>) {
    if let Some(observe) = observer {
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.as_bytes().iter().map(|b| *b as char).collect()))
            .collect();
        observe(response.status().as_u16(), headers);
    }
    remove_folded(response.headers_mut(), &config.strip_response_headers);
}

// ---- Asking ----

/// A refusal of the proxy's own: the reason in the body, `X-Proxy-Error`.
pub fn denial(status: StatusCode, reason: &str, tag: &'static str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{reason}\n"))).map_err(|never| match never {}).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r.headers_mut().insert("x-proxy-error", HeaderValue::from_static(tag));
    r.headers_mut().insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Where a request goes and how it came.
pub struct Destination<'a> {
    pub proxy: &'a Proxy,
    pub client: &'a Client,
    pub config: &'a NetConfig,
    pub scheme: Scheme,
    pub sni: Option<String>,
    pub target: &'a Host,
    pub port: u16,
}

/// What becomes of a request.
pub enum Screened {
    /// Forward it: to this origin-form target, with these edits (none when
    /// no callback is set).
    Forward { request: Request<Body>, path: Option<String>, allowed: Allowed },
    /// Answer it with this refusal (recorded).
    Refuse(Response<Body>),
}

const BODYLESS: &[&str] = &["GET", "HEAD", "OPTIONS"];

const STANDARD_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

/// Runs `filter` (if set) on `req`, which goes to `to`.
pub async fn screen(filter: Option<Arc<dyn RequestFilter>>, req: Request<Incoming>, to: Destination<'_>) -> Screened {
    let Some(filter) = filter else {
        return Screened::Forward { request: req.map(|b| b.boxed()), path: None, allowed: Allowed::default() };
    };
    let method = req.method().as_str().to_string();
    let default_port = if to.scheme == Scheme::Http { 80 } else { 443 };
    let authority = if to.port == default_port { to.target.to_string() } else { format!("{}:{}", to.target, to.port) };
    let scheme = to.scheme.as_str();
    let refuse = |status: StatusCode, url: &str, reason: &str, tag: &'static str| {
        to.proxy.violations.request_denied(&method, url, reason, to.client.key.as_deref());
        Screened::Refuse(denial(status, reason, tag))
    };
    // The response would echo the request, and with it a header the decision set.
    if method.eq_ignore_ascii_case("TRACE") || method.eq_ignore_ascii_case("TRACK") {
        let reason = format!("the {method} method is not forwarded");
        return refuse(StatusCode::METHOD_NOT_ALLOWED, &format!("{scheme}://{authority}"), &reason, "method_refused");
    }
    // Methods are case-sensitive, and a web Request spells the standard ones
    // in capitals: `delete` would be judged as DELETE and sent as `delete`.
    let upper = method.to_ascii_uppercase();
    if upper != method && STANDARD_METHODS.contains(&upper.as_str()) {
        let reason = format!("method names are case-sensitive: {method} is not {upper}");
        return refuse(
            StatusCode::BAD_REQUEST,
            &format!("{scheme}://{authority}"),
            &reason,
            "blocked-by-sandbox-runtime",
        );
    }
    let raw = req.uri().to_string();
    let reading = request_target::read(raw.as_bytes(), &method, to.config.ambiguous_request_target);
    let (Some(path), Some(normalized)) = (reading.forwarded.clone(), reading.normalized.clone()) else {
        let reason = reading.refusal.unwrap_or_else(|| request_target::MALFORMED.into());
        let tag =
            if reason == request_target::AMBIGUOUS { "ambiguous-request-target" } else { "blocked-by-sandbox-runtime" };
        let url = format!("{scheme}://{authority}{}", reading.spelled.unwrap_or_default());
        return refuse(StatusCode::BAD_REQUEST, &url, &reason, tag);
    };
    if path == "*" && to.scheme == Scheme::Http {
        let reason = "OPTIONS * is not forwarded through the proxy";
        return refuse(
            StatusCode::BAD_REQUEST,
            &format!("{scheme}://{authority}"),
            reason,
            "blocked-by-sandbox-runtime",
        );
    }
    let url = format!("{scheme}://{authority}{}", if path == "*" { "" } else { path.as_str() });
    // The callback sees the Host that will be sent (the destination judged),
    // not the one the command wrote.
    let mut headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter(|(k, _)| *k != HOST && k.as_str() != "proxy-authorization")
        .map(|(k, v)| (k.as_str().to_string(), v.as_bytes().iter().map(|b| *b as char).collect()))
        .collect();
    headers.insert(0, ("host".into(), authority.clone()));
    let declares_body = req.headers().get(CONTENT_LENGTH).is_some_and(|v| !v.is_empty())
        || req.headers().get(TRANSFER_ENCODING).is_some_and(|v| !v.is_empty());
    let bodyless = BODYLESS.contains(&method.as_str());
    let (parts, incoming) = req.into_parts();
    let (tap, view, untapped) = if !bodyless {
        let tap = BodyTap::new(incoming);
        (Some(tap.clone()), BodyView::Shown(tap), None)
    } else if declares_body {
        let tap = BodyTap::new(incoming);
        (Some(tap.clone()), BodyView::Unshown(tap), None)
    } else {
        (None, BodyView::None, Some(incoming))
    };
    let asked = FilterRequest {
        method: method.clone(),
        url: url.clone(),
        headers,
        scheme: to.scheme,
        sni: to.sni.clone(),
        target_host: to.target.to_string().trim_start_matches('[').trim_end_matches(']').to_string(),
        target_port: to.port,
        request_target: reading.spelled.unwrap_or_else(|| path.clone()),
        normalized_request_target: normalized,
        request_target_is_ambiguous: reading.ambiguous,
        command_id: to.client.list_id.clone(),
        body: view,
    };
    let decision = match tokio::time::timeout(DECISION_TIMEOUT, filter.decide(asked)).await {
        Ok(Ok(decision)) => decision,
        Ok(Err(e)) => {
            FilterDecision::Deny(Denied { reason: Some(format!("sandbox policy check failed: {e}")), status: None })
        }
        Err(_) => FilterDecision::Deny(Denied {
            reason: Some(format!("sandbox policy check failed: no decision within {} s", DECISION_TIMEOUT.as_secs())),
            status: None,
        }),
    };
    let decision = match decision {
        FilterDecision::Allow(a) => match malformed(&a) {
            Some(why) => FilterDecision::Deny(Denied {
                reason: Some(format!("malformed filterRequest decision: {why}")),
                status: None,
            }),
            // Cleartext, without the opt-in: forwarding without the header
            // the decision relied on would fail open.
            None if to.scheme == Scheme::Http && !a.set_headers.is_empty() && !to.config.allow_plaintext_header_set => {
                FilterDecision::Deny(Denied { reason: Some(PLAINTEXT_HEADER_SET_REASON.into()), status: None })
            }
            None => FilterDecision::Allow(a),
        },
        deny => deny,
    };
    let overflowed = match &tap {
        Some(t) => t.overflowed().await,
        None => false,
    };
    match decision {
        FilterDecision::Deny(d) => {
            let status = d
                .status
                .filter(|s| (400..=599).contains(s))
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::FORBIDDEN);
            let reason = d.reason.filter(|r| !r.is_empty()).unwrap_or_else(|| DEFAULT_DENY_REASON.into());
            refuse(status, &url, &reason, "blocked-by-sandbox-runtime")
        }
        FilterDecision::Allow(_) if overflowed => {
            let reason = "the callback allowed a request body it could not read whole (see MAX_SHOWN_BODY); nothing was forwarded";
            refuse(StatusCode::PAYLOAD_TOO_LARGE, &url, reason, "blocked-by-sandbox-runtime")
        }
        FilterDecision::Allow(allowed) => {
            let body = match (tap, untapped) {
                (Some(tap), _) => tap.into_forwarded().await,
                (None, Some(incoming)) => incoming.boxed(),
                (None, None) => http_body_util::Empty::new().map_err(|never| match never {}).boxed(),
            };
            Screened::Forward { request: Request::from_parts(parts, body), path: Some(path), allowed }
        }
    }
}
