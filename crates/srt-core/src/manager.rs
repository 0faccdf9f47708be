//! A library session (what `SandboxManager` wraps): the proxies, started
//! once, and any number of wrapped commands. A wrap is a command line the
//! caller runs later (`sh -c <string>`); its helper connects back to the
//! session's bridge socket with the wrap's token and hands over the
//! sandbox's proxy listeners, and srt serves them until the sandbox ends.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::UnixListener;

use crate::config::Settings;
use crate::proxy::serve;
use crate::proxy::{bridge, Ask, Client, Proxy};
use crate::sandbox::linux::placeholders::Claim;

/// A wrapped command: bubblewrap's argument vector, and the same as one
/// string for `sh -c` (what `wrapWithSandbox` returns).
pub struct Wrapped {
    pub argv: Vec<OsString>,
    pub command_line: String,
    pub warnings: Vec<String>,
}

/// A wrapped command line: it may be run any number of times while the
/// session lives.
struct Pending {
    key: Option<String>,
    list_id: Option<String>,
    /// The placeholders it relies on: held while the session lives, and
    /// beyond for as long as a sandbox of this line runs.
    claim: Claim,
    /// Its process and memory limits: cgroups are made and its helper moved
    /// in when it hands over, before the command starts.
    limits: crate::limits::Decision,
}

type PendingMap = Arc<Mutex<HashMap<String, Pending>>>;

pub struct Session {
    /// Settings, proxies, srt's own files (shared with macOS's session).
    core: crate::session_core::SessionCore,
    runtime: Option<tokio::runtime::Runtime>,
    dir: PathBuf,
    socket: PathBuf,
    helper: PathBuf,
    pending: PendingMap,
    /// Wraps not yet cleaned up (`cleanupAfterCommand`).
    active: Mutex<usize>,
    /// The session's TMPDIR, made by its first wrap, shared by its wraps
    /// only, and removed with the session.
    tmp: Mutex<Option<crate::sandbox::linux::private_tmp::PrivateTmp>>,
    /// With `tlsTerminate`: the CA bundle its sandboxes trust, in its directory.
    bundle: Option<crate::proxy::tls::BundleFile>,
    /// The files its sandboxes read in place of masked credential files:
    /// kept while any wrapped line may still run, that is, the session.
    fakes: Mutex<Vec<crate::credentials::FakeFiles>>,
}

/// bubblewrap's words for a shell line: each quoted, but the directory to
/// start in, which is the shell's own (`"$PWD"`): a line runs wherever its
/// caller spawns it, as in the original (the helper refuses a directory the
/// plan does not fit).
fn line_words(argv: &[OsString]) -> Vec<String> {
    let mut words: Vec<String> = argv.iter().map(|w| shell_quote_bytes(w)).collect();
    if let Some(i) = argv.iter().position(|w| w == "--chdir").filter(|i| i + 1 < words.len()) {
        words[i + 1] = "\"$PWD\"".into();
    }
    words
}

use crate::shell_words::shell_quote_bytes;

fn random_token() -> Result<String, String> {
    crate::sys::random_hex(16).map_err(|e| format!("cannot read random bytes: {e}"))
}

impl Session {
    /// Starts the proxies and the bridge socket. `helper` is the native `srt`
    /// binary (it runs inside every sandbox).
    pub fn start(settings: Settings, ask: Option<Arc<dyn Ask>>, helper: PathBuf) -> Result<Session, String> {
        let core = crate::session_core::SessionCore::start(settings, ask)?;
        let proxy = core.proxy.clone();
        let runtime = serve::runtime().map_err(|e| format!("cannot start the proxies: {e}"))?;
        let registry = crate::sandbox::linux::placeholders::Registry::open()?;
        let token = random_token()?;
        let dir = registry.dir().join(format!("session-{}-{}", std::process::id(), &token[..8]));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        sweep_sessions(registry.dir());
        let bundle = match proxy.terminator() {
            Some(t) => Some(crate::proxy::tls::bundle_file(&dir, &t.bundle_pem)?),
            None => None,
        };
        let socket = dir.join("bridge.sock");
        let pending: PendingMap = Arc::default();
        let listener = {
            let _guard = runtime.enter();
            UnixListener::bind(&socket).map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?
        };
        runtime.spawn(accept_bridges(listener, pending.clone(), proxy.clone()));
        Ok(Session {
            core,
            runtime: Some(runtime),
            dir,
            socket,
            helper,
            pending,
            active: Mutex::new(0),
            tmp: Mutex::new(None),
            bundle,
            fakes: Mutex::default(),
        })
    }

