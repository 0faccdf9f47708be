//! `network.mitmProxy`: hosts matching its domains are reached through
//! another proxy listening on a Unix socket (the caller's inspecting proxy).
//! srt still judges every destination first; tunnels go as `CONNECT
//! host:port` over the socket, plain requests in absolute form. The other
//! proxy resolves the name, so srt's address guard does not apply.

use std::path::PathBuf;

use tokio::net::UnixStream;

use crate::config::MitmProxySettings;
use crate::policy::decide::Pattern;
use crate::policy::domain::EntryKind;
use crate::policy::host::Host;

/// Where the matching hosts go.
#[derive(Clone, Debug)]
pub struct MitmRoute {
    pub socket: PathBuf,
    domains: Vec<Pattern>,
}

impl MitmRoute {
    pub fn from_settings(m: &MitmProxySettings) -> Result<MitmRoute, String> {
        let domains = m
            .domains
            .iter()
            .map(|d| Pattern::new(d, EntryKind::HostOnly).map_err(|e| format!("network.mitmProxy.domains: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(MitmRoute { socket: PathBuf::from(&m.socket_path), domains })
    }

    /// Whether `host` goes through the socket.
    pub fn covers(&self, host: &Host, port: u16) -> bool {
        self.domains.iter().any(|p| p.matches(host, port))
    }

    /// A connection to the other proxy: only to a socket of this user's
    /// (never through a link, or to a socket of another owner put there).
    pub async fn connect(&self) -> std::io::Result<UnixStream> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let meta = std::fs::symlink_metadata(&self.socket)?;
        if !meta.file_type().is_socket() {
            return Err(std::io::Error::other("network.mitmProxy.socketPath is not a socket"));
        }
        if meta.uid() != nix::unistd::geteuid().as_raw() {
            return Err(std::io::Error::other("network.mitmProxy.socketPath belongs to another user"));
        }
        let dial = UnixStream::connect(&self.socket);
        tokio::time::timeout(std::time::Duration::from_secs(30), dial)
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "the mitmProxy socket did not answer"))?
    }

    /// A tunnel to `host:port` through the other proxy.
    pub async fn connect_through(&self, host: &Host, port: u16) -> std::io::Result<UnixStream> {
        let mut stream = self
            .connect()
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("mitmProxy socket {}: {e}", self.socket.display())))?;
        super::parent::connect_handshake(&mut stream, host, port, None).await?;
        Ok(stream)
    }
}

/// The settings with the `mitmProxy` socket read-only in the sandbox: a
/// command that may write its directory could otherwise put another socket
/// (or a link) there, which srt would then connect to.
pub fn with_socket_protected(settings: &crate::config::Settings) -> std::borrow::Cow<'_, crate::config::Settings> {
    match &settings.network.mitm_proxy {
        Some(m) if std::path::Path::new(&m.socket_path).exists() => {
            let mut protected = settings.clone();
            protected.filesystem.deny_write.push(crate::config::PathEntry::Literal(m.socket_path.clone()));
            std::borrow::Cow::Owned(protected)
        }
        _ => std::borrow::Cow::Borrowed(settings),
    }
}
