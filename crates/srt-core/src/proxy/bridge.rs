//! The Linux bridge between the sandbox's network namespace and srt's
//! proxies, without socat and without a relay process.
//!
//! The helper, inside the sandbox and before the command starts, opens the
//! listening sockets `127.0.0.1:3128` and `:1080` (dual-stack `[::]` where
//! IPv6 is up, so `localhost` works either way) in the sandbox's own
//! namespace and sends them to srt over a socket pair srt passed it
//! (SCM_RIGHTS). srt then accepts on them directly: a client's bytes go
//! from its socket to the proxy with no hop in between, nothing in the
//! sandbox serves connections, and only that sandbox can reach those
//! listeners, which is what attributes its connections to it.

use std::io::{IoSlice, IoSliceMut};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

use super::{SANDBOX_HTTP_PORT, SANDBOX_SOCKS_PORT};

const MAGIC: &[u8] = b"srt-bridge-1";

/// A listening socket from the sandbox, and the port it listens on there.
pub struct SandboxListener {
    pub port: u16,
    pub listener: TcpListener,
}

/// Opens a listener on `port` in the current network namespace.
fn listen(port: u16) -> std::io::Result<TcpListener> {
    use nix::sys::socket::{
        bind, listen as nix_listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
        SockaddrIn, SockaddrIn6,
    };
    let flags = SockFlag::SOCK_CLOEXEC;
    // Dual-stack first: ::1 and 127.0.0.1 (as mapped) on one socket.
    if let Ok(fd) = socket(AddressFamily::Inet6, SockType::Stream, flags, None) {
        let _ = setsockopt(&fd, sockopt::Ipv6V6Only, &false);
        let _ = setsockopt(&fd, sockopt::ReuseAddr, &true);
        let any = SockaddrIn6::from(std::net::SocketAddrV6::new(std::net::Ipv6Addr::UNSPECIFIED, port, 0, 0));
        if bind(fd.as_raw_fd(), &any).is_ok() && nix_listen(&fd, Backlog::new(4096).unwrap_or(Backlog::MAXCONN)).is_ok()
        {
            return Ok(TcpListener::from(fd));
        }
    }
    let fd = socket(AddressFamily::Inet, SockType::Stream, flags, None)?;
    let _ = setsockopt(&fd, sockopt::ReuseAddr, &true);
    bind(fd.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, port))?;
    nix_listen(&fd, Backlog::new(4096).unwrap_or(Backlog::MAXCONN))?;
    Ok(TcpListener::from(fd))
}

/// Helper side: opens the proxy listeners and sends them over `channel`.
pub fn open_and_send(channel: RawFd) -> Result<(), String> {
    let ports = [SANDBOX_HTTP_PORT, SANDBOX_SOCKS_PORT];
    let listeners = ports
        .iter()
        .map(|&p| listen(p).map_err(|e| format!("cannot listen on port {p} inside the sandbox: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let fds: Vec<RawFd> = listeners.iter().map(|l| l.as_raw_fd()).collect();
    let mut text = MAGIC.to_vec();
    for p in ports {
        text.extend_from_slice(format!(" {p}").as_bytes());
    }
    let rights = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(channel, &[IoSlice::new(&text)], &rights, MsgFlags::empty(), None)
        .map_err(|e| format!("cannot hand the proxy listeners to srt: {e}"))?;
    Ok(())
}

/// srt side: waits for the helper's listeners. `Ok(None)` when the sandbox
/// ended (or failed to start) without sending any.
pub fn receive(channel: &OwnedFd) -> Result<Option<Vec<SandboxListener>>, String> {
    let mut buf = [0u8; 256];
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let (bytes, fds) = loop {
        let mut iov = [IoSliceMut::new(&mut buf)];
        match recvmsg::<()>(channel.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC) {
            Ok(msg) => {
                let mut fds = Vec::new();
                for cmsg in msg.cmsgs().map_err(|e| format!("bridge message: {e}"))? {
                    if let ControlMessageOwned::ScmRights(list) = cmsg {
                        // SAFETY: the kernel just installed these descriptors for us.
                        fds.extend(list.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }));
                    }
                }
                break (msg.bytes, fds);
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(format!("bridge: {e}")),
        }
    };
    if bytes == 0 {
        return Ok(None);
    }
    let text = std::str::from_utf8(&buf[..bytes]).map_err(|_| "bridge: a malformed message".to_string())?;
    let mut words = text.split(' ');
    if words.next().map(str::as_bytes) != Some(MAGIC) {
        return Err("bridge: a malformed message".into());
    }
    let ports: Vec<u16> = words.map(|w| w.parse().map_err(|_| "bridge: a malformed port")).collect::<Result<_, _>>()?;
    if ports.len() != fds.len() {
        return Err("bridge: ports and sockets do not match".into());
    }
    Ok(Some(
        ports
            .into_iter()
            .zip(fds)
            .map(|(port, fd)| SandboxListener { port, listener: TcpListener::from(fd) })
            .collect(),
    ))
}
