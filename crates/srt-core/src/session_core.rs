//! What every library session holds, whatever runs its sandboxes
//! (bubblewrap's `manager::Session`, Seatbelt's `MacSession`): its settings,
//! the one proxy state all its listeners share, and srt's own files. The
//! sessions reach it through `Deref`, so its methods are theirs.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::config::Settings;
use crate::proxy::{Ask, NetConfig, Proxy};
use crate::violations::Store;

pub struct SessionCore {
    settings: Mutex<Arc<Settings>>,
    pub proxy: Arc<Proxy>,
    /// What the network settings left aside at the start.
    pub net_warnings: Vec<String>,
    /// srt's own files the front end knows of (see `launch::PrepareOptions`).
    pub package: Vec<PathBuf>,
}

impl SessionCore {
    /// The proxy state for `settings` (and, with `tlsTerminate`, its CA).
    pub fn start(settings: Settings, ask: Option<Arc<dyn Ask>>) -> Result<SessionCore, String> {
        let net = NetConfig::from_settings(&settings, |k| std::env::var(k).ok())?;
        let net_warnings = net.warnings.clone();
        let store = Store::with_ignore(settings.ignore_violations.clone().unwrap_or_default());
        let proxy = Proxy::for_session(&settings, net, ask, Arc::new(store))?;
        crate::descriptor_limit::raise();
        Ok(SessionCore { settings: Mutex::new(Arc::new(settings)), proxy, net_warnings, package: Vec::new() })
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.settings.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// New settings: the proxies use them from the next connection, wraps
    /// from the next wrap. Resolves to what the network settings left aside.
    pub fn update_config(&self, settings: Settings) -> Result<Vec<String>, String> {
        let net = NetConfig::from_settings(&settings, |k| std::env::var(k).ok())?;
        let warnings = net.warnings.clone();
        self.proxy.update_config(net)?;
        crate::credentials::rehost(&settings, &self.proxy.sentinels)?;
        *self.settings.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(settings);
        Ok(warnings)
    }

    /// Sets (or clears) the library's `filterRequest`, from the next request.
    pub fn set_request_filter(&self, filter: Option<Arc<dyn crate::proxy::filter::RequestFilter>>) {
        self.proxy.set_request_filter(filter);
    }

    /// The last violations recorded (at most 100), oldest first.
    pub fn recent_violations(&self) -> Vec<crate::violations::Violation> {
        self.proxy.violations.recent()
    }

    /// How many violations were ever recorded.
    pub fn violation_total(&self) -> u64 {
        self.proxy.violations.tallies().1
    }

    /// An allow list for the command wrapped with this id alone.
    pub fn register_command(&self, command_id: &str, allowed_domains: &[String]) -> Result<(), String> {
        self.proxy.register_command(command_id, allowed_domains)
    }

    /// Files no sandbox of the session may read (the CA key `tlsTerminate` named).
    pub fn secret_files(&self) -> Vec<PathBuf> {
        self.proxy.terminator().map(|t| t.secret_files()).unwrap_or_default()
    }
}
