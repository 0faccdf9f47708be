//! Elsewhere than Linux the library has no sandbox to wrap commands in yet:
//! starting a session is refused, loudly, and so no session ever exists.
//! The same surface as Linux's, so that the addon builds on every OS.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Settings;
use crate::proxy::Ask;

/// A wrapped command (see Linux's).
pub struct Wrapped {
    pub argv: Vec<OsString>,
    pub command_line: String,
    pub warnings: Vec<String>,
}

/// A session that cannot exist here.
pub enum Session {}

impl Session {
    pub fn start(_: Settings, _: Option<Arc<dyn Ask>>, _: PathBuf) -> Result<Session, String> {
        Err(format!(
            "srt-rs cannot sandbox commands on {} yet; refusing to start a session that would run them unsandboxed",
            std::env::consts::OS
        ))
    }
    pub fn with_package(self, _: Vec<PathBuf>) -> Session {
        match self {}
    }
    pub fn start_warnings(&self) -> Vec<String> {
        match *self {}
    }
    pub fn wrap(
        &self,
        _: &str,
        _: Option<&str>,
        _: Option<&Settings>,
        _: Option<&str>,
        _: Option<PathBuf>,
    ) -> Result<Wrapped, crate::error::Error> {
        match *self {}
    }
    pub fn cleanup_after_command(&self) {
        match *self {}
    }
    pub fn update_config(&self, _: Settings) -> Result<Vec<String>, String> {
        match *self {}
    }
    pub fn set_request_filter(&self, _: Option<std::sync::Arc<dyn crate::proxy::filter::RequestFilter>>) {
        match *self {}
    }
    pub fn recent_violations(&self) -> Vec<crate::violations::Violation> {
        match *self {}
    }
    pub fn violation_total(&self) -> u64 {
        match *self {}
    }
    pub fn register_command(&self, _: &str, _: &[String]) -> Result<(), String> {
        match *self {}
    }
    pub fn unregister_command(&self, _: &str) {
        match *self {}
    }
    pub fn bridge_socket(&self) -> Option<&Path> {
        match *self {}
    }
    pub fn proxy_ports(&self) -> Option<(u16, u16)> {
        match *self {}
    }
    pub fn watch_log(&self) -> Result<(), String> {
        match *self {}
    }
}
