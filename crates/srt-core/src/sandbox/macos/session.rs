//! A macOS session (what `SandboxManager` wraps there, and what one CLI run
//! uses): the proxies on the host's loopback, started once, and any number
//! of commands under `sandbox-exec`, each with a profile of its own.
//!
//! Seatbelt cannot give a command a network of its own, so the proxies
//! listen where every local process can reach them: each wrap gets a secret
//! of its own as its proxy password (it names the command for attribution
//! and its per-command list), and the listener serves no one else.
//!
//! Compiled on every Unix: the programs it runs (`sandbox-exec`, `log`) are
//! given to it, so tests on Linux run it all against stand-ins.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::command::{command_line, SandboxExec};
use super::log_monitor::{log_tag, session_suffix};
use super::log_watch::LogWatch;
use super::profile::{profile, ProfileInput};
use crate::config::Settings;
use crate::error::{Error, ErrorCode};
use crate::proxy::clients::{Clients, Tokens};
use crate::proxy::env::{proxy_env_at, ProxyEndpoint};
use crate::proxy::{serve, Ask, Client};
use crate::session_core::SessionCore;

/// The programs a session runs.
#[derive(Clone, Debug)]
pub struct MacTools {
    /// `/usr/bin/sandbox-exec` on a Mac.
    pub sandbox_exec: PathBuf,
    /// `/usr/bin/log`, which streams the denials.
    pub log: PathBuf,
}

impl MacTools {
    /// macOS's own, at the paths it ships them (never looked up on PATH,
    /// where a directory the user writes could shadow them).
    pub fn system() -> MacTools {
        MacTools { sandbox_exec: PathBuf::from("/usr/bin/sandbox-exec"), log: PathBuf::from("/usr/bin/log") }
    }

    /// Whether `sandbox-exec` is there to run (the one dependency on macOS).
    pub fn check(&self) -> Result<(), String> {
        if crate::program_lookup::is_executable(&self.sandbox_exec) {
            Ok(())
        } else {
            Err(format!(
                "sandbox-exec is not available at {} (macOS ships it; srt cannot sandbox without it)",
                self.sandbox_exec.display()
            ))
        }
    }
}

/// `checkDependencies()` on macOS: the system's `sandbox-exec`.
pub fn check_sandbox_exec() -> Result<(), String> {
    MacTools::system().check()
}

/// A wrapped command (what `wrapWithSandbox` returns).
pub struct Wrapped {
    pub argv: Vec<OsString>,
    pub command_line: String,
    pub warnings: Vec<String>,
}

/// A command ready to start under `sandbox-exec`.
pub struct Prepared {
    pub profile: String,
    /// Variables to remove, then to set, in the command's environment.
    pub unset: Vec<String>,
    pub set: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

pub struct MacSession {
    /// Settings, proxies, srt's own files (shared with Linux's session).
    core: SessionCore,
    runtime: Option<tokio::runtime::Runtime>,
    /// srt's own listener on 127.0.0.1 (both protocols).
    port: u16,
    tokens: Arc<Tokens>,
    /// What every log tag of the session ends with.
    suffix: String,
    watch: Mutex<Option<LogWatch>>,
    tools: MacTools,
    /// The native `srt` binary (ssh's ProxyCommand; kept read-only).
    helper: PathBuf,
    /// The session's TMPDIR: private to this user, removed with the session.
    tmp: PathBuf,
    /// With `tlsTerminate`: the CA bundle its commands trust, in its TMPDIR.
    bundle: Option<crate::proxy::tls::BundleFile>,
}

fn random_hex(bytes: usize) -> Result<String, String> {
    crate::sys::random_hex(bytes).map_err(|e| format!("cannot read random bytes: {e}"))
}

impl MacSession {
    /// Starts the proxies, with macOS's own programs.
    pub fn start(settings: Settings, ask: Option<Arc<dyn Ask>>, helper: PathBuf) -> Result<MacSession, String> {
        MacSession::start_with(settings, ask, helper, MacTools::system())
    }