    /// Keeps `package` (srt's own files, as the front end knows them)
    /// read-only in every sandbox of the session.
    pub fn with_package(mut self, package: Vec<PathBuf>) -> Session {
        self.core.package = package;
        self
    }

    /// What `initialize` says: the proxy of srt's environment it left aside,
    /// and the limits the session's sandboxes would go without here.
    pub fn start_warnings(&self) -> Vec<String> {
        let mut warnings = self.core.net_warnings.clone();
        warnings.extend(self.limit_warnings());
        warnings
    }

    /// The limits the session's sandboxes would go without here, each said
    /// once (at `initialize`).
    pub fn limit_warnings(&self) -> Vec<String> {
        let settings = self.settings();
        let wanted = crate::limits::Wanted::from_settings(settings.limits.as_ref(), crate::limits::mem_total());
        crate::limits::probe(wanted, false).unheld().into_iter().map(|(_, _, message)| message).collect()
    }

    pub fn unregister_command(&self, command_id: &str) {
        self.proxy.unregister_command(command_id);
    }

    /// The bridge socket's path (the original's `getLinuxHttpSocketPath`).
    pub fn bridge_socket(&self) -> Option<&Path> {
        Some(&self.socket)
    }

    /// No proxy port on the host: each sandbox's listeners are inside it.
    pub fn proxy_ports(&self) -> Option<(u16, u16)> {
        None
    }

    /// `enableLogMonitor`: not on Linux yet (refused writes are not reported).
    pub fn watch_log(&self) -> Result<(), String> {
        Err("enableLogMonitor is not supported on Linux yet: refused file writes are not reported as violations (network refusals are)".into())
    }

