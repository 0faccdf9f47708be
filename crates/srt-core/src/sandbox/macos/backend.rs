//! Running a command under `sandbox-exec`: the proxies on the host's
//! loopback (one port serving both protocols, which Seatbelt cannot keep
//! other local processes from, so it requires the session's token), the
//! profile that lets the command reach that port alone, the environment that
//! points its tools there, and the command's status.
//!
//! The program it runs is injectable, so the whole path runs on Linux in
//! tests against a stand-in `sandbox-exec`. Not wired to the CLI yet: srt
//! refuses to run commands on macOS until this has run on a real Mac.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use super::profile::{profile, ProfileInput};
use crate::config::Settings;
use crate::proxy::env::{proxy_env_at, ProxyEndpoint};
use crate::proxy::{serve, Client, NetConfig, Proxy};
use crate::violations::Store;

/// One command to run.
pub struct MacRun<'a> {
    pub settings: &'a Settings,
    pub argv: &'a [OsString],
    pub cwd: PathBuf,
    pub home: PathBuf,
    /// `/usr/bin/sandbox-exec` on a Mac.
    pub sandbox_exec: PathBuf,
    /// `/usr/bin/log`, to watch the denials; none: not watched.
    pub log: Option<PathBuf>,
    /// Paths the command must not write (srt's own, the settings file).
    pub protect: Vec<PathBuf>,
}

/// What a run ended with, and what its proxies refused.
pub struct MacOutcome {
    /// The command's status (128+N for death by signal N).
    pub status: i32,
    pub violations: Arc<Store>,
}

/// Runs the command; returns its status once it ends.
pub fn run(run: &MacRun<'_>) -> Result<MacOutcome, String> {
    use std::os::unix::process::ExitStatusExt;
    let net = NetConfig::from_settings(run.settings, |k| std::env::var(k).ok())?;
    let runtime = serve::runtime().map_err(|e| format!("cannot start the proxies: {e}"))?;
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot listen on the loopback: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let mut secret = [0u8; 16];
    crate::sys::random_bytes(&mut secret).map_err(|e| format!("cannot read random bytes: {e}"))?;
    let token: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let key = run.argv.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ");
    let violations = Arc::new(Store::with_ignore(run.settings.ignore_violations.clone().unwrap_or_default()));
    let proxy = Proxy::with_store(net, None, violations.clone());
    let client = Arc::new(Client::with_token(Some(key.clone()), token.clone()));
    serve::spawn_listener(runtime.handle(), listener, serve::Role::Filter, proxy, client)
        .map_err(|e| format!("cannot serve the proxies: {e}"))?;

    let suffix = super::log_monitor::session_suffix(&secret[..9]);
    let input = ProfileInput {
        settings: run.settings,
        cwd: run.cwd.clone(),
        home: run.home.clone(),
        tmpdir: None,
        http_port: port,
        socks_port: port,
        log_tag: super::log_monitor::log_tag(&key, &suffix),
        protect: run.protect.clone(),
    };
    let text = profile(&input, &crate::sandbox::paths::StdFs).text;
    let endpoint = ProxyEndpoint { http_port: port, socks_port: port, credentials: Some(("srt".into(), token)) };
    let ssh = crate::proxy::env::ssh_proxy_command(&std::env::current_exe().unwrap_or_default());
    let mut env = proxy_env_at(&endpoint, &ssh, std::env::var("GIT_SSH_COMMAND").ok().as_deref());
    env.push(("SANDBOX_RUNTIME".into(), "1".into()));
    let monitor = match &run.log {
        Some(log) => Some(Monitor::start(log, &suffix, violations.clone())?),
        None => None,
    };
    let status = std::process::Command::new(&run.sandbox_exec)
        .arg("-p")
        .arg(&text)
        .args(run.argv)
        .envs(env)
        .current_dir(&run.cwd)
        .status()
        .map_err(|e| format!("could not start {}: {e}", run.sandbox_exec.display()))?;
    drop(runtime);
    if let Some(monitor) = monitor {
        monitor.stop();
    }
    let status = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Ok(MacOutcome { status, violations })
}

