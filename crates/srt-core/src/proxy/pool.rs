//! Upstream connections for plain HTTP, kept alive between requests (per
//! sandbox, per destination) so a run of requests to one server pays for
//! one connection. Every request is judged by the policy before it may use
//! a connection; new connections are dialed through the resolved-address
//! guard like any other.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::dial::{dial, DialError};
use super::{Proxy, Refusal};
use crate::policy::host::parse_host;

/// The guard's refusal, carried through the pooled client's error.
#[derive(Debug)]
pub struct GuardRefusal(pub Refusal);

impl std::fmt::Display for GuardRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.reason())
    }
}

impl std::error::Error for GuardRefusal {}

/// Finds a guard refusal in an error's chain of causes.
pub fn guard_refusal(err: &(dyn std::error::Error + 'static)) -> Option<Refusal> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        if let Some(g) = e.downcast_ref::<GuardRefusal>() {
            return Some(g.0.clone());
        }
        if let Some(g) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|i| i.downcast_ref::<GuardRefusal>())
        {
            return Some(g.0.clone());
        }
        cause = e.source();
    }
    None
}

/// Dials what the pool asks for, through the guard, under the config in force.
#[derive(Clone)]
pub struct GuardedConnector {
    proxy: Arc<Proxy>,
    /// The sandbox's connection budget: an upstream connection, idle in the
    /// pool or busy, holds a place like a client connection does.
    places: Arc<tokio::sync::Semaphore>,
}

/// An upstream connection and its place in the sandbox's budget.
pub struct Counted {
    stream: TcpStream,
    _place: tokio::sync::OwnedSemaphorePermit,
}

impl tokio::io::AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl hyper_util::client::legacy::connect::Connection for Counted {
    fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
        hyper_util::client::legacy::connect::Connected::new()
    }
}

impl tower_service::Service<Uri> for GuardedConnector {
    type Response = TokioIo<Counted>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let proxy = self.proxy.clone();
        let places = self.places.clone();
        Box::pin(async move {
            let place = places.try_acquire_owned().map_err(|_| std::io::Error::other("too many connections"))?;
            let raw = uri.host().ok_or_else(|| std::io::Error::other("no host"))?;
            let host = parse_host(raw).map_err(|_| std::io::Error::other("malformed host"))?;
            let port = uri.port_u16().unwrap_or(80);
            match dial(&host, port, &proxy.config()).await {
                Ok(stream) => Ok(TokioIo::new(Counted { stream, _place: place })),
                Err(DialError::Refused(r)) => Err(std::io::Error::other(GuardRefusal(r))),
                Err(DialError::Failed(e)) => Err(e),
            }
        })
    }
}

pub type Pool = Client<GuardedConnector, http_body_util::combinators::BoxBody<bytes::Bytes, hyper::Error>>;

/// A pool for one sandbox's plain requests; its connections count against
/// the sandbox's connection budget `places`.
pub fn new_pool(proxy: Arc<Proxy>, places: Arc<tokio::sync::Semaphore>) -> Pool {
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(15))
        .pool_max_idle_per_host(8)
        .set_host(false)
        .http1_preserve_header_case(true)
        .build(GuardedConnector { proxy, places })
}
