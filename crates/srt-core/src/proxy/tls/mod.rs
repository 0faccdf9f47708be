//! TLS termination (`network.tlsTerminate`): a CONNECT the policy allowed is
//! answered, the command's TLS is terminated with a leaf of the session's
//! CA (which the sandbox trusts through the variables tools read), and its
//! HTTP/1.1 requests are re-sent upstream over TLS that srt verifies
//! against the system's roots and `extraCaCertPaths`. Nothing of this is
//! made unless the settings ask for it.
//!
//! Split: `ca` (the CA and its leaves), `tunnel` (one terminated tunnel),
//! here the session's part (`Terminator`) and the per-connection rules
//! `updateConfig` may change (`TlsRules`).

pub mod ca;
mod prefixed;
pub mod tunnel;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{PathEntry, Settings, TlsTerminateSettings};
use crate::policy::decide::Pattern;
use crate::policy::domain::EntryKind;
use crate::policy::host::Host;

/// The variables tools read a CA bundle from (the original's list).
pub const CA_TRUST_VARS: &[&str] = &[
    "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "PIP_CERT",
    "GIT_SSL_CAINFO",
    "AWS_CA_BUNDLE",
    "CARGO_HTTP_CAINFO",
    "DENO_CERT",
    "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE",
    "NIX_SSL_CERT_FILE",
];

/// What a session terminates with: made once, at its start (the sandboxes
/// trust its CA for as long as they run).
pub struct Terminator {
    pub ca: ca::SessionCa,
    /// The CA key file the settings named, where it really is: hidden from
    /// every sandbox of the session, whatever settings a wrap goes by.
    key_file: Option<std::path::PathBuf>,
    /// The settings the CA and the roots were made from, fixed for the session.
    made_from: CaSource,
    /// How srt connects upstream: the system's roots and the extra CAs.
    upstream: Arc<rustls::ClientConfig>,
    /// What the sandbox trusts: the same roots and the session's CA, PEM.
    pub bundle_pem: String,
    /// Terminated tunnels open now.
    open: AtomicUsize,
    /// Per host: the TLS settings srt answers with, and so the sessions a
    /// client may resume (a new handshake per connection costs the client
    /// a full certificate check).
    #[allow(clippy::type_complexity)]
    servers: std::sync::Mutex<
        std::collections::HashMap<String, (Arc<rustls::sign::CertifiedKey>, Arc<rustls::ServerConfig>)>,
    >,
}

impl Terminator {
    /// How srt ends a command's TLS for `name`: its leaf, HTTP/1.1, and a
    /// session cache of that host's own.
    pub fn server_config(&self, name: &str) -> Result<Arc<rustls::ServerConfig>, String> {
        let leaf = self.ca.leaf(name)?;
        let mut servers = self.servers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((made_with, config)) = servers.get(name) {
            // Still the current leaf (leaves are renewed weekly).
            if Arc::ptr_eq(made_with, &leaf) {
                return Ok(config.clone());
            }
        }
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(tunnel::OneLeaf(leaf.clone())));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // srt's order of ciphers, not the client's (see `provider`).
        config.ignore_client_order = true;
        let config = Arc::new(config);
        if servers.len() >= ca::LEAVES {
            servers.clear();
        }
        servers.insert(name.to_string(), (leaf, config.clone()));
        Ok(config)
    }

    /// From the settings: the named CA (read now) or a new one; the roots.
    pub fn from_settings(t: &TlsTerminateSettings) -> Result<Terminator, String> {
        let mut key_file = None;
        let ca = match (&t.ca_cert_path, &t.ca_key_path) {
            (Some(cert), Some(key)) => {
                let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("cannot read {p}: {e}"));
                let loaded = ca::SessionCa::load(&read(cert)?, &read(key)?)
                    .map_err(|e| format!("network.tlsTerminate: {cert} and {key}: {e}"))?;
                key_file = Some(
                    std::fs::canonicalize(key).map_err(|e| format!("network.tlsTerminate.caKeyPath: {key}: {e}"))?,
                );
                loaded
            }
            _ => ca::SessionCa::generate()?,
        };
        let mut roots = rustls::RootCertStore::empty();
        let mut bundle = String::new();
        let system = rustls_native_certs::load_native_certs();
        for cert in system.certs {
            if roots.add(cert.clone()).is_ok() {
                bundle.push_str(&pem("CERTIFICATE", &cert));
            }
        }
        if roots.is_empty() {
            return Err(format!(
                "network.tlsTerminate: no system CA certificates were found ({}): srt could verify no upstream",
                system.errors.first().map(|e| e.to_string()).unwrap_or_else(|| "the store is empty".into())
            ));
        }
        for path in t.extra_ca_cert_paths.iter().flatten() {
            let text =
                std::fs::read(path).map_err(|e| format!("network.tlsTerminate.extraCaCertPaths: {path}: {e}"))?;
            let mut found = 0;
            for cert in <rustls::pki_types::CertificateDer as rustls::pki_types::pem::PemObject>::pem_slice_iter(&text)
            {
                let cert = cert.map_err(|e| format!("network.tlsTerminate.extraCaCertPaths: {path}: {e}"))?;
                roots.add(cert.clone()).map_err(|e| format!("network.tlsTerminate.extraCaCertPaths: {path}: {e}"))?;
                bundle.push_str(&pem("CERTIFICATE", &cert));
                found += 1;
            }
            if found == 0 {
                return Err(format!("network.tlsTerminate.extraCaCertPaths: {path} holds no PEM certificate"));
            }
        }
        bundle.push_str(&ca.cert_pem);
        let mut upstream = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        upstream.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Terminator {
            ca,
            key_file,
            made_from: CaSource::of(t),
            upstream: Arc::new(upstream),
            bundle_pem: bundle,
            open: AtomicUsize::new(0),
            servers: Default::default(),
        })
    }

    /// Files no sandbox of the session may read: the CA key, if one was named.
    pub fn secret_files(&self) -> Vec<std::path::PathBuf> {
        self.key_file.iter().cloned().collect()
    }

    /// Whether `rules` name the CA and roots this terminator was made from
    /// (`updateConfig` cannot change them: the sandboxes trust these).
    pub fn made_from(&self, rules: &TlsRules) -> bool {
        self.made_from == rules.source
    }

    /// A place among the terminated tunnels, or none beyond `max`.
    pub fn enter(self: &Arc<Self>, max: usize) -> Option<TunnelSlot> {
        let now = self.open.fetch_add(1, Ordering::SeqCst);
        let slot = TunnelSlot(self.clone());
        (now < max).then_some(slot)
    }
}

