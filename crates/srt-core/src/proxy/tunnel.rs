//! Moving the bytes of an established tunnel, both ways, until both sides
//! are done. Each direction's end of stream is passed on as a half-close,
//! so protocols that shut down one way (ssh, `nc -N`) keep working.
//!
//! Between two TCP sockets on Linux the bytes never enter srt's memory
//! (see `splice`); elsewhere they are copied through a buffer.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

/// Per direction, for the copying relay.
const BUFFER: usize = 64 * 1024;

/// Relays between any two streams (copying through a buffer).
pub async fn relay<A, B>(mut a: A, mut b: B)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let _ = tokio::io::copy_bidirectional_with_sizes(&mut a, &mut b, BUFFER, BUFFER).await;
}

/// Relays between two TCP sockets.
pub async fn relay_tcp(a: TcpStream, b: TcpStream) {
    #[cfg(target_os = "linux")]
    super::splice::relay_tcp(a, b).await;
    #[cfg(not(target_os = "linux"))]
    relay(a, b).await;
}

/// What a tunnel leads to: a TCP connection (direct, or through a parent
/// proxy), or a Unix socket connection (through `mitmProxy`).
pub enum Upstream {
    Tcp(TcpStream),
    Unix(UnixStream),
    /// Through an `https://` parent proxy.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Relays between a client's TCP socket and an upstream.
pub async fn relay_to(client: TcpStream, upstream: Upstream) {
    match upstream {
        Upstream::Tcp(tcp) => relay_tcp(client, tcp).await,
        Upstream::Unix(unix) => relay(client, unix).await,
        Upstream::Tls(tls) => relay(client, tls).await,
    }
}

impl AsyncRead for Upstream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Upstream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Upstream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Upstream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Upstream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Upstream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Upstream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Upstream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Upstream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Upstream::Unix(s) => Pin::new(s).poll_flush(cx),
            Upstream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Upstream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Upstream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Upstream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
