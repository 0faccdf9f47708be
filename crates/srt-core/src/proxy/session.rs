//! The network of one sandboxed run: the proxy state, the runtime it runs
//! on, and the bridge end that receives the sandbox's listeners.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::serve;
use super::{bridge, Client, Proxy};

pub struct SandboxNetwork {
    /// The thread that starts the runtime (while bubblewrap sets up the
    /// sandbox, off the start-up path) and waits for the listeners.
    waiter: Option<std::thread::JoinHandle<Served>>,
}

/// What the waiter started: the runtime and the accept loops on it.
type Served = Option<(tokio::runtime::Runtime, Vec<JoinHandle<()>>)>;

impl SandboxNetwork {
    /// Starts the proxies for one sandbox; returns the descriptor to hand to
    /// the sandbox's helper (`--bridge-fd`).
    pub fn start(proxy: Arc<Proxy>, client: Client) -> std::io::Result<(SandboxNetwork, OwnedFd)> {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::Stream, None, SockFlag::SOCK_CLOEXEC)
            .map_err(std::io::Error::from)?;
        crate::descriptor_limit::raise();
        let client = Arc::new(client);
        let shared = proxy;
        let waiter = std::thread::Builder::new().name("srt-bridge".into()).spawn(move || {
            let runtime = match serve::runtime() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::warn!("cannot start the proxies: {e}");
                    return None;
                }
            };
            let listeners = match bridge::receive(&ours) {
                Ok(Some(l)) => l,
                Ok(None) => return Some((runtime, Vec::new())),
                Err(e) => {
                    tracing::warn!("{e}");
                    return Some((runtime, Vec::new()));
                }
            };
            let tasks = serve::serve_sandbox(runtime.handle(), listeners, &shared, &client);
            Some((runtime, tasks))
        })?;
        Ok((SandboxNetwork { waiter: Some(waiter) }, theirs))
    }

    /// Stops accepting and ends every connection (the sandbox is gone).
    pub fn stop(&mut self) {
        if let Some((runtime, tasks)) = self.waiter.take().and_then(|w| w.join().ok()).flatten() {
            for task in tasks {
                task.abort();
            }
            runtime.shutdown_background();
        }
    }
}

impl Drop for SandboxNetwork {
    fn drop(&mut self) {
        self.stop();
    }
}
