//! The HTTP proxy (reference §6.1, §6.2): CONNECT tunnels, and plain
//! requests in absolute form forwarded with hop-by-hop headers removed
//! both ways, bodies streamed, keep-alive with the client, and upgrades
//! (WebSocket) passed through once the server agrees.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_TYPE, HOST, UPGRADE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::clients::Clients;
use super::dial::{dial, dial_tunnel, DialError};
use super::filter::{self, Destination, Scheme, Screened};
use super::serve::Hold;
use super::tunnel::Upstream;
use super::{status_text, tunnel, Client, Proxy, Refusal};
use crate::policy::host::Host;

type Body = BoxBody<Bytes, hyper::Error>;

/// How long a client may take to send a request head (or stay idle between requests).
/// (One second under test, to see it work.)
const HEAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(if cfg!(test) { 1 } else { 30 });

/// Serves one client connection (already known not to be SOCKS).
pub async fn serve(stream: TcpStream, proxy: Arc<Proxy>, clients: Clients, hold: Hold) {
    let service = hyper::service::service_fn(move |req| handle(req, proxy.clone(), clients.clone(), hold.clone()));
    let _ = hyper::server::conn::http1::Builder::new()
        .preserve_header_case(true)
        .max_buf_size(64 * 1024)
        // A request head must arrive in time, also on an idle kept-alive connection.
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

/// An answer of the proxy's own (a refusal, a bad request, a failed dial).
/// It ends the connection: hyper closes after a `Connection: close`
/// response, so a refused client that reads to the end sees it at once, and
/// the connection stops holding a place in the sandbox's cap.
fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())).map_err(|never| match never {}).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

/// The answer to a refused destination: 403, the reason as the status
/// phrase and in the body, and which rule refused in `X-Proxy-Error`.
pub(crate) fn refusal_response(host: &str, refusal: &Refusal) -> Response<Body> {
    let (tag, body) = match refusal {
        Refusal::Policy(reason) => {
            ("blocked-by-allowlist", format!("Connection blocked by network allowlist: {reason}\n"))
        }
        Refusal::Resolved(_) => {
            ("blocked-by-sandbox-runtime", format!("Connection to {host} blocked: {}\n", refusal.reason()))
        }
    };
    let mut r = text(StatusCode::FORBIDDEN, &body);
    r.headers_mut().insert("x-proxy-error", HeaderValue::from_static(tag));
    if let Ok(phrase) = hyper::ext::ReasonPhrase::try_from(status_text(&refusal.reason())) {
        r.extensions_mut().insert(phrase);
    }
    r
}

/// A destination refused at dial time (the resolved-address guard):
/// recorded, and answered with its 403.
fn refused_at_dial(proxy: &Proxy, client: &Client, target: &Host, port: u16, refusal: &Refusal) -> Response<Body> {
    let shown = target.to_string();
    proxy.refused(&shown, port, refusal, client);
    refusal_response(&shown, refusal)
}

/// The answer to a failed dial: the guard's 403, or 502.
fn dial_failure(proxy: &Proxy, client: &Client, target: &Host, port: u16, err: DialError) -> Response<Body> {
    match err {
        DialError::Refused(r) => refused_at_dial(proxy, client, target, port, &r),
        DialError::Failed(e) => {
            tracing::debug!("dial {target} failed: {e}");
            text(StatusCode::BAD_GATEWAY, "Bad Gateway\n")
        }
    }
}

async fn handle(
    req: Request<Incoming>,
    proxy: Arc<Proxy>,
    clients: Clients,
    hold: Hold,
) -> Result<Response<Body>, Infallible> {
    let Some(client) = clients.resolve(basic_password(req.headers()).as_deref()) else {
        let mut r = text(StatusCode::PROXY_AUTHENTICATION_REQUIRED, "Proxy Authentication Required\n");
        r.headers_mut().insert("proxy-authenticate", HeaderValue::from_static("Basic realm=\"srt\""));
        return Ok(r);
    };
    Ok(if req.method() == Method::CONNECT {
        connect(req, proxy, client, hold).await
    } else {
        forward(req, proxy, client, hold).await
    })
}

/// The password of a `Proxy-Authorization: Basic` header (whatever the user name).
fn basic_password(headers: &HeaderMap) -> Option<Vec<u8>> {
    let value = headers.get("proxy-authorization")?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let pair = crate::base64::decode(encoded.trim())?;
    let colon = pair.iter().position(|b| *b == b':')?;
    Some(pair[colon + 1..].to_vec())
}

