//! Moving the bytes of an established tunnel, both ways, until both sides
//! are done. Each direction's end of stream is passed on as a half-close,
//! so protocols that shut down one way (ssh, `nc -N`) keep working.

use tokio::io::{AsyncRead, AsyncWrite};

/// Per direction; large enough to keep a loopback stream near its limit.
const BUFFER: usize = 256 * 1024;

/// Relays until both directions ended; errors just end the tunnel.
pub async fn relay<A, B>(mut a: A, mut b: B)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let _ = tokio::io::copy_bidirectional_with_sizes(&mut a, &mut b, BUFFER, BUFFER).await;
}
