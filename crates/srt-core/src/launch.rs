//! From validated settings and a command to a finished sandboxed run: the
//! effects around the pure plan (finding bubblewrap, the temp directory,
//! the environment) and the run itself.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::config::Settings;
#[cfg(target_os = "linux")]
use crate::error::{Error, ErrorCode};

/// How the helper gets what srt hands it.
pub enum Handover {
    /// The CLI: srt spawns bubblewrap and hands it descriptors (3 to 7).
    Descriptors { tty: bool },
    /// The library: a command line the caller runs later. The helper
    /// connects to the session's bridge socket (bound into the sandbox) with
    /// the wrap's token, and reads its mount checks from a file.
    Paths { bridge: PathBuf, token: String, checks: PathBuf },
}

/// A sandbox ready to start: bubblewrap's argument vector and what goes with it.
#[cfg(target_os = "linux")]
pub struct Prepared {
    pub argv: Vec<OsString>,
    /// What the helper checks before the command starts.
    pub expectations: Vec<u8>,
    /// The placeholders this sandbox relies on (and, until taken, the registry lock).
    pub claim: crate::sandbox::linux::placeholders::Claim,
    /// The command as violations name it.
    pub key: String,
    pub warnings: Vec<String>,
    /// What this run protects that a failed command's note speaks of.
    pub protected: crate::hints::Protected,
    /// The sandbox's TMPDIR when this run made it (removed when dropped).
    pub tmp: Option<crate::sandbox::linux::private_tmp::PrivateTmp>,
    /// The sandbox's process and memory limits, and what holds each.
    pub limits: crate::limits::Decision,
    /// The files read in place of masked ones, for as long as the command may run.
    pub fakes: crate::credentials::FakeFiles,
}

/// What a sandboxed command must not rewrite, lest srt run it outside the
/// sandbox next time: the helper's directory, the package and launcher
/// directory the npm bin names (`SRT_PACKAGE_ROOT`, `SRT_LAUNCHER_DIR`: they
/// can only add protection), and the package the front end names.
pub(crate) fn own_paths(helper: &Path, package: &[PathBuf]) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = helper.parent().map(Path::to_path_buf).into_iter().collect();
    for var in ["SRT_PACKAGE_ROOT", "SRT_LAUNCHER_DIR"] {
        paths.extend(std::env::var_os(var).map(PathBuf::from).filter(|p| p.is_absolute()));
    }
    paths.extend(package.iter().filter(|p| p.is_absolute()).cloned());
    let mut own: Vec<PathBuf> = paths.into_iter().map(|p| std::fs::canonicalize(&p).unwrap_or(p)).collect();
    own.sort();
    own.dedup();
    own
}

/// What varies between the CLI's runs and the library's wraps.
#[derive(Default)]
pub struct PrepareOptions<'a> {
    /// Names this sandbox's record of placeholders (a library wrap's).
    pub claim_tag: Option<&'a str>,
    /// The working directory to plan for, else the process's.
    pub cwd: Option<PathBuf>,
    /// More paths (relative to the working directory) to keep read-only.
    pub also_protect: &'a [PathBuf],
    /// The session's TMPDIR (library); without it, each run makes its own.
    pub session_tmp: Option<&'a Path>,
    /// srt's own files the front end knows of (the Node package's root: its
    /// `bin/`, `lib/`, `index.js` run outside the sandbox), kept read-only.
    pub package: &'a [PathBuf],
    /// With `tlsTerminate`: the CA bundle file the sandbox trusts.
    pub trust_bundle: Option<&'a Path>,
    /// Files the command may not read whatever the settings say (the session's CA key).
    pub hide: &'a [PathBuf],
    /// The session's masked credentials (`credentials`): their sentinels go
    /// into the sandbox's environment and files.
    pub sentinels: Option<&'a crate::credentials::sentinels::Sentinels>,
}

/// What the machine and srt's own environment say about a run, the same
/// for a run and for `--print-profile linux`.
#[cfg(target_os = "linux")]
struct HostFacts {
    home: PathBuf,
    bwrap: crate::sandbox::linux::run_plan::BwrapFound,
    /// bubblewrap keeps the command from making user namespaces (no setting lets it).
    disable_userns: bool,
    startup: crate::sandbox::linux::startup_places::StartupPlaces,
    java_tool_options: Option<String>,
    git_config_count: Option<String>,
    git_ssh_command: Option<String>,
}