/// The answer when `refuseOpaqueTunnels` forbids a tunnel (`what`: CONNECTs or upgrades).
fn opaque_refusal(proxy: &Proxy, client: &Client, target: &Host, port: u16, host: &str, what: &str) -> Response<Body> {
    let refusal = Refusal::Policy(format!("this proxy does not tunnel {what} it cannot inspect"));
    proxy.refused(&target.to_string(), port, &refusal, client);
    let mut r = refusal_response(host, &refusal);
    r.headers_mut().insert("x-proxy-error", HeaderValue::from_static("blocked-by-sandbox-runtime"));
    r
}

async fn connect(req: Request<Incoming>, proxy: Arc<Proxy>, client: Arc<Client>, hold: Hold) -> Response<Body> {
    let Some((host, port)) = req.uri().authority().and_then(|a| Some((a.host().to_string(), a.port_u16()?))) else {
        return text(StatusCode::BAD_REQUEST, "CONNECT needs host:port\n");
    };
    if port == 0 {
        return text(StatusCode::BAD_REQUEST, "CONNECT needs a port from 1 to 65535\n");
    }
    let (target, config) = match proxy.check(&host, port, &client).await {
        Ok(t) => t,
        Err(refusal) => return refusal_response(&host, &refusal),
    };
    // A tunnel srt terminates is not opaque: it sees every request in it.
    let terminated = match (proxy.terminator(), &config.tls) {
        (Some(t), Some(rules)) if rules.terminates(&target, port) => Some((t, rules.clone())),
        _ => None,
    };
    if config.refuse_opaque_tunnels && terminated.is_none() {
        return opaque_refusal(&proxy, &client, &target, port, &host, "CONNECTs");
    }
    // A place among the terminated tunnels before anything is dialed.
    let slot = match &terminated {
        Some((terminator, rules)) => match terminator.enter(rules.max_tunnels) {
            Some(slot) => Some(slot),
            None => {
                let busy = "srt: too many terminated tunnels open (tlsTerminate.maxTunnels)\n";
                return text(StatusCode::SERVICE_UNAVAILABLE, busy);
            }
        },
        None => None,
    };
    let upstream = match dial_tunnel(&target, port, &config).await {
        Ok(s) => s,
        Err(e) => return dial_failure(&proxy, &client, &target, port, e),
    };
    if let (Some((terminator, rules)), Some(slot)) = (terminated, slot) {
        let tunnel = super::tls::tunnel::Tunnel { proxy, client, terminator, rules, config, target, port };
        tokio::spawn(async move {
            let _hold = hold;
            let Ok(upgraded) = hyper::upgrade::on(req).await else { return };
            super::tls::tunnel::serve(tunnel, TokioIo::new(upgraded), upstream, slot).await;
        });
        return Response::new(http_body_util::Empty::new().map_err(|never| match never {}).boxed());
    }
    tokio::spawn(async move {
        let _hold = hold;
        let Ok(upgraded) = hyper::upgrade::on(req).await else { return };
        // Our own stream back, so the tunnel runs on the bare sockets.
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => {
                let mut upstream = upstream;
                if !parts.read_buf.is_empty() && upstream.write_all(&parts.read_buf).await.is_err() {
                    return;
                }
                tunnel::relay_to(parts.io.into_inner(), upstream).await;
            }
            Err(other) => tunnel::relay(TokioIo::new(other), upstream).await,
        }
    });
    Response::new(http_body_util::Empty::new().map_err(|never| match never {}).boxed())
}

/// Headers that belong to one hop: never passed on.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether a message asks to upgrade the connection (`Connection: upgrade` and an `Upgrade`).
pub(crate) fn asks_upgrade(headers: &HeaderMap) -> bool {
    let named = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|n| n.trim().eq_ignore_ascii_case("upgrade"));
    named && headers.contains_key(UPGRADE)
}

/// Removes hop-by-hop headers (and those `Connection` names); returns the
/// `Upgrade` value if the message asked for one.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) -> Option<HeaderValue> {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    let upgrade = named.contains(&UPGRADE).then(|| headers.get(UPGRADE).cloned()).flatten();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
    // Spellings an upstream might read as these (or as framing): `Transfer_Encoding`.
    let lookalikes: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().contains(['_', '.']))
        .filter(|k| {
            let folded = super::filter::fold(k.as_str());
            HOP_BY_HOP.contains(&folded.as_str()) || folded == "content-length" || folded == "host"
        })
        .cloned()
        .collect();
    for name in lookalikes {
        headers.remove(name);
    }
    upgrade
}

