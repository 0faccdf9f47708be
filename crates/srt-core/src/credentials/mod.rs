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

/// The environment changes `settings.credentials` asks for, registering
/// each masked variable found in `env` with `sentinels`. A masked variable
/// that is not set has nothing to mask.
pub fn plan_env(
    settings: &Settings,
    sentinels: &sentinels::Sentinels,
    env: impl Fn(&str) -> Option<String>,
) -> Result<CredentialEnv, String> {
    let mut out = CredentialEnv::default();
    let Some(cr) = &settings.credentials else { return Ok(out) };
    for v in cr.env_vars.iter().flatten() {
        match v.mode {
            CredentialMode::Deny => out.unset.push(v.name.clone()),
            CredentialMode::Mask => {
                let Some(real) = env(&v.name) else { continue };
                let hosts = inject_hosts(v.inject_hosts.as_deref(), &settings.network.allowed_domains)?;
                let sentinel = sentinels.register(&v.name, &real, hosts)?;
                out.set.push((v.name.clone(), sentinel));
            }
        }
    }
    Ok(out)
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
