//! One terminated tunnel: the command's TLS ended with a leaf for the host
//! the CONNECT named, its HTTP/1.1 requests sent on to that host (and no
//! other) over TLS srt verifies, their answers streamed back.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE, HOST, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use super::prefixed::Prefixed;
use super::{Terminator, TlsRules, TunnelSlot};
use crate::credentials::sigv4;
use crate::policy::host::{parse_host, Host};
use crate::proxy::dial::{dial_tunnel, DialError};
use crate::proxy::filter::{self, Destination, Scheme, Screened};
use crate::proxy::tunnel::Upstream as Dialed;
use crate::proxy::{Client, NetConfig, Proxy, Refusal};

type Body = BoxBody<Bytes, hyper::Error>;

/// What a terminated tunnel goes by.
pub struct Tunnel {
    pub proxy: Arc<Proxy>,
    pub client: Arc<Client>,
    pub terminator: Arc<Terminator>,
    pub rules: TlsRules,
    pub config: Arc<NetConfig>,
    /// The destination the CONNECT named, as the policy judged it.
    pub target: Host,
    pub port: u16,
}

/// The connection upstream, made for the first request and again when it closed.
struct Upstream {
    /// The connection dialed before the CONNECT was answered (guard-checked).
    dialed: Option<Dialed>,
    sender: Option<hyper::client::conn::http1::SendRequest<Body>>,
    /// After a `101 Switching Protocols`: the relay of the upgraded connection.
    relay: Option<tokio::task::JoinHandle<()>>,
}