/// One open terminated tunnel, counted while it lives.
pub struct TunnelSlot(Arc<Terminator>);

impl Drop for TunnelSlot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The rules of termination a connection goes by (`updateConfig` may change them).
/// The settings a terminator's CA and roots come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaSource(Option<String>, Option<String>, Option<Vec<String>>);

impl CaSource {
    fn of(t: &TlsTerminateSettings) -> CaSource {
        CaSource(t.ca_cert_path.clone(), t.ca_key_path.clone(), t.extra_ca_cert_paths.clone())
    }
}

#[derive(Clone, Debug)]
pub struct TlsRules {
    source: CaSource,
    exclude: Vec<Pattern>,
    pub max_tunnels: usize,
    pub handshake_timeout: Duration,
}

impl TlsRules {
    pub fn from_settings(t: &TlsTerminateSettings) -> Result<TlsRules, String> {
        let exclude = t
            .exclude_domains
            .iter()
            .flatten()
            .map(|d| {
                Pattern::new(d, EntryKind::HostOnly).map_err(|e| format!("network.tlsTerminate.excludeDomains: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(TlsRules {
            source: CaSource::of(t),
            exclude,
            max_tunnels: t.max_tunnels.and_then(|n| usize::try_from(n).ok()).unwrap_or(256),
            handshake_timeout: Duration::from_millis(
                t.handshake_timeout_ms.and_then(|n| u64::try_from(n).ok()).unwrap_or(10_000),
            ),
        })
    }

    /// Whether a tunnel to `host` is terminated.
    pub fn terminates(&self, host: &Host, port: u16) -> bool {
        !self.exclude.iter().any(|p| p.matches(host, port))
    }
}

/// The settings with `files` added to `denyRead` (the session's CA key).
pub fn hide_files(settings: &Settings, files: &[std::path::PathBuf]) -> Settings {
    let mut hidden = settings.clone();
    hidden.filesystem.deny_read.extend(files.iter().map(|f| PathEntry::Literal(f.display().to_string())));
    hidden
}

/// The CA key the settings name, where it really is (for a plan that makes
/// no session: `--print-profile`).
pub fn named_key_file(settings: &Settings) -> Vec<std::path::PathBuf> {
    let key = settings.network.tls_terminate.as_ref().and_then(|t| t.ca_key_path.as_deref());
    key.map(|k| std::fs::canonicalize(k).unwrap_or_else(|_| std::path::PathBuf::from(k))).into_iter().collect()
}

/// The trust bundle as a file the sandbox is shown (in srt's registry, which
/// only srt writes), removed when dropped.
pub type BundleFile = crate::own_file::OwnFile;

/// Writes the trust bundle `pem` into `dir`.
pub fn bundle_file(dir: &std::path::Path, pem: &str) -> Result<BundleFile, String> {
    crate::own_file::OwnFile::write(dir, "trust", ".pem", 0o444, pem.as_bytes(), "the CA bundle")
}

/// The crypto srt's TLS uses: *ring* (small, and built by zig for every
/// target; rustls marks it deprecated only for lacking post-quantum key
/// exchange, which aws-lc-rs would bring at the cost of a C build).
/// AES-128-GCM is preferred: as strong as needed here, and faster than
/// AES-256 on every leg of a terminated tunnel.
#[allow(deprecated)]
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    let mut p = rustls::crypto::ring::default_provider();
    let rank = |s: &rustls::SupportedCipherSuite| match s.suite() {
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256 => 0,
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        | rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 1,
        _ => 2,
    };
    p.cipher_suites.sort_by_key(rank);
    Arc::new(p)
}

pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let encoded = crate::base64::encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests;