#[cfg(target_os = "linux")]
fn host_facts(settings: &Settings) -> Result<HostFacts, Error> {
    use crate::sandbox::linux::{bwrap, startup_places::startup_places};
    let path = bwrap::find_bwrap(settings, std::env::var_os("PATH").as_deref())
        .map_err(|e| Error::new(ErrorCode::MissingDependency, e.0))?;
    let wants_nested =
        settings.allow_nested_user_namespaces == Some(true) || settings.enable_weaker_nested_sandbox == Some(true);
    Ok(HostFacts {
        home: home_dir(),
        bwrap: crate::sandbox::linux::run_plan::BwrapFound {
            real: std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone()),
            path,
            named: settings.bwrap_path.is_some(),
        },
        disable_userns: !wants_nested,
        // Accounts the system lists by other means (LDAP) are not seen.
        startup: startup_places(&|v| std::env::var_os(v), &std::fs::read("/etc/passwd").unwrap_or_default()),
        java_tool_options: std::env::var("JAVA_TOOL_OPTIONS").ok(),
        git_config_count: std::env::var("GIT_CONFIG_COUNT").ok(),
        git_ssh_command: std::env::var("GIT_SSH_COMMAND").ok(),
    })
}

/// `$HOME`, resolved (`/` when unset).
pub(crate) fn home_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/"));
    std::fs::canonicalize(&home).unwrap_or(home)
}