    /// Wraps `command` (run by `shell -c`) in a sandbox under the session's
    /// settings (or `custom`; the proxies always filter with the session's),
    /// planned for the working directory `cwd` (else the process's).
    /// `command_id` attributes its violations and names its per-command list.
    pub fn wrap(
        &self,
        command: &str,
        shell: Option<&str>,
        custom: Option<&Settings>,
        command_id: Option<&str>,
        cwd: Option<PathBuf>,
    ) -> Result<Wrapped, crate::error::Error> {
        let settings = self.settings();
        let settings = custom.unwrap_or(&settings);
        let shell = crate::program_lookup::find_shell(shell.unwrap_or("bash"))?;
        let token = random_token()?;
        // Unique in the process (several sessions share its claim records).
        static WRAPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRAPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let checks = self.dir.join(format!("wrap-{n}.checks"));
        // The checks file exists before the plan binds it into the sandbox.
        let mut checks_file = create_private(&checks)?;
        let handover = crate::launch::Handover::Paths {
            bridge: self.socket.clone(),
            token: token.clone(),
            checks: checks.clone(),
        };
        let argv: Vec<OsString> = vec![shell.into(), "-c".into(), command.into()];
        let mut tmp = self.tmp.lock().unwrap_or_else(|e| e.into_inner());
        let session_tmp = tmp.as_ref().map(|t| t.path().to_path_buf());
        let tag = format!("w{n}");
        let hide = self.secret_files();
        let options = crate::launch::PrepareOptions {
            claim_tag: Some(&tag),
            cwd,
            session_tmp: session_tmp.as_deref(),
            package: &self.core.package,
            trust_bundle: self.bundle.as_ref().map(|b| b.path()),
            hide: &hide,
            sentinels: Some(&self.core.proxy.sentinels),
            ..Default::default()
        };
        let prepared = crate::launch::prepare(settings, argv, self.helper.clone(), &handover, options);
        let mut prepared = match prepared {
            Ok(p) => p,
            Err(e) => {
                let _ = std::fs::remove_file(&checks);
                return Err(e);
            }
        };
        drop(prepared.claim.take_lock());
        if tmp.is_none() {
            *tmp = prepared.tmp.take();
        }
        drop(tmp);
        std::io::Write::write_all(&mut checks_file, &prepared.expectations)
            .map_err(|e| format!("cannot write {}: {e}", checks.display()))?;
        drop(checks_file);
        // Once the session is gone (its directory with it), the line says so
        // itself rather than leave it to bubblewrap's "Can't find source path".
        let command_line = format!(
            "test -e {checks} || {{ echo 'srt: this sandboxed command line belongs to a SandboxManager session that has ended (reset() was called, or its process exited): wrap the command again' >&2; exit 1; }}; exec {argv}",
            checks = shell_quote_bytes(checks.as_os_str()),
            argv = line_words(&prepared.argv).join(" ")
        );
        if !prepared.fakes.is_empty() {
            self.fakes.lock().unwrap_or_else(|e| e.into_inner()).push(prepared.fakes);
        }
        let key = command_id.unwrap_or(command).to_string();
        let entry = Pending {
            key: Some(key),
            list_id: command_id.map(str::to_string),
            claim: prepared.claim,
            limits: prepared.limits,
        };
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).insert(token, entry);
        *self.active.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        Ok(Wrapped { argv: prepared.argv, command_line, warnings: prepared.warnings })
    }

    /// One wrapped command has ended. Its line stays runnable, and the
    /// placeholders it relies on stay in place, until `reset()`: agents run a
    /// line again, and its mount checks name those placeholders.
    pub fn cleanup_after_command(&self) {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        *active = active.saturating_sub(1);
    }

    /// Stops everything: proxies, listeners, bridge; removes placeholders.
    pub fn reset(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let _ = std::fs::remove_dir_all(&self.dir);
        self.tmp.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.fakes.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl std::ops::Deref for Session {
    type Target = crate::session_core::SessionCore;
    fn deref(&self) -> &Self::Target {
        &self.core
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A new file only its owner may read, open for writing: the mode is
/// checked when a file is opened, so the open descriptor is the only way
/// to write it (reopening it by path fails for everyone but root).
fn create_private(path: &Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o400)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Connections on the bridge socket not yet identified, at most.
const UNIDENTIFIED: usize = 16;
/// How long a connection on the bridge socket has to identify itself.
const IDENTIFY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Removes the directories of sessions whose process is gone.
fn sweep_sessions(registry: &Path) {
    let Ok(entries) = std::fs::read_dir(registry) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("session-")).and_then(|r| r.split('-').next()) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Whether the peer is what the token was given to: pid 1 of a pid
/// namespace one level below ours (the helper bubblewrap started, before the
/// command exists: a command allowed nested namespaces can make itself pid 1
/// only deeper down), and the very process whose pidfd came with the message.
fn sent_by_a_helper(peer: Option<i32>, pidfd: Option<&std::os::fd::OwnedFd>) -> bool {
    let Some(pid) = peer.filter(|p| *p > 0) else { return false };
    let same = pidfd.is_some_and(|fd| {
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap_or_default();
        info.lines().find_map(|l| l.strip_prefix("Pid:")).map(str::trim) == Some(pid.to_string().as_str())
    });
    is_sandbox_init(pid) && same
}

/// Whether `pid` is pid 1 of a pid namespace one level below ours.
fn is_sandbox_init(pid: i32) -> bool {
    let nspid = |who: &str| -> Vec<String> {
        let status = std::fs::read_to_string(format!("/proc/{who}/status")).unwrap_or_default();
        let line = status.lines().find_map(|l| l.strip_prefix("NSpid:")).unwrap_or_default();
        line.split_whitespace().map(str::to_string).collect()
    };
    let (theirs, ours) = (nspid(&pid.to_string()), nspid("self"));
    !ours.is_empty() && theirs.len() == ours.len() + 1 && theirs.last().is_some_and(|p| p == "1")
}

/// Accepts helpers on the bridge socket: each hands over its sandbox's
/// listeners with its wrap's token (once); srt serves them until the
/// sandbox's helper (pid 1 inside) exits, then releases the wrap's
/// placeholders.
async fn accept_bridges(listener: UnixListener, pending: PendingMap, proxy: Arc<Proxy>) {
    let unidentified = Arc::new(tokio::sync::Semaphore::new(UNIDENTIFIED));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors: wait rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        // Only a sandbox's helper may take one of the few places for a
        // connection that has not said who it is yet: a command that may use
        // unix sockets could otherwise hold them all, and no wrap would start.
        let peer = stream.peer_cred().ok().and_then(|c| c.pid());
        if !peer.is_some_and(|p| p > 0 && is_sandbox_init(p)) {
            continue;
        }
        let Ok(slot) = unidentified.clone().try_acquire_owned() else { continue };
        let pending = pending.clone();
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let read = async {
                loop {
                    stream.readable().await.ok()?;
                    match stream.try_io(Interest::READABLE, || bridge::receive_message(stream.as_raw_fd())) {
                        Ok(m) => return m,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                        Err(_) => return None,
                    }
                }
            };
            let Ok(Some(message)) = tokio::time::timeout(IDENTIFY_TIMEOUT, read).await else { return };
            drop(slot);
            let peer = stream.peer_cred().ok().and_then(|c| c.pid());
            // A token names its line's rules and nothing more: a command that
            // learnt one gains nothing by presenting it (only a sandbox's pid 1
            // can, and it would get the same rules again).
            let helper = peer.and_then(|p| u32::try_from(p).ok());
            let entry = match (sent_by_a_helper(peer, message.pidfd.as_ref()), message.token.as_ref(), helper) {
                (true, Some(t), Some(pid)) => {
                    let mut map = pending.lock().unwrap_or_else(|e| e.into_inner());
                    map.get_mut(t).map(|p| {
                        // The placeholders live as long as this sandbox, whatever becomes of us.
                        p.claim.tie_to_sandbox(pid);
                        (p.key.clone(), p.list_id.clone(), p.limits.clone())
                    })
                }
                _ => None,
            };
            let Some((key, list_id, limits)) = entry else {
                // What was sent is closed off the runtime's threads (a socket
                // can be made to block in close).
                tokio::task::spawn_blocking(move || drop(message));
                return;
            };
            // The helper waits for our answer before it starts anything: in
            // its cgroups now, everything inside will be.
            let cgroups = crate::limits::Cgroups::create(&limits)
                .and_then(|c| helper.map_or(Err("no helper pid".into()), |pid| c.adopt(pid)).map(|()| c));
            let cgroups = match cgroups {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!("limits: {e}");
                    let mut stream = stream;
                    let _ = stream.write_all(b"l").await;
                    tokio::task::spawn_blocking(move || drop(message));
                    return;
                }
            };
            let client = Arc::new(Client::with_list(key, list_id));
            let tasks = serve::serve_sandbox(&tokio::runtime::Handle::current(), message.listeners, &proxy, &client);
            let mut stream = stream;
            let _ = stream.write_all(b"k").await;
            // Serve until the sandbox ends (its pid 1 exits), then let go of its
            // sockets and placeholders. (The helper always sends a pidfd: see
            // `sent_by_a_helper`.)
            if let Some(pidfd) = message.pidfd {
                if let Ok(fd) = crate::sys::watch_readable(pidfd) {
                    let _ = fd.readable().await;
                }
            }
            for t in tasks {
                t.abort();
            }
            tokio::task::spawn_blocking(move || drop(cgroups));
        });
    }
}