/// Serves the tunnel on `stream` (what the command sends after `200`).
pub async fn serve<S>(tunnel: Tunnel, mut stream: S, dialed: Dialed, slot: TunnelSlot)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let _slot = slot;
    // One deadline for the first byte and the whole handshake.
    let deadline = tokio::time::Instant::now() + tunnel.rules.handshake_timeout;
    let mut first = [0u8; 1];
    match tokio::time::timeout_at(deadline, stream.read(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return,
    }
    let stream = Prefixed::new(first.to_vec(), stream);
    // Not TLS (no handshake record): passed on as it is, as an untermintated
    // CONNECT would be, unless opaque tunnels are refused.
    if first[0] != 0x16 {
        if tunnel.config.refuse_opaque_tunnels {
            let refusal = Refusal::Policy("refuseOpaqueTunnels: the tunnel carried no TLS to inspect".into());
            tunnel.proxy.refused(&tunnel.target.to_string(), tunnel.port, &refusal, &tunnel.client);
            return;
        }
        crate::proxy::tunnel::relay(stream, dialed).await;
        return;
    }
    let name = unbracketed(&tunnel.target);
    let handshake = async {
        // rustls reads 4 KiB at a time: a buffer under it saves most of the reads.
        let stream = tokio::io::BufReader::with_capacity(READ_BUFFER, stream);
        let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await.ok()?;
        // The leaf is always for the host the policy allowed: a client that
        // asked for another name (SNI) does not get a certificate for it.
        let sni = start.client_hello().server_name().map(str::to_ascii_lowercase);
        if sni.as_deref().is_some_and(|s| s != name) {
            let reason = format!("the TLS server name {} is not the tunnel's host", sni.as_deref().unwrap_or_default());
            tunnel.proxy.refused(&tunnel.target.to_string(), tunnel.port, &Refusal::Policy(reason), &tunnel.client);
            return None;
        }
        let config = match tunnel.terminator.server_config(&name) {
            Ok(config) => config,
            Err(e) => {
                tracing::debug!("no leaf for {name}: {e}");
                return None;
            }
        };
        Some((start.into_stream(config).await.ok()?, sni))
    };
    let Ok(Some((tls, sni))) = tokio::time::timeout_at(deadline, handshake).await else { return };
    let tunnel = Arc::new(tunnel);
    let upstream = Arc::new(tokio::sync::Mutex::new(Upstream { dialed: Some(dialed), sender: None, relay: None }));
    let shared = upstream.clone();
    let service = hyper::service::service_fn(move |req| {
        let (tunnel, upstream, sni) = (tunnel.clone(), upstream.clone(), sni.clone());
        async move { Ok::<_, std::convert::Infallible>(forward(req, &tunnel, &upstream, sni).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .max_buf_size(64 * 1024)
        // A client that sends its request and closes its side still gets the answer.
        .half_close(true)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(30))
        .serve_connection(TokioIo::new(tls), service)
        .with_upgrades()
        .await;
    // An upgraded connection (WebSocket) still holds the tunnel's place.
    let relay = shared.lock().await.relay.take();
    if let Some(relay) = relay {
        let _ = relay.await;
    }
}

/// The host as a certificate names it (an IPv6 address without brackets).
fn unbracketed(host: &Host) -> String {
    host.to_string().trim_start_matches('[').trim_end_matches(']').to_string()
}

#[derive(Debug)]
pub(super) struct OneLeaf(pub(super) Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for OneLeaf {
    fn resolve(&self, _: rustls::server::ClientHello<'_>) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

/// Every destination a request names (its absolute URI's authority, its
/// `Host`), each with the port its scheme implies (443 inside a TLS tunnel).
fn named_destinations(req: &Request<Incoming>) -> Vec<Option<(Host, u16)>> {
    let default = if req.uri().scheme_str() == Some("http") { 80 } else { 443 };
    let parse = |a: &hyper::http::uri::Authority| Some((parse_host(a.host()).ok()?, a.port_u16().unwrap_or(default)));
    let mut named = Vec::new();
    if let Some(a) = req.uri().authority() {
        named.push(parse(a));
    }
    match req.headers().get(HOST) {
        Some(h) => named.push(h.to_str().ok().and_then(|h| h.parse().ok()).and_then(|a| parse(&a))),
        None if named.is_empty() => named.push(None),
        None => {}
    }
    named
}

async fn forward(
    req: Request<Incoming>,
    tunnel: &Tunnel,
    upstream: &tokio::sync::Mutex<Upstream>,
    sni: Option<String>,
) -> Response<Body> {
    let refuse = |reason: String, status: StatusCode| {
        tunnel.proxy.refused(&tunnel.target.to_string(), tunnel.port, &Refusal::Policy(reason.clone()), &tunnel.client);
        text(status, format!("srt: {reason}\n"))
    };
    // The request goes to the tunnel's host whatever it names; with
    // requireHostMatch one naming another is refused, not corrected.
    if req.method() == hyper::Method::CONNECT {
        return text(StatusCode::METHOD_NOT_ALLOWED, "srt: no CONNECT inside a terminated tunnel\n".into());
    }
    let tunnel_host = (tunnel.target.clone(), tunnel.port);
    if tunnel.config.require_host_match {
        if let Some(other) = named_destinations(&req).into_iter().find(|n| n.as_ref() != Some(&tunnel_host)) {
            let shown = other.map(|(h, p)| format!("{h}:{p}")).unwrap_or_else(|| "no host".into());
            let reason = format!("requireHostMatch: the request names {shown}, not the tunnel's host");
            return refuse(reason, StatusCode::MISDIRECTED_REQUEST);
        }
    }
    // An upgrade (WebSocket) goes on once the request was judged; after the
    // 101 the bytes are the protocol's own, as opaque as a tunnel's.
    let upgrade =
        crate::proxy::http::asks_upgrade(req.headers()).then(|| req.headers().get(UPGRADE).cloned()).flatten();
    if upgrade.is_some() && tunnel.config.refuse_opaque_tunnels {
        return refuse("refuseOpaqueTunnels: an upgraded connection cannot be inspected".into(), StatusCode::FORBIDDEN);
    }
    // WebSocket only: after another protocol's 101 (h2c) the requests that
    // follow would reach other hosts behind the server, judged by no one.
    if upgrade.as_ref().is_some_and(|u| !u.as_bytes().eq_ignore_ascii_case(b"websocket")) {
        let why = "srt: only WebSocket upgrades are relayed in a terminated tunnel\n";
        return text(StatusCode::NOT_IMPLEMENTED, why.into());
    }
    let to = Destination {
        proxy: &tunnel.proxy,
        client: &tunnel.client,
        config: &tunnel.config,
        scheme: Scheme::Https,
        sni,
        target: &tunnel.target,
        port: tunnel.port,
    };
    let (mut req, screened_path, mut allowed) = match filter::screen(tunnel.proxy.request_filter(), req, to).await {
        Screened::Forward { request, path, allowed } => (request, path, allowed),
        Screened::Refuse(response) => return response,
    };
    let observer = allowed.on_response.take();
    let client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut req));
    crate::proxy::http::strip_hop_by_hop(req.headers_mut());
    if let Some(u) = &upgrade {
        req.headers_mut().insert(CONNECTION, HeaderValue::from_static("upgrade"));
        req.headers_mut().insert(UPGRADE, u.clone());
    }
    let authority =
        if tunnel.port == 443 { tunnel.target.to_string() } else { format!("{}:{}", tunnel.target, tunnel.port) };
    if let Ok(value) = HeaderValue::from_str(&authority) {
        req.headers_mut().insert(HOST, value);
    }
    filter::apply_edits(req.headers_mut(), &allowed);
    // Masked credentials, after the decision's edits (a value it set may hold a sentinel).
    let pairs = tunnel.proxy.injections(&tunnel.target, tunnel.port, &tunnel.config, true);
    if !pairs.is_empty() && upgrade.is_some() {
        // What comes back after the 101 is not scrubbed of real values.
        let why = "a WebSocket to a host credentials are injected at is not relayed: what comes back could carry them";
        return refuse(why.into(), StatusCode::FORBIDDEN);
    }
    if !pairs.is_empty() && crate::proxy::http::echoes(req.method()) {
        let why = "srt: TRACE and TRACK are not forwarded where credentials are injected\n";
        return text(StatusCode::METHOD_NOT_ALLOWED, why.into());
    }
    // With filterRequest, the target as it judged it; else as received.
    let path = screened_path
        .unwrap_or_else(|| req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into()));
    // A request signed with a masked AWS key: planned on the headers as
    // the command sent them (its sentinel key id names the pair).
    let aws = tunnel.proxy.sentinels.aws_pairs();
    let method = req.method().as_str().to_string();
    let resign =
        match sigv4::plan(&aws, tunnel.config.sigv4, &method, &path, req.headers(), &tunnel.target, tunnel.port) {
            Some(sigv4::Plan::Deny(reason)) => return refuse(reason, StatusCode::FORBIDDEN),
            Some(sigv4::Plan::Resign(r)) => Some(r),
            None => None,
        };
    let (mut parts, body) = req.into_parts();
    let mut body = crate::proxy::http::inject(&pairs, &mut parts.headers, body);
    if let Some(resign) = resign {
        body = match signed_again(&resign, &mut parts.headers, &authority, body).await {
            Ok(body) => body,
            Err((status, why)) => return refuse(why, status),
        };
    }
    let mut req = Request::from_parts(parts, body);
    match path.parse() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return text(StatusCode::BAD_REQUEST, "srt: the request-target cannot be forwarded\n".into()),
    }
    let mut up = upstream.lock().await;
    if up.sender.as_ref().is_none_or(|s| s.is_closed()) {
        let dialed = up.dialed.take();
        let connected = tokio::time::timeout(UPSTREAM_TIMEOUT, connect_upstream(tunnel, dialed)).await;
        up.sender = match connected {
            Ok(Ok(sender)) => Some(sender),
            Ok(Err(UpstreamError::Judged(refusal))) => {
                return crate::proxy::http::refusal_response(&tunnel.target.to_string(), &refusal);
            }
            Ok(Err(UpstreamError::Refused(refusal))) => {
                tunnel.proxy.refused(&tunnel.target.to_string(), tunnel.port, &refusal, &tunnel.client);
                return crate::proxy::http::refusal_response(&tunnel.target.to_string(), &refusal);
            }
            Ok(Err(UpstreamError::Untrusted(reason))) => return refuse(reason, StatusCode::BAD_GATEWAY),
            Ok(Err(UpstreamError::Failed(reason))) => return text(StatusCode::BAD_GATEWAY, format!("srt: {reason}\n")),
            Err(_) => return text(StatusCode::GATEWAY_TIMEOUT, format!("srt: {authority} did not answer in time\n")),
        };
    }
    let Some(sender) = up.sender.as_mut() else { return text(StatusCode::BAD_GATEWAY, "srt: no upstream\n".into()) };
    if sender.ready().await.is_err() {
        return text(StatusCode::BAD_GATEWAY, format!("srt: the connection to {authority} closed\n"));
    }
    match sender.send_request(req).await {
        Ok(mut response) => {
            if let (StatusCode::SWITCHING_PROTOCOLS, Some(client_side)) = (response.status(), client_upgrade) {
                let server_side = hyper::upgrade::on(&mut response);
                up.relay = Some(tokio::spawn(async move {
                    if let (Ok(c), Ok(s)) = (client_side.await, server_side.await) {
                        crate::proxy::tunnel::relay(TokioIo::new(c), TokioIo::new(s)).await;
                    }
                }));
                let agreed = response.headers().get(UPGRADE).cloned();
                crate::proxy::http::strip_hop_by_hop(response.headers_mut());
                filter::finish_response(&mut response, &tunnel.config, observer);
                response.headers_mut().insert(CONNECTION, HeaderValue::from_static("upgrade"));
                if let Some(a) = agreed {
                    response.headers_mut().insert(UPGRADE, a);
                }
                return response.map(|b| b.boxed());
            }
            crate::proxy::http::strip_hop_by_hop(response.headers_mut());
            filter::finish_response(&mut response, &tunnel.config, observer);
            crate::proxy::http::scrub(&pairs, response.map(|b| b.boxed()))
        }
        Err(e) => text(StatusCode::BAD_GATEWAY, format!("srt: {authority} did not answer: {e}\n")),
    }
}

/// The request signed again with the real AWS pair: the body (its sentinels
/// already swapped) read whole to hash it, unless the client signed it as
/// UNSIGNED-PAYLOAD, and sent with its length.
async fn signed_again(
    resign: &sigv4::Resign,
    headers: &mut hyper::HeaderMap,
    host: &str,
    body: Body,
) -> Result<Body, (StatusCode, String)> {
    let failed = |e: String| (StatusCode::BAD_GATEWAY, format!("the request could not be signed again: {e}"));
    // Streamed as it is, unless the signature needs its hash or its length
    // (a swap may have changed the length the client signed).
    let length_known = headers.contains_key(hyper::header::CONTENT_LENGTH) || !resign.signs("content-length");
    if resign.unsigned_payload && length_known {
        resign.apply(headers, host, sigv4::UNSIGNED_PAYLOAD).map_err(failed)?;
        return Ok(body);
    }
    let (bytes, charge) = read_budgeted(body, sigv4::MAX_BODY).await?;
    headers.remove(hyper::header::TRANSFER_ENCODING);
    headers.insert(hyper::header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let hash = if resign.unsigned_payload { sigv4::UNSIGNED_PAYLOAD.to_string() } else { sigv4::sha256_hex(&bytes) };
    resign.apply(headers, host, &hash).map_err(failed)?;
    // Counted in the budget until sent.
    Ok(Held { body: Full::new(bytes), _charge: charge }.map_err(|never| match never {}).boxed())
}

/// A body that keeps its bytes counted in the budget until it is dropped.
struct Held {
    body: Full<Bytes>,
    _charge: filter::Charge,
}

impl hyper::body::Body for Held {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
}

/// A body read whole, at most `max` bytes of it, within the budget all such
/// bodies share (`filter::Charge`): else 413 or 503.
async fn read_budgeted(mut body: Body, max: usize) -> Result<(Bytes, filter::Charge), (StatusCode, String)> {
    let mut charge = filter::Charge::default();
    let mut out = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| (StatusCode::BAD_REQUEST, format!("the request body failed: {e}")))?;
        let Ok(data) = frame.into_data() else { continue };
        if out.len() + data.len() > max {
            let why = format!(
                "an AWS SigV4 request with a masked credential has a body over {} MiB, more than srt reads to sign it again",
                max >> 20
            );
            return Err((StatusCode::PAYLOAD_TOO_LARGE, why));
        }
        if !charge.try_add(data.len()) {
            let why = "srt is holding as many request bodies as it may; try again".to_string();
            return Err((StatusCode::SERVICE_UNAVAILABLE, why));
        }
        out.extend_from_slice(&data);
    }
    Ok((out.freeze(), charge))
}

/// What is read from a socket at once under rustls (which asks for 4 KiB).
const READ_BUFFER: usize = 64 * 1024;

/// How long reaching the upstream and its TLS handshake may take.
const UPSTREAM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Why the upstream could not be used.
enum UpstreamError {
    /// The policy refuses it now: 403 (the check recorded the violation).
    Judged(Refusal),
    /// The address guard refuses it: 403, a violation.
    Refused(Refusal),
    /// Its certificate did not verify: 502, a violation.
    Untrusted(String),
    /// It could not be reached or spoke no TLS: 502.
    Failed(String),
}

/// TLS to the tunnel's host over `dialed`, verified against the system's
/// roots and the extra CAs. Without `dialed` (the first connection closed),
/// the destination is judged again, by the rules in force now, and dialed
/// through the address guard again.
async fn connect_upstream(
    tunnel: &Tunnel,
    dialed: Option<Dialed>,
) -> Result<hyper::client::conn::http1::SendRequest<Body>, UpstreamError> {
    let tcp = match dialed {
        Some(tcp) => tcp,
        None => {
            let shown = tunnel.target.to_string();
            let (host, config) =
                tunnel.proxy.check(&shown, tunnel.port, &tunnel.client).await.map_err(UpstreamError::Judged)?;
            match dial_tunnel(&host, tunnel.port, &config).await {
                Ok(tcp) => tcp,
                Err(DialError::Refused(r)) => return Err(UpstreamError::Refused(r)),
                Err(DialError::Failed(e)) => {
                    return Err(UpstreamError::Failed(format!("cannot reach {shown}:{}: {e}", tunnel.port)))
                }
            }
        }
    };
    let name = rustls::pki_types::ServerName::try_from(unbracketed(&tunnel.target))
        .map_err(|e| UpstreamError::Failed(format!("{} cannot be verified by name: {e}", tunnel.target)))?;
    let tls = tokio_rustls::TlsConnector::from(tunnel.terminator.upstream.clone())
        .connect(name, tokio::io::BufReader::with_capacity(READ_BUFFER, tcp))
        .await
        .map_err(|e| {
            let at = format!("{}:{}", tunnel.target, tunnel.port);
            match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                Some(rustls::Error::InvalidCertificate(why)) => {
                    UpstreamError::Untrusted(format!("the TLS certificate of {at} is not trusted: {why:?}"))
                }
                _ => UpstreamError::Failed(format!("TLS with {at} failed: {e}")),
            }
        })?;
    let (sender, conn) = hyper::client::conn::http1::Builder::new()
        .handshake(TokioIo::new(tls))
        .await
        .map_err(|e| UpstreamError::Failed(format!("HTTP to {} failed: {e}", tunnel.target)))?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    Ok(sender)
}
