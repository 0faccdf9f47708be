//! Accepting connections: one tokio runtime for every listener, and per
//! connection a look at the first byte to pick the protocol (0x05 SOCKS5,
//! anything else HTTP), as the original's single "mux" port does.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::clients::Clients;
use super::{http, socks, tunnel, Proxy};

/// Connections one sandbox may have open at once (each costs srt two
/// descriptors and some memory; the benchmark holds 2000).
pub const MAX_CONNECTIONS: usize = 8192;

/// The cap for one sandbox: `MAX_CONNECTIONS`, or less where srt's
/// descriptor limit would not hold that many (two per tunnel, with room
/// left for everything else the process does).
pub fn connection_cap() -> usize {
    use nix::sys::resource::{getrlimit, Resource};
    let soft = getrlimit(Resource::RLIMIT_NOFILE).map(|(soft, _)| soft).unwrap_or(1024);
    MAX_CONNECTIONS.min((soft / 4).max(64) as usize)
}

/// A client that sends nothing for this long is dropped.
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(10);

/// The runtime the proxies run on: two workers (the machines are small;
/// the tunnels are I/O-bound).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("srt-proxy").enable_all().build()
}

/// What a listener does with its connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// srt's own proxies, judging every destination.
    Filter,
    /// Pass the bytes to an external proxy on this host port (`httpProxyPort`,
    /// `socksProxyPort`), which does the filtering.
    External(u16),
}

/// Starts accepting on `listener`; the task ends when aborted.
pub fn spawn_listener(
    rt: &tokio::runtime::Handle,
    listener: TcpListener,
    role: Role,
    proxy: Arc<Proxy>,
    clients: Clients,
) -> std::io::Result<JoinHandle<()>> {
    listener.set_nonblocking(true)?;
    let _guard = rt.enter();
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let open = clients.connections();
    Ok(rt.spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    // Beyond the cap the connection is closed at once: one sandbox
                    // cannot spend all of srt's descriptors and memory.
                    let Ok(permit) = open.clone().try_acquire_owned() else {
                        tracing::debug!("{MAX_CONNECTIONS} connections open: refusing another");
                        continue;
                    };
                    let (proxy, clients) = (proxy.clone(), clients.clone());
                    // Shared with the tunnel a connection may become, which outlives it.
                    let hold = Arc::new(permit);
                    tokio::spawn(async move {
                        dispatch(stream, role, proxy, clients, hold).await;
                    });
                }
                Err(e) => {
                    // Out of descriptors or memory: wait a little rather than spin.
                    tracing::debug!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }))
}

/// Serves a sandbox's listeners: srt's own proxies on each, or the bytes
/// passed to an external proxy where the settings name one for that port.
#[cfg(target_os = "linux")]
pub fn serve_sandbox(
    rt: &tokio::runtime::Handle,
    listeners: Vec<super::bridge::SandboxListener>,
    proxy: &Arc<Proxy>,
    client: &Arc<super::Client>,
) -> Vec<JoinHandle<()>> {
    let config = proxy.config();
    listeners
        .into_iter()
        .filter_map(|l| {
            let external = match l.port {
                super::SANDBOX_HTTP_PORT => config.external_http,
                super::SANDBOX_SOCKS_PORT => config.external_socks,
                _ => None,
            };
            let role = external.map(Role::External).unwrap_or(Role::Filter);
            spawn_listener(rt, l.listener, role, proxy.clone(), Clients::One(client.clone())).ok()
        })
        .collect()
}

/// A place in the sandbox's connection budget, held by a connection and by
/// the tunnel it turns into.
pub type Hold = Arc<tokio::sync::OwnedSemaphorePermit>;

async fn dispatch(stream: TcpStream, role: Role, proxy: Arc<Proxy>, clients: Clients, hold: Hold) {
    let _ = stream.set_nodelay(true);
    if let Role::External(port) = role {
        if let Ok(upstream) = TcpStream::connect(("127.0.0.1", port)).await {
            let _ = upstream.set_nodelay(true);
            tunnel::relay_tcp(stream, upstream).await;
        }
        return;
    }
    let mut first = [0u8; 1];
    match tokio::time::timeout(FIRST_BYTE_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return,
    }
    match first[0] {
        5 => socks::serve(stream, proxy, clients).await,
        4 => {
            // SOCKS4 carries no name check we could trust: refused (request rejected).
            let mut stream = stream;
            let _ = stream.write_all(&[0, 0x5b, 0, 0, 0, 0, 0, 0]).await;
            // Only the first byte was read. Closing on the rest of the request
            // would reset the connection (and the client might lose the reply),
            // so what has arrived is read first: the close is a plain end.
            let mut rest = [0u8; 1024];
            while matches!(stream.try_read(&mut rest), Ok(n) if n > 0) {}
        }
        _ => http::serve(stream, proxy, clients, hold).await,
    }
}