/// Plans the sandbox for `command` and renders bubblewrap's argument vector.
#[cfg(target_os = "linux")]
pub fn prepare(
    settings: &Settings,
    command: Vec<OsString>,
    helper: PathBuf,
    handover: &Handover,
    options: PrepareOptions<'_>,
) -> Result<Prepared, Error> {
    let PrepareOptions { claim_tag, cwd, also_protect, session_tmp, package, trust_bundle, hide, sentinels } = options;
    use crate::helper_protocol::Channel;
    use crate::sandbox::linux::run_plan::{plan_run, RunFacts};
    use crate::sandbox::linux::{bwrap, paths::HostFs, placeholders, plan, private_tmp::PrivateTmp};

    // The facts: what the disk, the registry and the environment say.
    let cwd = match cwd {
        Some(dir) => std::fs::canonicalize(&dir)
            .map_err(|e| format!("cannot use the working directory {}: {e}", dir.display()))?,
        None => std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?,
    };
    let mut warnings = Vec::new();
    // Credentials: sentinels for the masked variables and files (a plan of
    // srt's own makes some without a session).
    let own_sentinels = crate::credentials::sentinels::Sentinels::default();
    let sentinels = sentinels.unwrap_or(&own_sentinels);
    let credential_env = crate::credentials::plan_env(settings, sentinels, |k| std::env::var_os(k))?;
    let masked_files = crate::credentials::plan_files(settings, sentinels, &cwd, &home_dir())?;
    warnings.extend(credential_env.warnings.iter().cloned());
    warnings.extend(masked_files.warnings.iter().cloned());
    // The session's CA key is never the command's to read, whatever these settings say;
    // nor are the credential files the settings deny.
    let denied = crate::credentials::with_denied_files(settings, &masked_files.deny);
    let hidden = crate::proxy::tls::hide_files(&crate::proxy::mitm::with_socket_protected(&denied), hide);
    let settings = &hidden;
    let host = host_facts(settings)?;
    let shared_tmp = sandbox_tmpdir(&host.home, &cwd, &mut warnings);
    bwrap::check_user_namespaces().map_err(|e| Error::new(ErrorCode::MissingDependency, e.0))?;
    let registry = placeholders::Registry::open()?;
    if host.disable_userns {
        require_disable_userns(&host.bwrap.path, registry.dir())
            .map_err(|e| Error::new(ErrorCode::MissingDependency, e))?;
    }
    // Held until the sandbox has its mounts: no other run cleans up meanwhile.
    let lock = registry.lock().map_err(|e| format!("cannot lock {}: {e}", registry.dir().display()))?;
    // What live runs rely on, read once under the lock: kept read-only in
    // this sandbox, and claimed too where this run mounts over it.
    let live: Vec<(PathBuf, bool)> = registry
        .sweep()
        .into_iter()
        .map(|p| {
            let in_place = std::fs::canonicalize(&p).ok().as_ref() == Some(&p);
            (p, in_place)
        })
        .collect();
    let empty_dir = registry.empty_dir().map_err(|e| format!("cannot prepare the sandbox: {e}"))?;
    let empty_pipe = registry.empty_pipe().map_err(|e| format!("cannot prepare the sandbox: {e}"))?;
    // TMPDIR: the session's (library), else one made for this run, below the shared one.
    let mut own_tmp = None;
    let tmpdir = match (&shared_tmp, session_tmp) {
        (Some(shared), Some(t)) if t.parent() == Some(shared.as_path()) => Some(t.to_path_buf()),
        (Some(shared), _) => {
            let made = PrivateTmp::create(shared)
                .map_err(|e| format!("cannot make a temporary directory in {}: {e}", shared.display()))?;
            let path = made.path().to_path_buf();
            own_tmp = Some(made);
            Some(path)
        }
        (None, _) => None,
    };
    // Only the CLI starts bubblewrap itself, as systemd-run would have to.
    let cli = matches!(handover, Handover::Descriptors { .. });
    let wanted = crate::limits::Wanted::from_settings(settings.limits.as_ref(), crate::limits::mem_total());
    let limits = crate::limits::probe(wanted, cli);
    tracing::debug!("limits: {}", limits.describe());
    let (channel, tty) = match handover {
        Handover::Descriptors { tty } => (Channel::Descriptors, *tty),
        Handover::Paths { bridge, token, checks } => (
            Channel::Paths {
                bridge_socket: bridge.clone(),
                token: token.clone(),
                checks: checks.clone(),
                planned_cwd: cwd.clone(),
            },
            false,
        ),
    };
    // Written where only srt writes; bound over the real files.
    let fakes = crate::credentials::FakeFiles::write(registry.dir(), &masked_files)?;
    let facts = RunFacts {
        settings,
        cwd,
        home: host.home,
        tmpdir,
        shared_tmp,
        registry: registry.dir().to_path_buf(),
        empty_dir,
        empty_pipe,
        own_paths: own_paths(&helper, package),
        live,
        also_protect: also_protect.to_vec(),
        startup: host.startup,
        bwrap: host.bwrap,
        disable_userns: host.disable_userns,
        channel,
        tty,
        max_processes: limits.rlimit_nproc(),
        java_tool_options: host.java_tool_options,
        git_config_count: host.git_config_count,
        git_ssh_command: host.git_ssh_command,
        trust_bundle: trust_bundle.map(Path::to_path_buf),
        credential_env,
        masked_files: fakes.binds(),
        helper,
        command,
    };

    // The plan, then its effects.
    let run = plan_run(&facts, &HostFs);
    if let Some(refusal) = run.refusal {
        return Err(refusal);
    }
    warnings.extend(run.fs.warnings.iter().cloned());
    for (what, explicit, message) in limits.unheld() {
        if explicit {
            return Err(Error::refused(ErrorCode::Refused, &[format!("{message}.")]));
        }
        // A default nothing here can hold: said once, not at every run (the
        // library says it at initialize, and in checkDependencies).
        if cli && crate::limits::first_time(registry.dir(), what) {
            warnings.push(format!("{message} (said once; `srt --debug` shows it at every run)"));
        }
    }
    let claim = registry
        .claim_tagged(run.claimed.clone(), lock, claim_tag)
        .map_err(|e| format!("cannot record the sandbox's placeholders: {e}"))?;
    let plan = &run.fs;
    for (path, content) in &plan.prefilled {
        // Made before the sandbox starts; if something is there by now, it is protected as it is.
        let _ = placeholders::create_new_nofollow(path, content.as_bytes());
    }
    // Every other mount point a placeholder needs, made by srt, never
    // through a link: bubblewrap, finding them there, makes nothing.
    for m in &plan.mounts {
        if let plan::Mount::RoBind(src, dest) = m {
            let kind = if plan.pipes.contains(dest) {
                placeholders::MountPoint::Pipe
            } else if src == dest || !plan.placeholders.contains(dest) {
                continue;
            } else if src == Path::new("/dev/null") {
                placeholders::MountPoint::File
            } else {
                placeholders::MountPoint::Dir
            };
            placeholders::make_mount_point(dest, kind).map_err(|e| {
                format!(
                    "cannot make the placeholder {} ({e}): a directory on the way changed while the sandbox was being set up; refusing to run",
                    dest.display()
                )
            })?;
        }
    }
    tracing::debug!("bwrap argv: {:?}", run.argv);
    let expectations = crate::helper_protocol::encode_checks(&mount_checks(plan)?);
    Ok(Prepared {
        argv: run.argv,
        expectations,
        claim,
        key: run.key,
        warnings,
        protected: run.protected,
        tmp: own_tmp,
        limits,
        fakes,
    })
}

