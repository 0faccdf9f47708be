//! Moving the bytes of an established tunnel, both ways, until both sides
//! are done. Each direction's end of stream is passed on as a half-close,
//! so protocols that shut down one way (ssh, `nc -N`) keep working.
//!
//! Between two TCP sockets on Linux the bytes never enter srt's memory
//! (see `splice`); elsewhere they are copied through a buffer.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

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
