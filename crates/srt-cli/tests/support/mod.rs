//! What the end-to-end tests share: the `srt` binary under test, a private
//! directory per test, and the tools a test needs.

#![allow(dead_code)] // each test file uses its own part

use std::path::PathBuf;
use std::process::Command;

/// The `srt` binary cargo built for these tests.
pub fn srt() -> &'static str {
    env!("CARGO_BIN_EXE_srt")
}

/// The first of `tools` this machine lacks.
pub fn missing_tool(tools: &[&'static str]) -> Option<&'static str> {
    tools.iter().copied().find(|tool| Command::new(tool).arg("--version").output().is_err())
}

/// Output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A private directory for one test (HOME and working directory), removed at the end.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("srt-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Writes a settings file here with `network` and `filesystem` (JSON
    /// objects' insides) and `extra` top-level keys; returns its path.
    pub fn settings(&self, network: &str, filesystem: &str, extra: &str) -> PathBuf {
        let path = self.0.join("settings.json");
        let network = if network.is_empty() { String::new() } else { format!(", {network}") };
        let filesystem = if filesystem.is_empty() {
            r#""denyRead": [], "allowWrite": [], "denyWrite": []"#.to_string()
        } else {
            filesystem.to_string()
        };
        let extra = if extra.is_empty() { String::new() } else { format!(", {extra}") };
        std::fs::write(
            &path,
            format!(
                r#"{{"network": {{"allowedDomains": [], "deniedDomains": []{network}}}, "filesystem": {{{filesystem}}}{extra}}}"#
            ),
        )
        .unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
