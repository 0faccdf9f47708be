//! `credentials`: secrets the command must not have. A denied variable is
//! unset inside the sandbox and a denied file unreadable; a masked
//! variable holds a sentinel inside, which the proxy swaps for the real
//! value only on requests to that credential's hosts (in a terminated TLS
//! tunnel, or in cleartext with `allowPlaintextInject`).

pub mod sentinels;
pub mod substitute;

use crate::config::{CredentialMode, PathEntry, Settings};
use crate::policy::decide::Pattern;
use crate::policy::domain::EntryKind;

/// What a sandbox's environment gets in place of the credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredentialEnv {
    /// Masked variables, set to their sentinels.
    pub set: Vec<(String, String)>,
    /// Denied variables, unset.
    pub unset: Vec<String>,
}

impl CredentialEnv {
    /// Whether `name` is a credential: srt then builds no value of its own
    /// from the caller's (`JAVA_TOOL_OPTIONS`, `GIT_SSH_COMMAND`, ...).
    pub fn covers(&self, name: &str) -> bool {
        self.unset.iter().any(|n| n == name) || self.set.iter().any(|(n, _)| n == name)
    }

    /// `value` (the caller's, for a variable srt extends), unless `name` is a credential.
    pub fn caller_part(&self, name: &str, value: Option<String>) -> Option<String> {
        if self.covers(name) {
            None
        } else {
            value
        }
    }
}

/// The environment changes `settings.credentials` asks for, registering
/// each masked variable found in `env` with `sentinels`. A masked variable
/// that is not set has nothing to mask; one whose value is not UTF-8 is
/// unset (it cannot be swapped back).
pub fn plan_env(
    settings: &Settings,
    sentinels: &sentinels::Sentinels,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<CredentialEnv, String> {
    let mut out = CredentialEnv::default();
    let Some(cr) = &settings.credentials else { return Ok(out) };
    for v in cr.env_vars.iter().flatten() {
        match v.mode {
            CredentialMode::Deny => out.unset.push(v.name.clone()),
            CredentialMode::Mask => {
                let Some(raw) = env(&v.name) else { continue };
                let Ok(real) = raw.into_string() else {
                    out.unset.push(v.name.clone());
                    continue;
                };
                let named = v.inject_hosts.as_deref();
                let hosts = inject_hosts(named, &settings.network.allowed_domains)?;
                let key = format!("{}\0{:?}", v.name, named.unwrap_or(settings.network.allowed_domains.as_slice()));
                let sentinel = sentinels.register(&key, &v.name, &real, hosts)?;
                out.set.push((v.name.clone(), sentinel));
            }
        }
    }
    Ok(out)
}

/// After `updateConfig`: each registered credential goes to the hosts the
/// new settings give it, and one no longer masked to none.
pub fn rehost(settings: &Settings, sentinels: &sentinels::Sentinels) -> Result<(), String> {
    let mut masked = Vec::new();
    for v in settings.credentials.iter().flat_map(|c| c.env_vars.iter().flatten()) {
        if v.mode == CredentialMode::Mask {
            masked.push((v.name.clone(), inject_hosts(v.inject_hosts.as_deref(), &settings.network.allowed_domains)?));
        }
    }
    sentinels.rehost(&masked);
    Ok(())
}

/// A credential's hosts: its own `injectHosts`, else every allowed domain.
fn inject_hosts(own: Option<&[String]>, allowed: &[String]) -> Result<Vec<Pattern>, String> {
    match own {
        Some(list) => list.iter().map(|h| Pattern::new(h, EntryKind::HostOnly)).collect(),
        None => allowed.iter().map(|h| Pattern::new(h, EntryKind::Allow)).collect(),
    }
}

/// The settings with the denied credential files added to `denyRead`.
pub fn with_denied_files(settings: &Settings) -> std::borrow::Cow<'_, Settings> {
    let files: Vec<&str> = settings
        .credentials
        .iter()
        .flat_map(|c| c.files.iter().flatten())
        .filter(|f| f.mode == CredentialMode::Deny)
        .map(|f| f.path.as_str())
        .collect();
    if files.is_empty() {
        return std::borrow::Cow::Borrowed(settings);
    }
    let mut denied = settings.clone();
    denied.filesystem.deny_read.extend(files.into_iter().map(|f| PathEntry::Pattern(f.to_string())));
    std::borrow::Cow::Owned(denied)
}