    /// Starts the proxies on 127.0.0.1; commands will run under `tools`.
    pub fn start_with(
        settings: Settings,
        ask: Option<Arc<dyn Ask>>,
        helper: PathBuf,
        tools: MacTools,
    ) -> Result<MacSession, String> {
        tools.check()?;
        let core = SessionCore::start(settings, ask)?;
        let proxy = core.proxy.clone();
        let runtime = serve::runtime().map_err(|e| format!("cannot start the proxies: {e}"))?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("cannot listen on the loopback for the proxies: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let tokens = Tokens::new();
        serve::spawn_listener(
            runtime.handle(),
            listener,
            serve::Role::Filter,
            proxy.clone(),
            Clients::Tokens(tokens.clone()),
        )
        .map_err(|e| format!("cannot serve the proxies: {e}"))?;
        let mut random = [0u8; 9];
        crate::sys::random_bytes(&mut random).map_err(|e| format!("cannot read random bytes: {e}"))?;
        let tmp = std::env::temp_dir().join(format!("srt-{}-{}", std::process::id(), random_hex(4)?));
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&tmp)
                .map_err(|e| format!("cannot make the sandbox's TMPDIR {}: {e}", tmp.display()))?;
        }
        let tmp = std::fs::canonicalize(&tmp).unwrap_or(tmp);
        // Beside TMPDIR, not in it: TMPDIR is the commands' to write.
        let bundle = match proxy.terminator() {
            Some(t) => {
                let dir = PathBuf::from(format!("{}.trust", tmp.display()));
                {
                    use std::os::unix::fs::DirBuilderExt;
                    std::fs::DirBuilder::new()
                        .mode(0o700)
                        .create(&dir)
                        .map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
                }
                Some(crate::proxy::tls::bundle_file(&dir, &t.bundle_pem)?)
            }
            None => None,
        };
        Ok(MacSession {
            core,
            runtime: Some(runtime),
            port,
            tokens,
            suffix: session_suffix(&random),
            watch: Mutex::new(None),
            tools,
            helper,
            tmp,
            bundle,
        })
    }

    /// Keeps `package` (srt's own files, as the front end knows them)
    /// read-only in every sandbox of the session.
    pub fn with_package(mut self, package: Vec<PathBuf>) -> MacSession {
        self.core.package = package;
        self
    }

    /// Streams the session's Seatbelt denials into the violation store
    /// (`enableLogMonitor`). Started once; later calls change nothing.
    pub fn watch_log(&self) -> Result<(), String> {
        let mut watch = self.watch.lock().unwrap_or_else(|e| e.into_inner());
        if watch.is_none() {
            *watch = Some(LogWatch::start(&self.tools.log, &self.suffix, self.proxy.violations.clone())?);
        }
        Ok(())
    }

    /// Waits a little for denials still on their way, then stops the stream
    /// (the kernel logs a denial as it happens; the stream lags it).
    pub fn stop_watching(&self) {
        if let Some(watch) = self.watch.lock().unwrap_or_else(|e| e.into_inner()).take() {
            watch.stop();
        }
    }

    /// What `initialize` says: the proxy of srt's environment it left aside.
    pub fn start_warnings(&self) -> Vec<String> {
        self.net_warnings.clone()
    }

    /// The violations of the session, one line each, for the CLI's summary.
    pub fn violation_summary(&self) -> Vec<String> {
        self.proxy.violations.summary()
    }

    /// Drops the command's list, and the secrets of the lines wrapped with
    /// its id: they reach nothing any more (a line that left its secret
    /// where a later command reads it cannot lend that command its list).
    pub fn unregister_command(&self, command_id: &str) {
        self.proxy.unregister_command(command_id);
        self.tokens.revoke_list(command_id);
    }

    /// No bridge socket on macOS: the proxies are on the loopback.
    pub fn bridge_socket(&self) -> Option<&Path> {
        None
    }

    /// The ports the commands reach their proxies on: HTTP and SOCKS (srt's
    /// one listener serves both, unless the settings name external ones).
    pub fn proxy_ports(&self) -> Option<(u16, u16)> {
        Some(self.ports_in(&self.proxy.config()))
    }

    /// The HTTP and SOCKS ports under `config`: its external ones, else srt's listener.
    fn ports_in(&self, config: &crate::proxy::NetConfig) -> (u16, u16) {
        (config.external_http.unwrap_or(self.port), config.external_socks.unwrap_or(self.port))
    }

