//! What this build enforces. A setting we accept is enforced, or the run is
//! refused with "not supported yet": never silently weaker (DESIGN.md).
//!
//! Three outcomes per key: enforced; refused (it would open something we cannot
//! police yet, or promise a protection we do not apply yet); or noted on stderr
//! (it configures a tool of the original that srt-rs does not use, or it only
//! has meaning on another platform, where ignoring it loosens nothing).

use super::{Issue, Settings};

/// A non-fatal remark about the settings, for stderr.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Returns the refusals (errors) and the notices for the given settings.
pub fn check_supported(s: &Settings) -> (Vec<Issue>, Vec<Notice>) {
    check_supported_on(s, std::env::consts::OS)
}

/// The same for the OS named `os` (as `std::env::consts::OS` names it).
fn check_supported_on(s: &Settings, os: &str) -> (Vec<Issue>, Vec<Notice>) {
    let mut refused = Vec::new();
    let mut notes = Vec::new();
    let mut refuse = |path: &str, why: &str| {
        refused.push(Issue { path: path.into(), message: format!("not supported yet ({why})") })
    };
    let n = &s.network;
    if n.require_host_match == Some(true) && (n.tls_terminate.is_none() || n.refuse_opaque_tunnels != Some(true)) {
        // Only a terminated tunnel shows srt its requests: an opaque one
        // (SOCKS5, an excluded host, bytes that are no TLS) could name anything.
        refuse(
            "network.requireHostMatch",
            "it needs network.tlsTerminate and network.refuseOpaqueTunnels: srt-rs checks the host of requests only in tunnels it terminates",
        );
    }
    if let Some(cr) = &s.credentials {
        for (i, f) in cr.files.iter().flatten().enumerate() {
            if let Some(Err(e)) = f.extract.as_deref().map(crate::credentials::extract::compile) {
                refuse(&format!("credentials.files[{i}].extract"), &e);
            }
        }
        for (i, v) in cr.env_vars.iter().flatten().enumerate() {
            let path = format!("credentials.envVars[{i}]");
            if let Some(Err(e)) = v.extract.as_deref().map(crate::credentials::extract::compile) {
                refuse(&format!("{path}.extract"), &e);
            }
        }
    }
    if s.java_agent_jar_path.is_some() {
        refuse("javaAgentJarPath", "the Java agent is not shipped yet");
    }
    if n.filter_request.is_some() {
        // JSON cannot hold the callback; the library passes it apart from the settings.
        refused.push(Issue {
            path: "network.filterRequest".into(),
            message: "filterRequest must be a function: it is a callback of the library (SandboxManager.initialize), and a settings file cannot hold one".into(),
        });
    }
    let mut note = |path: &str, message: &str| notes.push(Notice { path: path.into(), message: message.into() });
    if s.ripgrep.is_some() {
        note("ripgrep", "ignored: srt-rs scans for protected files natively and never runs ripgrep");
    }
    if s.socat_path.is_some() {
        note("socatPath", "ignored: srt-rs needs no socat");
    }
    if s.seccomp.is_some() {
        note("seccomp", "ignored: srt-rs applies its own built-in filters");
    }
    if os == "linux" {
        let mac_only = [
            ("allowPty", s.allow_pty.is_some()),
            ("allowAppleEvents", s.allow_apple_events.is_some()),
            ("enableWeakerNetworkIsolation", s.enable_weaker_network_isolation.is_some()),
            ("network.allowMachLookup", n.allow_mach_lookup.is_some()),
            ("network.allowLocalBinding", n.allow_local_binding.is_some()),
            ("network.allowUnixSockets", n.allow_unix_sockets.is_some()),
        ];
        for (key, present) in mac_only {
            if present {
                tracing::debug!("{key}: macOS only; nothing to do on Linux");
            }
        }
    }
    if os == "macos" {
        // Seatbelt has no per-sandbox count of processes or memory.
        if let Some(limits) = &s.limits {
            for (key, set) in [
                ("limits.maxProcesses", matches!(limits.max_processes, Some(super::schema::Limit::At(_)))),
                ("limits.maxMemoryMB", matches!(limits.max_memory_mb, Some(super::schema::Limit::At(_)))),
            ] {
                if set {
                    refused.push(Issue {
                        path: key.into(),
                        message: "not supported on macOS (Seatbelt cannot limit one sandbox's processes or memory); set it to null or remove it".into(),
                    });
                }
            }
        }
    }
    if s.windows.is_some() {
        tracing::debug!("windows: used on Windows only");
    }
    (refused, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_set_to_a_number_are_refused_on_macos_and_null_is_not() {
        let parse = |doc: &str| super::super::parse_settings(doc).unwrap().settings;
        let base = r#""network": {"allowedDomains": [], "deniedDomains": []}, "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []}"#;
        let set = parse(&format!(r#"{{{base}, "limits": {{"maxProcesses": 100, "maxMemoryMB": null}}}}"#));
        let (refused, _) = check_supported_on(&set, "macos");
        assert_eq!(refused.iter().map(|i| i.path.as_str()).collect::<Vec<_>>(), ["limits.maxProcesses"]);
        assert!(refused[0].message.contains("not supported on macOS"), "{refused:?}");
        assert!(check_supported_on(&set, "linux").0.is_empty());
        let none = parse(&format!(r#"{{{base}, "limits": {{"maxProcesses": null}}}}"#));
        assert!(check_supported_on(&none, "macos").0.is_empty());
    }

    #[test]
    fn require_host_match_needs_tls_termination() {
        let parse = |doc: &str| super::super::parse_settings(doc).unwrap().settings;
        let fs = r#""filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []}"#;
        let alone = parse(&format!(
            r#"{{"network": {{"allowedDomains": [], "deniedDomains": [], "requireHostMatch": true}}, {fs}}}"#
        ));
        let (refused, _) = check_supported_on(&alone, "linux");
        assert_eq!(refused.len(), 1);
        assert!(
            refused[0].message.contains("it needs network.tlsTerminate and network.refuseOpaqueTunnels"),
            "{refused:?}"
        );
        let terminated = parse(&format!(
            r#"{{"network": {{"allowedDomains": [], "deniedDomains": [], "requireHostMatch": true, "tlsTerminate": {{}}}}, {fs}}}"#
        ));
        assert_eq!(check_supported_on(&terminated, "linux").0.len(), 1, "opaque tunnels still allowed");
        let with = parse(&format!(
            r#"{{"network": {{"allowedDomains": [], "deniedDomains": [], "requireHostMatch": true, "refuseOpaqueTunnels": true, "tlsTerminate": {{}}}}, {fs}}}"#
        ));
        assert!(check_supported_on(&with, "linux").0.is_empty());
    }
}
