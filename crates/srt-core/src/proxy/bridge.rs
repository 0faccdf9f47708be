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
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

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

/// What the helper sends: its listeners, and for the library's sandboxes the
/// wrap's token (which sandbox this is) and a pidfd of the helper (srt
/// stops serving the listeners when it exits).
pub struct Message {
    pub token: Option<String>,
    pub listeners: Vec<SandboxListener>,
    pub pidfd: Option<OwnedFd>,
}

fn send(channel: RawFd, token: Option<&str>) -> Result<(), String> {
    let ports = [SANDBOX_HTTP_PORT, SANDBOX_SOCKS_PORT];
    let listeners = ports
        .iter()
        .map(|&p| listen(p).map_err(|e| format!("cannot listen on port {p} inside the sandbox: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut fds: Vec<RawFd> = listeners.iter().map(|l| l.as_raw_fd()).collect();
    let mut text = MAGIC.to_vec();
    for p in ports {
        text.extend_from_slice(format!(" port:{p}").as_bytes());
    }
    if let Some(t) = token {
        text.extend_from_slice(format!(" token:{t}").as_bytes());
    }
    // Where the kernel has pidfds (5.3 on); closed once sent.
    let pidfd = crate::sys::pidfd_of_self();
    if let (Some(_), Some(fd)) = (token, &pidfd) {
        text.extend_from_slice(b" pidfd");
        fds.push(fd.as_raw_fd());
    }
    let rights = [ControlMessage::ScmRights(&fds)];
    let sent = sendmsg::<()>(channel, &[IoSlice::new(&text)], &rights, MsgFlags::empty(), None);
    drop(pidfd);
    sent.map_err(|e| format!("cannot hand the proxy listeners to srt: {e}"))?;
    Ok(())
}

/// Helper side (the CLI): opens the proxy listeners and sends them over `channel`.
pub fn open_and_send(channel: RawFd) -> Result<(), String> {
    send(channel, None)
}

/// Helper side (the library): connects to the session's bridge socket and
/// sends the listeners with the wrap's token.
pub fn connect_and_send(socket: &std::path::Path, token: &str) -> Result<(), String> {
    let stream = std::os::unix::net::UnixStream::connect(socket)
        .map_err(|e| format!("cannot reach srt's bridge socket {}: {e}", socket.display()))?;
    send(stream.as_raw_fd(), Some(token))?;
    // Wait for srt's one-byte answer: the listeners are taken before the command starts.
    let mut byte = [0u8; 1];
    match std::io::Read::read(&mut &stream, &mut byte) {
        Ok(1) if byte[0] == b'k' => Ok(()),
        Ok(1) if byte[0] == b'l' => Err("srt could not put this sandbox under its process and memory limits (its debug log says why)".into()),
        _ => Err("srt did not accept this sandbox's proxy listeners (the session was reset, or the command was wrapped by another session)".into()),
    }
}

/// Reads one bridge message from `channel`. `Ok(None)` when the other side
/// closed without sending any; `WouldBlock` from a non-blocking socket.
pub fn receive_message(channel: RawFd) -> std::io::Result<Option<Message>> {
    let mut buf = [0u8; 512];
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let (bytes, fds) = loop {
        let mut iov = [IoSliceMut::new(&mut buf)];
        match recvmsg::<()>(channel, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC) {
            Ok(msg) => {
                let mut fds = Vec::new();
                for cmsg in msg.cmsgs().map_err(|e| std::io::Error::other(format!("bridge message: {e}")))? {
                    if let ControlMessageOwned::ScmRights(list) = cmsg {
                        fds.extend(crate::sys::own_received(list));
                    }
                }
                break (msg.bytes, fds);
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(std::io::Error::from(e)),
        }
    };
    if bytes == 0 {
        return Ok(None);
    }
    parse(&buf[..bytes], fds).map(Some).map_err(std::io::Error::other)
}

fn parse(bytes: &[u8], fds: Vec<OwnedFd>) -> Result<Message, String> {
    let bad = || "bridge: a malformed message".to_string();
    let text = std::str::from_utf8(bytes).map_err(|_| bad())?;
    let mut words = text.split(' ');
    if words.next().map(str::as_bytes) != Some(MAGIC) {
        return Err(bad());
    }
    let (mut ports, mut token, mut has_pidfd) = (Vec::new(), None, false);
    for word in words {
        match word.split_once(':') {
            Some(("port", p)) => ports.push(p.parse::<u16>().map_err(|_| bad())?),
            Some(("token", t)) => token = Some(t.to_string()),
            None if word == "pidfd" => has_pidfd = true,
            _ => return Err(bad()),
        }
    }
    let mut fds = fds;
    let pidfd = if has_pidfd { fds.pop() } else { None };
    if ports.len() != fds.len() || (has_pidfd && pidfd.is_none()) {
        return Err("bridge: ports and sockets do not match".into());
    }
    let listeners = ports
        .into_iter()
        .zip(fds)
        .map(|(port, fd)| SandboxListener { port, listener: TcpListener::from(fd) })
        .collect();
    Ok(Message { token, listeners, pidfd })
}

/// srt side (the CLI): waits for the helper's listeners. `Ok(None)` when the
/// sandbox ended (or failed to start) without sending any.
pub fn receive(channel: &OwnedFd) -> Result<Option<Vec<SandboxListener>>, String> {
    let message = receive_message(channel.as_raw_fd()).map_err(|e| format!("bridge: {e}"))?;
    Ok(message.map(|m| m.listeners))
}
