//! One run of the `srt` CLI on macOS: a session of its own (the proxies on
//! the host's loopback, the log watch), the command started under
//! `sandbox-exec` with the caller's standard streams, its status, and what
//! was refused for the exit summary.
//!
//! The programs it runs are given to it, so the whole path runs on Linux in
//! tests against a stand-in `sandbox-exec` and `log`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use super::session::{MacSession, MacTools};
use crate::config::Settings;
use crate::run_control::{HostStdio, RunControl};

/// One command to run.
pub struct MacRun<'a> {
    pub settings: &'a Settings,
    pub argv: &'a [OsString],
    pub cwd: PathBuf,
    /// The native `srt` binary (ssh's ProxyCommand), kept read-only.
    pub helper: PathBuf,
    /// More paths the command must not write: srt's package, the settings file.
    pub protect: Vec<PathBuf>,
    pub tools: MacTools,
    /// Whether to stream Seatbelt's denials into the summary.
    pub watch_log: bool,
}

/// What a run ended with.
pub struct MacOutcome {
    /// The command's status (128+N for death by signal N).
    pub status: i32,
    /// What was refused, one line each (network and, watched, Seatbelt's).
    pub summary: Vec<String>,
    /// What could not be applied as written, or could not be watched.
    pub warnings: Vec<String>,
}

/// Runs the command with `stdio`; `control` passes signals to it.
pub fn run(run: MacRun<'_>, stdio: HostStdio, control: &Arc<RunControl>) -> Result<MacOutcome, String> {
    use std::os::unix::process::ExitStatusExt;
    let session = MacSession::start_with(run.settings.clone(), None, run.helper.clone(), run.tools.clone())?
        .with_package(run.protect.clone());
    let mut warnings = session.start_warnings();
    if run.watch_log {
        // Without the stream the run still goes on: only the report of
        // Seatbelt's refusals is lost, and the user is told so.
        if let Err(e) = session.watch_log() {
            warnings.push(format!("{e}; file and process refusals will not be listed"));
        }
    }
    let (mut command, planned) = session.command(run.argv, run.cwd.clone()).map_err(|e| e.message)?;
    warnings.extend(planned);
    command.stdin(stdio.stdin).stdout(stdio.stdout).stderr(stdio.stderr);
    let mut child =
        command.spawn().map_err(|e| format!("could not start {}: {e}", run.tools.sandbox_exec.display()))?;
    if let Ok(pid) = i32::try_from(child.id()) {
        control.set_helper(pid);
    }
    // Its end is awaited without reaping it: until then its pid cannot be
    // another process's, so a signal passed on cannot reach a stranger.
    if let Ok(pid) = i32::try_from(child.id()) {
        crate::sys::wait_ended_unreaped(pid).map_err(|e| format!("could not wait for the command: {e}"))?;
    }
    control.finish();
    let status = child.wait().map_err(|e| format!("could not wait for the command: {e}"))?;
    session.stop_watching();
    let status = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Ok(MacOutcome { status, summary: session.violation_summary(), warnings })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{log_stand_in, stand_in, web_server};
    use super::*;
    use std::path::Path;

    #[test]
    fn a_command_reaches_only_what_the_settings_allow_through_token_proxies_under_its_profile() {
        if std::process::Command::new("curl").arg("--version").output().is_err() {
            eprintln!("skipped: no curl");
            return;
        }
        let dir = std::env::temp_dir().join(format!("srt-mac-backend-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let upstream = web_server();
        let settings = crate::config::parse_settings(&format!(
            r#"{{"network": {{"allowedDomains": ["127.0.0.1:{upstream}"], "deniedDomains": []}},
                "filesystem": {{"denyRead": [], "allowWrite": ["."], "denyWrite": []}}}}"#
        ))
        .unwrap()
        .settings;
        // Through the proxies as the environment says; the proxy without its
        // token; a host the settings do not allow; then the command's own status.
        let script = format!(
            "unset NO_PROXY no_proxy; code() {{ curl -sS -o /dev/null -w '%{{http_code}} ' \"$@\"; }}; \
             code http://127.0.0.1:{upstream}/; \
             code -x \"http://localhost:${{HTTPS_PROXY##*:}}\" http://127.0.0.1:{upstream}/; \
             code http://denied.example/; \
             i=0; while [ ! -e '{ready}' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; exit 3",
            ready = dir.join("log-ready").display()
        );
        // The command's standard streams are the run's: files here.
        let out_file = dir.join("out");
        let file = |p: &Path| std::os::fd::OwnedFd::from(std::fs::File::create(p).unwrap());
        let stdio = HostStdio {
            stdin: std::os::fd::OwnedFd::from(std::fs::File::open("/dev/null").unwrap()),
            stdout: file(&out_file),
            stderr: file(&dir.join("err")),
        };
        let argv: Vec<OsString> = ["/bin/sh", "-c", &script].map(OsString::from).into();
        let tools = MacTools { sandbox_exec: stand_in(&dir), log: log_stand_in(&dir) };
        let run = MacRun {
            settings: &settings,
            argv: &argv,
            cwd: dir.clone(),
            helper: PathBuf::from("/opt/srt/srt"),
            protect: vec![],
            tools,
            watch_log: true,
        };
        let outcome = super::run(run, stdio, &RunControl::new()).unwrap();
        assert_eq!(outcome.status, 3);
        assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "200 407 403 ");
        let profile = std::fs::read_to_string(dir.join("profile.sb")).unwrap();
        assert!(profile.starts_with("(version 1)\n(deny default"), "{profile}");
        // The profile lets the command reach the proxies' port, and nothing else.
        let ports: Vec<&str> = profile.lines().filter(|l| l.contains("network-outbound")).collect();
        assert_eq!(ports.len(), 1, "{ports:?}");
        assert!(ports[0].starts_with("(allow network-outbound (remote ip \"localhost:"), "{ports:?}");
        // The summary: the proxy's refusal, and Seatbelt's denial of this
        // session (not another session's).
        let summary = outcome.summary.join("\n");
        assert!(summary.contains("denied.example"), "{summary}");
        assert!(summary.contains("  file-read-data /Users/u/.ssh/id_rsa (by cat)"), "{summary}");
        assert!(!summary.contains("/elsewhere"), "{summary}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