/// `srt --print-profile macos`: the Seatbelt profile srt on macOS would hand
/// `sandbox-exec -p` for `argv` in this directory, on any OS.
pub fn macos_profile(
    settings: &Settings,
    settings_file: &Path,
    argv: &[OsString],
    package: &[PathBuf],
) -> Result<String, String> {
    use crate::sandbox::macos::profile::{profile, ProfileInput};
    let hidden = crate::proxy::tls::hide_files(settings, &crate::proxy::tls::named_key_file(settings));
    let settings = &hidden;
    let cwd = std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let cwd = std::fs::canonicalize(&cwd).unwrap_or(cwd);
    let home = home_dir();
    // The proxies' ports: the external ones the settings name, else the defaults.
    let port =
        |p: Option<i64>, default: u16| p.and_then(|p| u16::try_from(p).ok()).filter(|p| *p != 0).unwrap_or(default);
    let tmpdir = crate::config::named_tmpdir(&|k| std::env::var_os(k))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(crate::config::SHARED_TMPDIR));
    let key: Vec<String> = argv.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let helper = std::env::current_exe().unwrap_or_default();
    let mut protect = vec![cwd.join(settings_file)];
    protect.extend(own_paths(&helper, package));
    let input = ProfileInput {
        settings,
        home,
        tmpdir: Some(tmpdir),
        http_port: port(settings.network.http_proxy_port, 3128),
        socks_port: port(settings.network.socks_proxy_port, 1080),
        log_tag: crate::sandbox::macos::log_monitor::log_tag(&key.join(" "), "_srt_SBX"),
        protect,
        cwd,
    };
    profile(&input, &crate::sandbox::paths::StdFs).map(|p| p.text)
}

/// `srt --print-profile linux`: bubblewrap's arguments for a run of `argv`
/// here, one option a line, planned as a run would plan them but with
/// nothing made, claimed or started (the run's own TMPDIR, made per run,
/// is left out).
#[cfg(target_os = "linux")]
pub fn linux_arguments(
    settings: &Settings,
    settings_file: &Path,
    argv: Vec<OsString>,
    helper: Result<PathBuf, String>,
    package: &[PathBuf],
) -> Result<String, Error> {
    use crate::helper_protocol::Channel;
    use crate::sandbox::linux::paths::HostFs;
    use crate::sandbox::linux::placeholders::Registry;
    use crate::sandbox::linux::run_plan::{plan_run, RunFacts};
    let helper = helper?;
    let hidden = crate::proxy::tls::hide_files(settings, &crate::proxy::tls::named_key_file(settings));
    let settings = &hidden;
    let cwd = std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let host = host_facts(settings)?;
    let registry = Registry::path();
    // Each run writes its own bundle there; this is where it would be.
    let trust_bundle = settings.network.tls_terminate.is_some().then(|| registry.join("trust-<run>.pem"));
    let (empty_dir, empty_pipe) = Registry::sources(&registry);
    let wanted = crate::limits::Wanted::from_settings(settings.limits.as_ref(), crate::limits::mem_total());
    let facts = RunFacts {
        settings,
        home: host.home,
        tmpdir: None,
        shared_tmp: None,
        empty_dir,
        empty_pipe,
        registry,
        own_paths: own_paths(&helper, package),
        live: Vec::new(),
        also_protect: vec![settings_file.to_path_buf()],
        startup: host.startup,
        bwrap: host.bwrap,
        disable_userns: host.disable_userns,
        channel: Channel::Descriptors,
        tty: false,
        max_processes: crate::limits::probe(wanted, true).rlimit_nproc(),
        java_tool_options: host.java_tool_options,
        git_config_count: host.git_config_count,
        git_ssh_command: host.git_ssh_command,
        trust_bundle,
        // What a run would set: sentinels of a registry of its own.
        credential_env: crate::credentials::plan_env(settings, &Default::default(), |k| std::env::var_os(k))?,
        masked_files: Vec::new(),
        helper,
        command: argv,
        cwd,
    };
    let run = plan_run(&facts, &HostFs);
    if let Some(refusal) = run.refusal {
        return Err(refusal);
    }
    // One option and its operands a line; the helper and the command last.
    let mut text = String::new();
    let words: Vec<String> = run.argv.iter().map(|w| crate::shell_words::shell_quote_bytes(w.as_os_str())).collect();
    let end = run.argv.iter().position(|w| w == "--").unwrap_or(words.len());
    for (i, word) in words.iter().enumerate() {
        if i > 0 && (i > end || !word.starts_with("--")) {
            text.push(' ');
        } else if i > 0 {
            text.push('\n');
        }
        text.push_str(word);
    }
    text.push('\n');
    Ok(text)
}