    /// The profile and environment for a command attributed to `key`, its
    /// per-command list under `list_id`, planned for `cwd`.
    pub fn prepare(
        &self,
        key: &str,
        list_id: Option<&str>,
        custom: Option<&Settings>,
        cwd: Option<PathBuf>,
    ) -> Result<Prepared, Error> {
        let settings = self.settings();
        let settings = custom.unwrap_or(&settings);
        let cwd = match cwd {
            Some(c) => c,
            None => std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?,
        };
        let cwd = std::fs::canonicalize(&cwd)
            .map_err(|e| Error::new(ErrorCode::Failed, format!("the working directory {}: {e}", cwd.display())))?;
        // One reading of the network rules for the ports, the profile and the environment.
        let config = self.proxy.config();
        let (http_port, socks_port) = self.ports_in(&config);
        let secret = random_hex(16)?;
        // The session's CA key is never the command's to read, whatever these settings say.
        let secret_files = self.secret_files();
        let as_denied = crate::credentials::masked_file_paths(settings, &cwd, &crate::launch::home_dir());
        let denied = crate::credentials::with_denied_files(settings, &as_denied);
        let hidden = crate::proxy::tls::hide_files(&crate::proxy::mitm::with_socket_protected(&denied), &secret_files);
        let settings = &hidden;
        let credential_env = crate::credentials::plan_env(settings, &self.proxy.sentinels, |k| std::env::var_os(k))?;
        let mut protect = crate::launch::own_paths(&self.helper, &self.package);
        // The bundle every command of the session trusts: no command may change it.
        protect.extend(self.bundle.as_ref().and_then(|b| b.path().parent().map(Path::to_path_buf)));
        let input = ProfileInput {
            settings,
            cwd,
            home: crate::launch::home_dir(),
            tmpdir: Some(self.tmp.clone()),
            http_port,
            socks_port,
            log_tag: log_tag(key, &self.suffix),
            protect,
        };
        let planned = profile(&input, &crate::sandbox::paths::StdFs).map_err(|e| Error::new(ErrorCode::Refused, e))?;
        let endpoint = ProxyEndpoint {
            host: "127.0.0.1".into(),
            http_port,
            socks_port,
            credentials: Some(("srt".into(), secret.clone())),
            external: config.external_http.into_iter().chain(config.external_socks).collect(),
        };
        let ssh = crate::proxy::env::ssh_proxy_command(&self.helper);
        let mut set = vec![("SANDBOX_RUNTIME".to_string(), "1".to_string())];
        set.push(("TMPDIR".into(), self.tmp.display().to_string()));
        // The caller's values srt extends, unless they are credentials.
        let caller = |name: &str| credential_env.caller_part(name, std::env::var(name).ok());
        set.extend(proxy_env_at(&endpoint, &ssh, caller("GIT_SSH_COMMAND").as_deref()));
        // Java ignores the variables. Its sockets are dual-stack, and Seatbelt's
        // `localhost:N` does not match 127.0.0.1 written as an IPv6 address, so
        // the IPv4 stack; the proxy then asks for the line's secret, which a
        // JVM without the original's agent cannot give (see the README).
        let java = crate::proxy::env::java_tool_options_at(
            "127.0.0.1",
            http_port,
            socks_port,
            caller("JAVA_TOOL_OPTIONS").as_deref(),
        );
        set.push(("JAVA_TOOL_OPTIONS".into(), format!("{java} -Djava.net.preferIPv4Stack=true")));
        if let Some(bundle) = &self.bundle {
            let path = bundle.path().display().to_string();
            set.extend(crate::proxy::tls::CA_TRUST_VARS.iter().map(|v| (v.to_string(), path.clone())));
        }
        let git_count = caller("GIT_CONFIG_COUNT");
        set.extend(crate::sandbox::git_safe::settings_env(settings, &input.cwd, &input.home, git_count.as_deref()));
        let client = Client::with_list(Some(key.to_string()), list_id.map(str::to_string));
        self.tokens.insert(secret, Arc::new(client));
        // Last: a masked variable's sentinel wins over anything above.
        set.extend(credential_env.set);
        let mut warnings = planned.warnings;
        warnings.extend(credential_env.warnings);
        Ok(Prepared { profile: planned.text, unset: credential_env.unset, set, warnings })
    }