async fn forward(req: Request<Incoming>, proxy: Arc<Proxy>, client: Arc<Client>, hold: Hold) -> Response<Body> {
    let uri = req.uri().clone();
    match uri.scheme_str() {
        Some("http") => {}
        Some(_) => return text(StatusCode::BAD_REQUEST, "only http:// URLs can be proxied this way; use CONNECT\n"),
        None => return text(StatusCode::BAD_REQUEST, "this is a proxy: the request needs an absolute http:// URL\n"),
    }
    let Some(authority) = uri.authority() else {
        return text(StatusCode::BAD_REQUEST, "the URL has no host\n");
    };
    let port = authority.port_u16().unwrap_or(80);
    let (target, config) = match proxy.check(authority.host(), port, &client).await {
        Ok(t) => t,
        Err(refusal) => return refusal_response(authority.host(), &refusal),
    };
    // requireHostMatch: a Host naming another destination than the URL is
    // refused (without it, Host is rewritten to the URL's below).
    if config.require_host_match {
        let named = req
            .headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse::<hyper::http::uri::Authority>().ok());
        let named =
            named.and_then(|a| Some((crate::policy::host::parse_host(a.host()).ok()?, a.port_u16().unwrap_or(80))));
        if named.is_some_and(|n| n != (target.clone(), port)) {
            let refusal =
                Refusal::Policy("requireHostMatch: the Host header names another destination than the URL".into());
            proxy.refused(&target.to_string(), port, &refusal, &client);
            return text(StatusCode::MISDIRECTED_REQUEST, &format!("srt: {}\n", refusal.reason()));
        }
    }
    let to = Destination {
        proxy: &proxy,
        client: &client,
        config: &config,
        scheme: Scheme::Http,
        sni: None,
        target: &target,
        port,
    };
    let (mut req, screened_path, mut allowed) = match filter::screen(proxy.request_filter(), req, to).await {
        Screened::Forward { request, path, allowed } => (request, path, allowed),
        Screened::Refuse(response) => return response,
    };
    let observer = allowed.on_response.take();
    // Route order: the mitmProxy socket, the parent proxy, direct.
    let mitm = config.mitm.as_ref().filter(|m| m.covers(&target, port));
    let parent = config.parent.as_ref().and_then(|p| p.route(&target, false)).filter(|_| mitm.is_none()).cloned();
    let via_proxy = mitm.is_some() || parent.is_some();
    // An HTTP(S) proxy takes the request in absolute form; through SOCKS5 it goes as to the server.
    let absolute_proxy = mitm.is_some() || parent.as_ref().is_some_and(|p| p.speaks_http());
    let upgrade = strip_hop_by_hop(req.headers_mut());
    if upgrade.is_some() && config.refuse_opaque_tunnels {
        // After a 101 the bytes are the protocol's own: as opaque as a CONNECT.
        return opaque_refusal(&proxy, &client, &target, port, authority.host(), "upgraded connections");
    }
    let client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut req));
    // Host names the destination we judged, whatever the client wrote there.
    let host_value = if port == 80 { target.to_string() } else { format!("{target}:{port}") };
    let (mut parts, body) = req.into_parts();
    // With filterRequest, the target as it judged it; else as received.
    let path = match &screened_path {
        Some(p) if p == "*" => "",
        Some(p) => p.as_str(),
        None => uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
    };
    // Absolute form for the pool and for a parent proxy; origin form on a connection of our own.
    let absolute = absolute_proxy || (!via_proxy && upgrade.is_none());
    let target_uri = if absolute { format!("http://{host_value}{path}") } else { path.to_string() };
    let Ok(target_uri) = target_uri.parse() else {
        return text(StatusCode::BAD_REQUEST, "the URL cannot be forwarded\n");
    };
    parts.uri = target_uri;
    parts.version = hyper::Version::HTTP_11;
    if let Ok(v) = HeaderValue::from_str(&host_value) {
        parts.headers.insert(HOST, v);
    }
    filter::apply_edits(&mut parts.headers, &allowed);
    // Masked credentials, after the decision's edits (a value it set may hold a sentinel).
    let pairs = proxy.injections(&target, port, &config, false);
    if !pairs.is_empty() && echoes(&parts.method) {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "srt: TRACE and TRACK are not forwarded where credentials are injected\n",
        );
    }
    let body = inject(&pairs, &mut parts.headers, body);
    if let Some(auth) = parent.as_ref().and_then(|p| p.authorization.as_deref()) {
        if let Ok(v) = HeaderValue::from_str(auth) {
            parts.headers.insert("proxy-authorization", v);
        }
    }
    if let Some(u) = &upgrade {
        parts.headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        parts.headers.insert(UPGRADE, u.clone());
    }
    let request = Request::from_parts(parts, body);
    if !via_proxy && upgrade.is_none() {
        // The common case: a kept-alive connection of this sandbox's pool.
        return match client.pool(&proxy).request(request).await {
            Ok(mut response) => {
                strip_hop_by_hop(response.headers_mut());
                filter::finish_response(&mut response, &config, observer);
                scrub(&pairs, response.map(|b| b.boxed()))
            }
            Err(e) => match super::pool::guard_refusal(&e) {
                Some(r) => refused_at_dial(&proxy, &client, &target, port, &r),
                None => {
                    tracing::debug!("forwarding to {target} failed: {e}");
                    text(StatusCode::BAD_GATEWAY, "Bad Gateway\n")
                }
            },
        };
    }
    // Through the mitmProxy socket or the parent proxy (they resolve the name), or an upgrade on a connection of its own.
    let dialed = match (mitm, &parent) {
        (Some(m), _) => m.connect().await.map(Upstream::Unix).map_err(DialError::Failed),
        (None, Some(p)) if p.speaks_http() => super::parent::connect(p).await.map_err(DialError::Failed),
        (None, Some(p)) => super::parent::connect_through(p, &target, port).await.map_err(DialError::Failed),
        (None, None) => dial(&target, port, &config).await.map(Upstream::Tcp),
    };
    let stream = match dialed {
        Ok(s) => s,
        Err(e) => return dial_failure(&proxy, &client, &target, port, e),
    };
    let (mut sender, conn) = match hyper::client::conn::http1::Builder::new()
        .preserve_header_case(true)
        .handshake(TokioIo::new(stream))
        .await
    {
        Ok(pair) => pair,
        Err(_) => return text(StatusCode::BAD_GATEWAY, "Bad Gateway\n"),
    };
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let mut response = match sender.send_request(request).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!("forwarding to {target} failed: {e}");
            return text(StatusCode::BAD_GATEWAY, "Bad Gateway\n");
        }
    };
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        if let Some(client_side) = client_upgrade {
            let server_side = hyper::upgrade::on(&mut response);
            tokio::spawn(async move {
                let _hold = hold;
                if let (Ok(c), Ok(s)) = (client_side.await, server_side.await) {
                    tunnel::relay(TokioIo::new(c), TokioIo::new(s)).await;
                }
            });
            let agreed = response.headers().get(UPGRADE).cloned();
            strip_hop_by_hop(response.headers_mut());
            filter::finish_response(&mut response, &config, observer);
            response.headers_mut().insert(CONNECTION, HeaderValue::from_static("upgrade"));
            if let Some(a) = agreed {
                response.headers_mut().insert(UPGRADE, a);
            }
            return response.map(|b| b.boxed());
        }
    }
    strip_hop_by_hop(response.headers_mut());
    filter::finish_response(&mut response, &config, observer);
    scrub(&pairs, response.map(|b| b.boxed()))
}