/// What the sandbox must show once set up, for the helper to check before
/// the command starts: at least the planned mounts at each mount point (plus
/// the host's own there), and at each visible bind its source's identity now.
#[cfg(target_os = "linux")]
fn mount_checks(plan: &crate::sandbox::linux::plan::Plan) -> Result<Vec<crate::helper_protocol::MountCheck>, String> {
    use crate::helper_protocol::MountCheck;
    use crate::sandbox::linux::plan;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    let host = crate::sandbox::linux::mountinfo::mount_point_counts(
        &std::fs::read("/proc/self/mountinfo").map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?,
    );
    let mut checks = Vec::new();
    for (dest, planned) in plan::mount_point_counts(plan) {
        let at_least = (planned + host.get(dest.as_os_str().as_bytes()).copied().unwrap_or(0)) as u64;
        checks.push(MountCheck::Mounts { at_least, path: dest.to_path_buf() });
    }
    for (dest, src) in plan::visible_binds(plan) {
        let meta = std::fs::symlink_metadata(&src).map_err(|e| {
            format!("{} vanished while the sandbox was being set up ({e}); refusing to run", src.display())
        })?;
        if meta.file_type().is_symlink() {
            return Err(format!(
                "{} became a symlink while the sandbox was being set up; refusing to run",
                src.display()
            ));
        }
        checks.push(MountCheck::Identity { dev: meta.dev(), ino: meta.ino(), path: dest.to_path_buf() });
    }
    Ok(checks)
}

/// The command cannot create user namespaces: bubblewrap 0.8+ enforces it.
#[cfg(target_os = "linux")]
fn require_disable_userns(bwrap: &Path, state: &Path) -> Result<(), String> {
    use crate::sandbox::linux::bwrap::supports_disable_userns;
    let text = bwrap_version(bwrap, state)?;
    if supports_disable_userns(&text) {
        return Ok(());
    }
    Err(format!(
        "{} ({}) is too old to stop the command from creating user namespaces (that needs bubblewrap 0.8 or later): upgrade bubblewrap, or set \"allowNestedUserNamespaces\": true to allow them",
        bwrap.display(),
        text.trim()
    ))
}