    /// Wraps `command` (run by `shell -c`) for `sh -c`: the original's
    /// `env … sandbox-exec -p '<profile>' <shell> -c '<command>'`.
    pub fn wrap(
        &self,
        command: &str,
        shell: Option<&str>,
        custom: Option<&Settings>,
        command_id: Option<&str>,
        cwd: Option<PathBuf>,
    ) -> Result<Wrapped, Error> {
        let shell = crate::program_lookup::find_shell(shell.unwrap_or("bash"))?;
        let prepared = self.prepare(command_id.unwrap_or(command), command_id, custom, cwd)?;
        let line = command_line(&SandboxExec {
            sandbox_exec: &self.tools.sandbox_exec,
            profile: &prepared.profile,
            shell: &shell,
            command,
            unset: &prepared.unset,
            set: &prepared.set,
        });
        // The line's own words: the environment is part of it.
        let argv = vec!["/bin/sh".into(), "-c".into(), line.clone().into()];
        Ok(Wrapped { argv, command_line: line, warnings: prepared.warnings })
    }

    /// `argv` under `sandbox-exec`, as a process to start (the CLI's run:
    /// no shell in between, so every argument arrives as it was given).
    pub fn command(&self, argv: &[OsString], cwd: PathBuf) -> Result<(std::process::Command, Vec<String>), Error> {
        let key: Vec<String> = argv.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        let prepared = self.prepare(&key.join(" "), None, None, Some(cwd.clone()))?;
        let mut command = std::process::Command::new(&self.tools.sandbox_exec);
        command.arg("-p").arg(&prepared.profile).args(argv).current_dir(cwd);
        for name in &prepared.unset {
            command.env_remove(name);
        }
        command.envs(prepared.set);
        Ok((command, prepared.warnings))
    }

    /// Nothing to clean per command on macOS (no mount points).
    pub fn cleanup_after_command(&self) {}
}

impl std::ops::Deref for MacSession {
    type Target = SessionCore;
    fn deref(&self) -> &Self::Target {
        &self.core
    }
}

