//! One terminated tunnel: the command's TLS ended with a leaf for the host
//! the CONNECT named, its HTTP/1.1 requests sent on to that host (and no
//! other) over TLS srt verifies, their answers streamed back.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;

use super::prefixed::Prefixed;
use super::{Terminator, TlsRules, TunnelSlot};
use crate::policy::host::{parse_host, Host};
use crate::proxy::dial::dial_tunnel;
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
    dialed: Option<TcpStream>,
    sender: Option<hyper::client::conn::http1::SendRequest<Body>>,
}

/// Serves the tunnel on `stream` (what the command sends after `200`).
pub async fn serve<S>(tunnel: Tunnel, mut stream: S, dialed: TcpStream, slot: TunnelSlot)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let _slot = slot;
    let mut first = [0u8; 1];
    match tokio::time::timeout(tunnel.rules.handshake_timeout, stream.read(&mut first)).await {
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
        let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream).await.ok()?;
        // The leaf is always for the host the policy allowed: a client that
        // asked for another name (SNI) does not get a certificate for it.
        let sni = start.client_hello().server_name().map(str::to_ascii_lowercase);
        if sni.as_deref().is_some_and(|s| s != name) {
            let reason = format!("the TLS server name {} is not the tunnel's host", sni.as_deref().unwrap_or_default());
            tunnel.proxy.refused(&tunnel.target.to_string(), tunnel.port, &Refusal::Policy(reason), &tunnel.client);
            return None;
        }
        let leaf = match tunnel.terminator.ca.leaf(&name) {
            Ok(leaf) => leaf,
            Err(e) => {
                tracing::debug!("no leaf for {name}: {e}");
                return None;
            }
        };
        let mut config = rustls::ServerConfig::builder_with_provider(super::provider())
            .with_safe_default_protocol_versions()
            .ok()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(OneLeaf(leaf)));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        start.into_stream(Arc::new(config)).await.ok()
    };
    let Ok(Some(tls)) = tokio::time::timeout(tunnel.rules.handshake_timeout, handshake).await else { return };
    let tunnel = Arc::new(tunnel);
    let upstream = Arc::new(tokio::sync::Mutex::new(Upstream { dialed: Some(dialed), sender: None }));
    let service = hyper::service::service_fn(move |req| {
        let (tunnel, upstream) = (tunnel.clone(), upstream.clone());
        async move { Ok::<_, std::convert::Infallible>(forward(req, &tunnel, &upstream).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(30))
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

/// The host as a certificate names it (an IPv6 address without brackets).
fn unbracketed(host: &Host) -> String {
    host.to_string().trim_start_matches('[').trim_end_matches(']').to_string()
}

#[derive(Debug)]
struct OneLeaf(Arc<rustls::sign::CertifiedKey>);

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

/// The authority a request names (its absolute URI's, else its `Host`),
/// as a destination; none when it names none.
fn named_destination(req: &Request<Incoming>) -> Option<(Host, u16)> {
    let authority = match req.uri().authority() {
        Some(a) => a.clone(),
        None => req.headers().get(HOST)?.to_str().ok()?.parse::<hyper::http::uri::Authority>().ok()?,
    };
    let host = parse_host(authority.host()).ok()?;
    Some((host, authority.port_u16().unwrap_or(443)))
}

async fn forward(
    mut req: Request<Incoming>,
    tunnel: &Tunnel,
    upstream: &tokio::sync::Mutex<Upstream>,
) -> Response<Body> {
    let refuse = |reason: String, status: StatusCode| {
        tunnel.proxy.refused(&tunnel.target.to_string(), tunnel.port, &Refusal::Policy(reason.clone()), &tunnel.client);
        text(status, format!("srt: {reason}\n"))
    };
    // The request goes to the tunnel's host whatever it names; with
    // requireHostMatch one naming another is refused, not corrected.
    let named = named_destination(&req);
    if tunnel.config.require_host_match && named.as_ref() != Some(&(tunnel.target.clone(), tunnel.port)) {
        let shown = named.map(|(h, p)| format!("{h}:{p}")).unwrap_or_else(|| "no host".into());
        let reason = format!("requireHostMatch: the request names {shown}, not the tunnel's host");
        return refuse(reason, StatusCode::MISDIRECTED_REQUEST);
    }
    if crate::proxy::http::strip_hop_by_hop(req.headers_mut()).is_some() {
        return text(
            StatusCode::NOT_IMPLEMENTED,
            "srt: connection upgrades (WebSocket) inside a terminated TLS tunnel are not supported yet; list the host in tlsTerminate.excludeDomains\n".into(),
        );
    }
    let authority =
        if tunnel.port == 443 { tunnel.target.to_string() } else { format!("{}:{}", tunnel.target, tunnel.port) };
    if let Ok(value) = HeaderValue::from_str(&authority) {
        req.headers_mut().insert(HOST, value);
    }
    let path = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    *req.uri_mut() = path.parse().unwrap_or_default();
    let req = req.map(|b| b.boxed());
    let mut up = upstream.lock().await;
    if up.sender.as_ref().is_none_or(|s| s.is_closed()) {
        up.sender = match connect_upstream(tunnel, up.dialed.take()).await {
            Ok(sender) => Some(sender),
            Err(reason) => return refuse(reason, StatusCode::BAD_GATEWAY),
        };
    }
    let Some(sender) = up.sender.as_mut() else { return text(StatusCode::BAD_GATEWAY, "srt: no upstream\n".into()) };
    if sender.ready().await.is_err() {
        return text(StatusCode::BAD_GATEWAY, format!("srt: the connection to {authority} closed\n"));
    }
    match sender.send_request(req).await {
        Ok(mut response) => {
            crate::proxy::http::strip_hop_by_hop(response.headers_mut());
            response.map(|b| b.boxed())
        }
        Err(e) => text(StatusCode::BAD_GATEWAY, format!("srt: {authority} did not answer: {e}\n")),
    }
}

/// TLS to the tunnel's host over `dialed` (else a new guard-checked
/// connection), verified against the system's roots and the extra CAs.
async fn connect_upstream(
    tunnel: &Tunnel,
    dialed: Option<TcpStream>,
) -> Result<hyper::client::conn::http1::SendRequest<Body>, String> {
    let tcp = match dialed {
        Some(tcp) => tcp,
        None => dial_tunnel(&tunnel.target, tunnel.port, &tunnel.config)
            .await
            .map_err(|_| format!("cannot reach {}:{} again", tunnel.target, tunnel.port))?,
    };
    let name = rustls::pki_types::ServerName::try_from(unbracketed(&tunnel.target))
        .map_err(|e| format!("{} cannot be verified by name: {e}", tunnel.target))?;
    let tls = tokio_rustls::TlsConnector::from(tunnel.terminator.upstream.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| format!("the TLS certificate of {}:{} is not trusted: {e}", tunnel.target, tunnel.port))?;
    let (sender, conn) = hyper::client::conn::http1::Builder::new()
        .handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("HTTP to {} failed: {e}", tunnel.target))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}