/// `bwrap --version`, remembered in srt's state directory for as long as the
/// binary is the same file (a millisecond saved on every start).
#[cfg(target_os = "linux")]
fn bwrap_version(bwrap: &Path, state: &Path) -> Result<String, String> {
    use std::os::unix::fs::MetadataExt;
    let identity = std::fs::metadata(bwrap)
        .map(|m| {
            format!(
                "{}\0{} {} {} {}\0",
                bwrap.display(),
                m.dev(),
                m.ino(),
                m.mtime_nsec() + m.mtime() * 1_000_000_000,
                m.size()
            )
        })
        .map_err(|e| format!("cannot read {}: {e}", bwrap.display()))?;
    let cache = state.join("bwrap-version");
    if let Some(text) = std::fs::read_to_string(&cache).ok().and_then(|c| c.strip_prefix(&identity).map(str::to_string))
    {
        return Ok(text);
    }
    let out = std::process::Command::new(bwrap)
        .arg("--version")
        .output()
        .map_err(|e| format!("could not run {} --version: {e}", bwrap.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let _ = std::fs::write(&cache, format!("{identity}{text}"));
    Ok(text)
}

/// The sandbox's TMPDIR (`$CLAUDE_CODE_TMPDIR`, `$CLAUDE_TMPDIR`, or /tmp/claude),
/// created private if missing. `None` when it exists but is not ours: then it
/// is neither made writable nor named in TMPDIR.
fn sandbox_tmpdir(home: &Path, cwd: &Path, warnings: &mut Vec<String>) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let named = crate::config::named_tmpdir(&|k| std::env::var_os(k)).map(PathBuf::from);
    if let Some(dir) = named {
        return usable_tmpdir(&dir, true, home, cwd, warnings);
    }
    // The original's path, unless another user made it first (on a shared
    // machine, or root's runs before this user's): then one of this user's own.
    // (A missing one is made, as ours, by `usable_tmpdir`.)
    let default = Path::new(crate::config::SHARED_TMPDIR);
    let uid = crate::sys::euid();
    if !std::fs::symlink_metadata(default).is_ok_and(|m| m.uid() != uid) {
        return usable_tmpdir(default, false, home, cwd, warnings);
    }
    let fallback = PathBuf::from(format!("/tmp/claude-{uid}"));
    tracing::debug!("/tmp/claude is another user's; {} instead", fallback.display());
    usable_tmpdir(&fallback, false, home, cwd, warnings)
}

/// `dir` if it can be the shared temporary directory; `named`: the
/// environment named it (it must be private then).
fn usable_tmpdir(dir: &Path, named: bool, home: &Path, cwd: &Path, warnings: &mut Vec<String>) -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
    let meta = std::fs::symlink_metadata(dir).ok()?;
    let ours = meta.uid() == crate::sys::euid();
    // It becomes a write root: a directory of ours, never one that holds home
    // or the working directory, and one named by the environment must be
    // private (`CLAUDE_CODE_TMPDIR=/` or `/etc` must not make them writable
    // for a caller running as root).
    let private = meta.mode() & 0o077 == 0 || !named;
    let holds_more = !dir.is_absolute() || home.starts_with(dir) || cwd.starts_with(dir);
    if meta.is_dir() && ours && private && !holds_more {
        return Some(dir.to_path_buf());
    }
    if named {
        warnings.push(format!(
            "{} (CLAUDE_CODE_TMPDIR) is not a private (0700) directory of yours outside home and the working directory; the sandbox gets no TMPDIR",
            dir.display()
        ));
    }
    tracing::debug!("{} is not a private directory of ours; not used as TMPDIR", dir.display());
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_temporary_directory_is_used_only_when_private_ours_and_apart_from_home_and_the_project() {
        let base = std::env::temp_dir().join(format!("srt-launch-tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("home")).unwrap();
        let (home, cwd) = (base.join("home"), base.join("home/proj"));
        let mut warnings = Vec::new();
        // Missing: made, private.
        let made = base.join("made");
        assert_eq!(usable_tmpdir(&made, true, &home, &cwd, &mut warnings), Some(made.clone()));
        assert_eq!(std::fs::metadata(&made).unwrap().permissions().mode() & 0o777, 0o700);
        // Named by the environment but open to others, or holding home: refused, said once each.
        let open = base.join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(usable_tmpdir(&open, true, &home, &cwd, &mut warnings), None);
        assert_eq!(usable_tmpdir(&base, false, &home, &cwd, &mut warnings), None);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("is not a private (0700) directory"), "{warnings:?}");
        // The default (not named) may be group-readable, as /tmp/claude often is.
        assert_eq!(usable_tmpdir(&open, false, &home, &cwd, &mut warnings), Some(open.clone()));
        let _ = std::fs::remove_dir_all(&base);
    }
}
