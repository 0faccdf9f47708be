//! Reading the settings file for the CLI, failing closed (reference §3.2):
//! only a missing default file falls back to the built-in defaults.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::{default_settings, parse_settings, ParseError, ParsedSettings};

/// Where the settings come from.
#[derive(Clone, Debug)]
pub enum SettingsSource {
    /// `~/.srt-settings.json`: absent means built-in defaults.
    Default(PathBuf),
    /// `--settings FILE`: absent is an error.
    Explicit(PathBuf),
}

impl SettingsSource {
    pub fn path(&self) -> &Path {
        match self {
            SettingsSource::Default(p) | SettingsSource::Explicit(p) => p,
        }
    }
}

/// Why the settings file was refused; `Display` gives the lines for stderr.
#[derive(Clone, Debug)]
pub struct LoadError {
    pub lines: Vec<String>,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.lines.join("\n"))
    }
}

const REFUSE_DEFAULTS: &str =
    "Refusing to run with the built-in defaults, which would drop the rules --settings asked for.";
const REFUSE_FILE: &str = "Refusing to run with the built-in defaults, which would drop this file's rules (its denyRead, allowRead and credential entries included).";

/// Loads, parses and validates the settings. `Ok(None)` path in the result
/// means the built-in defaults were used.
pub fn load_settings_file(source: &SettingsSource) -> Result<(ParsedSettings, Option<PathBuf>), LoadError> {
    let path = source.path();
    let shown = path.display();
    let fail = |first: String, second: &str| Err(LoadError { lines: vec![first, second.to_string()] });
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return match source {
                SettingsSource::Default(_) => {
                    tracing::debug!("No config found at {shown}, using default config");
                    Ok((ParsedSettings { settings: default_settings(), unknown_keys: Vec::new() }, None))
                }
                SettingsSource::Explicit(_) => fail(format!("Error: {shown} does not exist."), REFUSE_DEFAULTS),
            };
        }
        Err(e) => return fail(format!("Error: {shown} could not be read ({}).", errno_name(&e)), REFUSE_FILE),
    };
    let Ok(text) = String::from_utf8(text) else {
        return fail(format!("Error: {shown} is not valid JSON: it is not UTF-8 text"), REFUSE_FILE);
    };
    if text.trim().is_empty() {
        return fail(format!("Error: {shown} is empty. Delete it, or put a config in it."), REFUSE_FILE);
    }
    match parse_settings(&text) {
        Ok(parsed) => Ok((parsed, Some(path.to_path_buf()))),
        Err(ParseError::Json(m)) => fail(format!("Error: {shown} is not valid JSON: {m}"), REFUSE_FILE),
        Err(ParseError::Invalid(issues)) => {
            let mut lines = vec![format!("Error: {shown} does not hold a valid config:")];
            lines.extend(issues.iter().map(|i| format!("  {i}")));
            lines.push(REFUSE_FILE.to_string());
            Err(LoadError { lines })
        }
    }
}

fn errno_name(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => format!("{:?}", nix::errno::Errno::from_raw(code)),
        None => e.kind().to_string(),
    }
}