/// `log stream` for the session's denials, read on a thread into the store.
struct Monitor {
    child: std::process::Child,
    reader: std::thread::JoinHandle<()>,
}

impl Monitor {
    fn start(log: &std::path::Path, suffix: &str, store: Arc<Store>) -> Result<Monitor, String> {
        use std::io::BufRead;
        let mut child = std::process::Command::new(log)
            .args(super::log_monitor::log_stream_args(suffix))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", log.display()))?;
        let out = child.stdout.take().ok_or("the log stream has no output")?;
        let suffix = suffix.to_string();
        let reader = std::thread::spawn(move || {
            let mut pending = String::new();
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                pending.push_str(&line);
                pending.push('\n');
                // A denial and its tag may come on two lines: read them together.
                // Only this session's (the predicate asks for them alone already).
                if line.contains("CMD64_") {
                    if line.contains(&suffix) {
                        for d in super::log_monitor::parse_lines(&pending) {
                            store.sandbox_denied(&d.line, d.command.as_deref());
                        }
                    }
                    pending.clear();
                }
            }
        });
        Ok(Monitor { child, reader })
    }

    /// Ends the stream once the command has ended (the kernel logs a denial
    /// as it happens; what came in by now is all there is).
    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.reader.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    /// A stand-in for sandbox-exec: keeps the profile it was given, runs the rest.
    fn stand_in(dir: &Path) -> PathBuf {
        let path = dir.join("sandbox-exec");
        let script = format!(
            "#!/bin/sh\n[ \"$1\" = -p ] || exit 99\nprintf '%s' \"$2\" > '{}/profile.sb'\nshift 2\nexec \"$@\"\n",
            dir.display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// A stand-in for `log stream`: one denial of this session (its suffix
    /// taken from the predicate), one of another session's, then waits.
    fn log_stand_in(dir: &Path) -> PathBuf {
        let path = dir.join("log");
        let script = format!(
            "#!/bin/sh\n\
             [ \"$1\" = stream ] || exit 99\n\
             suffix=$(printf '%s' \"$3\" | sed 's/.*ENDSWITH \"\\(.*\\)\")$/\\1/')\n\
             echo \"2025-01-15 10:23:45.123 E  kernel[0:1a2b] (Sandbox) Sandbox: cat(4321) deny(1) file-read-data /Users/u/.ssh/id_rsa CMD64_dHJ1ZQ==_END$suffix\"\n\
             echo \"2025-01-15 10:23:45.124 E  kernel[0:1a2c] (Sandbox) Sandbox: cat(9) deny(1) file-read-data /elsewhere CMD64_dHJ1ZQ==_END_other_SBX\"\n\
             touch '{}/log-ready'\n\
             exec sleep 60\n",
            dir.display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// Answers every request with 200 `hello`.
    fn web_server() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
            }
        });
        port
    }

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
        // What the command prints goes to a file (the test's stdout is not it).
        let out_file = dir.join("out");
        let argv: Vec<OsString> =
            ["/bin/sh", "-c", &format!("({script}) > '{}'", out_file.display())].map(OsString::from).into();
        let outcome = super::run(&MacRun {
            settings: &settings,
            argv: &argv,
            cwd: dir.clone(),
            home: dir.clone(),
            sandbox_exec: stand_in(&dir),
            log: Some(log_stand_in(&dir)),
            protect: vec![],
        })
        .unwrap();
        assert_eq!(outcome.status, 3);
        assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "200 407 403 ");
        let profile = std::fs::read_to_string(dir.join("profile.sb")).unwrap();
        assert!(profile.starts_with("(version 1)\n(deny default"), "{profile}");
        // The profile lets the command reach the proxies' port, and nothing else.
        let ports: Vec<&str> = profile.lines().filter(|l| l.contains("network-outbound")).collect();
        assert_eq!(ports.len(), 1, "{ports:?}");
        assert!(ports[0].starts_with("(allow network-outbound (remote ip \"localhost:"), "{ports:?}");
        assert!(
            outcome.violations.summary().iter().any(|l| l.contains("denied.example")),
            "{:?}",
            outcome.violations.summary()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
