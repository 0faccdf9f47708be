//! The network of one sandboxed run: the proxy state, the runtime it runs
//! on, and the bridge end that receives the sandbox's listeners.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::serve::{self, Role};
use super::{bridge, Client, NetConfig, Proxy, SANDBOX_HTTP_PORT, SANDBOX_SOCKS_PORT};

pub struct SandboxNetwork {
    runtime: Option<tokio::runtime::Runtime>,
    pub proxy: Arc<Proxy>,
    waiter: Option<std::thread::JoinHandle<Vec<JoinHandle<()>>>>,
}

/// What a sandbox listener on `port` does under `config`.
fn role(port: u16, config: &NetConfig) -> Role {
    let external = match port {
        SANDBOX_HTTP_PORT => config.external_http,
        SANDBOX_SOCKS_PORT => config.external_socks,
        _ => None,
    };
    external.map(Role::External).unwrap_or(Role::Filter)
}

impl SandboxNetwork {
    /// Starts the proxies for one sandbox; returns the descriptor to hand to
    /// the sandbox's helper (`--bridge-fd`).
    pub fn start(proxy: Arc<Proxy>, client: Client) -> std::io::Result<(SandboxNetwork, OwnedFd)> {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC)
            .map_err(std::io::Error::from)?;
        let runtime = serve::runtime()?;
        let handle = runtime.handle().clone();
        let client = Arc::new(client);
        let shared = proxy.clone();
        let waiter = std::thread::Builder::new().name("srt-bridge".into()).spawn(move || {
            let listeners = match bridge::receive(&ours) {
                Ok(Some(l)) => l,
                Ok(None) => return Vec::new(),
                Err(e) => {
                    tracing::warn!("{e}");
                    return Vec::new();
                }
            };
            let config = shared.config();
            listeners
                .into_iter()
                .filter_map(|l| {
                    let r = role(l.port, &config);
                    serve::spawn_listener(&handle, l.listener, r, shared.clone(), client.clone()).ok()
                })
                .collect()
        })?;
        Ok((SandboxNetwork { runtime: Some(runtime), proxy, waiter: Some(waiter) }, theirs))
    }

    /// Stops accepting and ends every connection (the sandbox is gone).
    pub fn stop(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            for task in waiter.join().unwrap_or_default() {
                task.abort();
            }
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for SandboxNetwork {
    fn drop(&mut self) {
        self.stop();
    }
}