/// Swaps the sentinels of `pairs` for their real values in `headers` and,
/// as it streams, in `body` (which then loses a `Content-Length` the swap
/// would make wrong).
pub(crate) fn inject(pairs: &crate::credentials::substitute::Pairs, headers: &mut HeaderMap, body: Body) -> Body {
    use crate::credentials::substitute;
    use hyper::body::Body as _;
    if pairs.is_empty() {
        return body;
    }
    substitute::in_headers(headers, pairs);
    if body.is_end_stream() {
        return body;
    }
    if substitute::changes_length(pairs) {
        headers.remove(hyper::header::CONTENT_LENGTH);
    }
    substitute::Substituting::new(body, pairs.clone()).boxed()
}

/// Methods whose response echoes the request (and a credential swapped into it).
pub(crate) fn echoes(method: &Method) -> bool {
    method.as_str().eq_ignore_ascii_case("TRACE") || method.as_str().eq_ignore_ascii_case("TRACK")
}

/// The response's way back from a host credentials were injected at: each
/// real value that comes back (an echo) becomes its sentinel again.
pub(crate) fn scrub(pairs: &crate::credentials::substitute::Pairs, response: Response<Body>) -> Response<Body> {
    use crate::credentials::substitute;
    let back = substitute::reversed(pairs);
    if back.is_empty() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    substitute::in_headers(&mut parts.headers, &back);
    if substitute::changes_length(&back) {
        parts.headers.remove(hyper::header::CONTENT_LENGTH);
    }
    Response::from_parts(parts, substitute::Substituting::new(body, back).boxed())
}