impl Drop for MacSession {
    fn drop(&mut self) {
        self.stop_watching();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
        let _ = std::fs::remove_dir_all(&self.tmp);
        if let Some(bundle) = self.bundle.take() {
            let dir = bundle.path().parent().map(Path::to_path_buf);
            drop(bundle);
            if let Some(dir) = dir {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{log_stand_in, stand_in, web_server};
    use super::*;
    use std::process::Command;

    fn settings(json: &str) -> Settings {
        crate::config::parse_settings(json).unwrap().settings
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("srt-mac-session-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::canonicalize(&dir).unwrap()
    }

    fn session_in(dir: &Path, json: &str) -> MacSession {
        let tools = MacTools { sandbox_exec: stand_in(dir), log: log_stand_in(dir) };
        MacSession::start_with(settings(json), None, PathBuf::from("/opt/srt/srt"), tools).unwrap()
    }

    /// What `sh -c line` printed on stdout.
    fn run_line(line: &str, dir: &Path) -> String {
        let out = Command::new("sh").arg("-c").arg(line).current_dir(dir).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The value a wrapped line sets for `name`.
    fn set_in_line(line: &str, name: &str) -> Option<String> {
        let start = line.find(&format!(" {name}="))? + name.len() + 2;
        Some(line[start..].split(' ').next()?.to_string())
    }

    #[test]
    fn each_wrapped_line_runs_under_its_profile_with_a_secret_of_its_own() {
        if Command::new("curl").arg("--version").output().is_err() {
            eprintln!("skipped: no curl");
            return;
        }
        let dir = scratch("lines");
        let upstream = web_server();
        let session = session_in(
            &dir,
            r#"{"network": {"allowedDomains": [], "deniedDomains": []},
                "filesystem": {"denyRead": [], "allowWrite": ["."], "denyWrite": []}}"#,
        );
        // One command id may reach the upstream (its per-command list); the
        // same command without it may not.
        let id = "c0mmand-id-with-128-random-bits";
        session.register_command(id, &[format!("127.0.0.1:{upstream}")]).unwrap();
        let command =
            format!("unset NO_PROXY no_proxy; curl -sS -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{upstream}/");
        let listed = session.wrap(&command, Some("/bin/sh"), None, Some(id), Some(dir.clone())).unwrap();
        let plain = session.wrap(&command, Some("/bin/sh"), None, None, Some(dir.clone())).unwrap();
        assert_eq!(run_line(&listed.command_line, &dir), "200");
        assert_eq!(run_line(&plain.command_line, &dir), "403");
        // The refusal is the plain line's, by its command text.
        let seen = session.recent_violations();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0].command.as_deref(), Some(command.as_str()));

        // The original's shape, the profile the stand-in was given, and a
        // secret per line.
        let line = &plain.command_line;
        assert!(line.starts_with("/usr/bin/env "), "{line}");
        assert!(line.contains(" -p '(version 1)\n(deny default"), "{line}");
        assert!(line.ends_with(&format!(" /bin/sh -c {}", crate::shell_words::shell_quote(&command))), "{line}");
        let profile = std::fs::read_to_string(dir.join("profile.sb")).unwrap();
        assert!(
            line.contains(&crate::shell_words::shell_quote(&profile)),
            "the line runs the profile the stand-in got"
        );
        let (http, socks) = session.proxy_ports().unwrap();
        assert_eq!(http, socks, "one listener serves both protocols");
        assert!(profile.contains(&format!("(remote ip \"localhost:{http}\")")), "{profile}");
        let (a, b) = (set_in_line(&listed.command_line, "HTTPS_PROXY"), set_in_line(line, "HTTPS_PROXY"));
        assert!(a.as_deref().is_some_and(|a| a.starts_with("http://srt:")), "{a:?}");
        assert_ne!(a, b, "two lines, two secrets");

        // Another local process, without a line's secret, gets nowhere.
        let out = Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-x", &format!("http://127.0.0.1:{http}")])
            .arg(format!("http://127.0.0.1:{upstream}/"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "407");

        // Unregistered, the listed line's secret opens nothing.
        session.unregister_command(id);
        assert_eq!(run_line(&listed.command_line, &dir), "407");
        session.register_command(id, &[format!("127.0.0.1:{upstream}")]).unwrap();

        // The TMPDIR the lines get is the session's, private, and goes with it.
        let tmp = PathBuf::from(set_in_line(line, "TMPDIR").unwrap());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&tmp).unwrap().permissions().mode() & 0o777, 0o700);
        drop(session);
        assert!(!tmp.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn external_proxies_are_pointed_at_without_the_sessions_secret() {
        let dir = scratch("external");
        let session = session_in(
            &dir,
            r#"{"network": {"allowedDomains": [], "deniedDomains": [], "httpProxyPort": 18080}, "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []}}"#,
        );
        let (http, socks) = session.proxy_ports().unwrap();
        assert_eq!(http, 18080);
        assert_ne!(socks, 18080);
        let line = session.wrap("true", Some("/bin/sh"), None, None, Some(dir.clone())).unwrap().command_line;
        assert_eq!(set_in_line(&line, "HTTP_PROXY").as_deref(), Some("http://127.0.0.1:18080"));
        let ftp = set_in_line(&line, "FTP_PROXY").unwrap();
        assert!(ftp.starts_with("socks5h://srt:") && ftp.ends_with(&format!("@127.0.0.1:{socks}")), "{ftp}");
        drop(session);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_log_watch_brings_this_sessions_denials_into_the_store() {
        let dir = scratch("watch");
        let session = session_in(
            &dir,
            r#"{"network": {"allowedDomains": [], "deniedDomains": []}, "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []}}"#,
        );
        session.watch_log().unwrap();
        let ready = dir.join("log-ready");
        for _ in 0..600 {
            if ready.exists() && !session.recent_violations().is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let seen = session.recent_violations();
        assert_eq!(seen.len(), 1, "only this session's denial: {seen:?}");
        assert_eq!(seen[0].line, "cat(4321) deny(1) file-read-data /Users/u/.ssh/id_rsa");
        assert_eq!(seen[0].command.as_deref(), Some("true"));
        drop(session);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_sandbox_exec_refuses_the_session() {
        let tools = MacTools { sandbox_exec: PathBuf::from("/nonexistent/sandbox-exec"), log: PathBuf::from("/x") };
        let err =
            MacSession::start_with(Settings::default(), None, PathBuf::from("/opt/srt/srt"), tools).err().unwrap();
        assert!(err.contains("sandbox-exec is not available at /nonexistent/sandbox-exec"), "{err}");
    }
}
