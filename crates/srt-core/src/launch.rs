//! From validated settings and a command to a finished sandboxed run: the
//! effects around the pure plan (finding bubblewrap, the temp directory,
//! the environment) and the run itself.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::cli::CliContext;
use crate::config::Settings;

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
}

/// srt's own files, set by the Node addon when it loads (the JavaScript
/// package root: its `bin/`, `lib/`, `index.js` run outside the sandbox).
static OWN_PATHS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Marks a directory of srt's own, to be read-only in every sandbox.
pub fn protect_own_path(path: PathBuf) {
    if path.is_absolute() {
        OWN_PATHS.lock().unwrap_or_else(|e| e.into_inner()).push(path);
    }
}

/// What a sandboxed command must not rewrite, lest srt run it outside the
/// sandbox next time: the helper's directory, the package and launcher
/// directory the npm bin names (`SRT_PACKAGE_ROOT`, `SRT_LAUNCHER_DIR`: they
/// can only add protection), and what the addon registered.
fn own_paths(helper: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = helper.parent().map(Path::to_path_buf).into_iter().collect();
    for var in ["SRT_PACKAGE_ROOT", "SRT_LAUNCHER_DIR"] {
        paths.extend(std::env::var_os(var).map(PathBuf::from).filter(|p| p.is_absolute()));
    }
    paths.extend(OWN_PATHS.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned());
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
}

/// Plans the sandbox for `command` and renders bubblewrap's argument vector.
#[cfg(target_os = "linux")]
pub fn prepare(
    settings: &Settings,
    command: Vec<OsString>,
    helper: PathBuf,
    handover: &Handover,
    options: PrepareOptions<'_>,
) -> Result<Prepared, String> {
    let PrepareOptions { claim_tag, cwd, also_protect, session_tmp } = options;
    use crate::runner;
    use crate::sandbox::linux::{
        bwrap, paths::HostFs, placeholders, plan, private_tmp::PrivateTmp, startup_places::startup_places,
    };

    let cwd = match cwd {
        Some(dir) => std::fs::canonicalize(&dir)
            .map_err(|e| format!("cannot use the working directory {}: {e}", dir.display()))?,
        None => std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?,
    };
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/"));
    let home = std::fs::canonicalize(&home).unwrap_or(home);
    let shared_tmp = sandbox_tmpdir(&home, &cwd);
    let bwrap_path = bwrap::find_bwrap(settings, std::env::var_os("PATH").as_deref()).map_err(|e| e.0)?;
    bwrap::check_user_namespaces().map_err(|e| e.0)?;
    let wants_nested =
        settings.allow_nested_user_namespaces == Some(true) || settings.enable_weaker_nested_sandbox == Some(true);
    let disable_userns = !wants_nested;
    let registry = placeholders::Registry::open()?;
    if disable_userns {
        require_disable_userns(&bwrap_path, registry.dir())?;
    }
    // Held until the sandbox has its mounts: no other run cleans up meanwhile.
    let lock = registry.lock().map_err(|e| format!("cannot lock {}: {e}", registry.dir().display()))?;
    // What live runs rely on, read once under the lock: kept read-only in
    // this sandbox (below), and claimed too where this run mounts over it.
    let live = registry.sweep();
    let empty_dir = registry.empty_dir().map_err(|e| format!("cannot prepare the sandbox: {e}"))?;
    let empty_pipe = registry.empty_pipe().map_err(|e| format!("cannot prepare the sandbox: {e}"))?;
    // srt itself: a command that could rewrite srt's files (a package inside
    // a writable project's node_modules) would run code outside the sandbox
    // the next time srt starts. The directory of the helper binary, and the
    // package the npm bin launched from.
    let mut protect = vec![registry.dir().to_path_buf()];
    protect.extend(own_paths(&helper));
    // Other sandboxes' placeholders: removing one on the host undoes its
    // mount in that sandbox, so none may be removed from in here. Only those
    // still there as they were made (no link on the way): one moved or gone
    // is no mount of theirs any more, and must not get in this run's way.
    protect.extend(live.iter().filter(|p| std::fs::canonicalize(p).ok().as_ref() == Some(*p)).cloned());
    protect.extend(also_protect.iter().map(|p| cwd.join(p)));
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
    let input = plan::PlanInput {
        settings,
        cwd: cwd.clone(),
        home,
        tmpdir,
        shared_tmp,
        helper: helper.clone(),
        empty_dir,
        empty_pipe,
        protect,
        // Accounts the system lists by other means (LDAP) are not seen.
        startup: startup_places(&|v| std::env::var_os(v), &std::fs::read("/etc/passwd").unwrap_or_default()),
    };
    let mut plan = plan::plan(&input, &HostFs);
    if settings.bwrap_path.is_none() && settings.filesystem.disabled != Some(true) {
        // This very sandbox could replace a bwrap it may write, for the next run.
        let real = std::fs::canonicalize(&bwrap_path).unwrap_or_else(|_| bwrap_path.clone());
        if let Some(root) = plan.write_roots.iter().find(|r| real.starts_with(r) || bwrap_path.starts_with(r)) {
            plan.errors.push(format!(
                "bubblewrap was found at {}, inside {} which this sandbox may write: a command could replace it, and bwrap runs outside the sandbox; name the bwrap you trust with \"bwrapPath\" in the settings",
                bwrap_path.display(),
                root.display()
            ));
        }
    }
    if !plan.errors.is_empty() {
        let mut lines = plan.errors.clone();
        lines.push("Refusing to run the command with weaker rules than the settings ask for.".into());
        return Err(lines.join("\n       "));
    }
    // Only the CLI starts bubblewrap itself, as systemd-run would have to.
    let cli = matches!(handover, Handover::Descriptors { .. });
    let wanted = crate::limits::Wanted::from_settings(settings.limits.as_ref(), crate::limits::mem_total());
    let limits = crate::limits::probe(wanted, cli);
    tracing::debug!("limits: {}", limits.describe());
    for (what, explicit, message) in limits.unheld() {
        if explicit {
            return Err(format!(
                "{message}.\n       Refusing to run the command with weaker rules than the settings ask for."
            ));
        }
        // A default nothing here can hold: said once, not at every run (the
        // library says it at initialize, and in checkDependencies).
        if cli && crate::limits::first_time(registry.dir(), what) {
            plan.warnings.push(format!("{message} (said once; `srt --debug` shows it at every run)"));
        }
    }
    let ssh_proxy = crate::proxy::env::ssh_proxy_command(&helper);
    let mut helper_argv: Vec<OsString> = vec![helper.into_os_string(), crate::helper::SUBCOMMAND.into()];
    if let Some(n) = limits.rlimit_nproc() {
        helper_argv.extend(["--max-processes".into(), n.to_string().into()]);
    }
    if matches!(handover, Handover::Descriptors { tty: true }) {
        helper_argv.push("--tty".into());
    }
    if settings.network.allow_all_unix_sockets != Some(true) {
        helper_argv.push("--block-unix-sockets".into());
    }
    if settings.allow_nested_user_namespaces == Some(true) {
        helper_argv.push("--allow-namespaces".into());
    }
    // srt's registry is none of the command's business: hidden, so that it can
    // neither hold its lock (and stall every srt of this user) nor see other
    // sessions' sockets.
    let info_fd = match handover {
        Handover::Descriptors { .. } => {
            plan.mounts.push(plan::Mount::Tmpfs(registry.dir().to_path_buf()));
            plan.mounts.push(plan::Mount::RemountRo(registry.dir().to_path_buf()));
            helper_argv.extend(["--ready-fd".into(), runner::READY_FD.to_string().into()]);
            helper_argv.extend(["--verify-fd".into(), runner::EXPECT_FD.to_string().into()]);
            helper_argv.extend(["--bridge-fd".into(), runner::BRIDGE_FD.to_string().into()]);
            Some(runner::INFO_FD)
        }
        Handover::Paths { bridge, token, checks } => {
            // This wrap's socket and checks, back in the hidden registry (below).
            plan.mounts.push(plan::Mount::Tmpfs(registry.dir().to_path_buf()));
            plan.mounts.push(plan::Mount::RoBind(bridge.clone(), bridge.clone()));
            plan.mounts.push(plan::Mount::RoBind(checks.clone(), checks.clone()));
            plan.mounts.push(plan::Mount::RemountRo(registry.dir().to_path_buf()));
            helper_argv.extend(["--bridge-socket".into(), bridge.clone().into_os_string()]);
            helper_argv.extend(["--bridge-token".into(), token.into()]);
            helper_argv.extend(["--verify-file".into(), checks.clone().into_os_string()]);
            helper_argv.extend(["--planned-cwd".into(), cwd.clone().into_os_string()]);
            None
        }
    };
    helper_argv.push("--".into());
    helper_argv.extend(command);
    plan.env.extend(crate::proxy::env::proxy_env(&ssh_proxy));
    let java = std::env::var("JAVA_TOOL_OPTIONS").ok();
    plan.env.push(("JAVA_TOOL_OPTIONS".into(), crate::proxy::env::java_tool_options(java.as_deref())));
    let key = argv_key(&helper_argv);
    let protected = crate::hints::Protected {
        no_repository_here: plan.placeholders.contains(&cwd.join(".git")),
        git_config: plan.mounts.iter().any(|m| matches!(m, plan::Mount::RoBind(_, d) if *d == cwd.join(".git/config"))),
    };
    let launch = bwrap::Launch { bwrap: bwrap_path, info_fd, cwd, disable_userns, helper_argv };
    let argv = bwrap::argv(&plan, &launch);
    let options = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    if options > bwrap::MAX_ARGS {
        return Err(format!(
            "the sandbox needs {options} bubblewrap arguments ({} mounts), more than the {} bubblewrap accepts: deny or allow whole directories rather than many files in them",
            plan.mounts.len(),
            bwrap::MAX_ARGS
        ));
    }
    // Claim our placeholders, and those of live runs that we mount over or
    // beneath (they must outlive us too).
    let mut claimed = plan.placeholders.clone();
    claimed.extend(live.into_iter().filter(|l| plan.mounts.iter().any(|m| plan::mount_dest(m).starts_with(l))));
    let claim = registry
        .claim_tagged(claimed, lock, claim_tag)
        .map_err(|e| format!("cannot record the sandbox's placeholders: {e}"))?;
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
    tracing::debug!("bwrap argv: {argv:?}");
    let expectations = mount_expectations(&plan)?;
    Ok(Prepared { argv, expectations, claim, key, warnings: plan.warnings, protected, tmp: own_tmp, limits })
}

/// Runs `argv` in the sandbox described by `settings`; returns its status.
#[cfg(target_os = "linux")]
/// `settings_file`: where the settings were read from (or would have been):
/// read-only inside, or the command could loosen its next run's rules.
pub fn run_sandboxed(
    settings: &Settings,
    settings_file: &Path,
    argv: Vec<OsString>,
    ctx: CliContext,
) -> Result<i32, String> {
    use crate::runner::{self, RunOutcome};
    use crate::sandbox::linux::bwrap;

    let net_config = crate::proxy::NetConfig::from_settings(settings, |k| std::env::var(k).ok())?;
    let helper = ctx.helper.clone()?;
    let tty = runner::wants_tty(&ctx.stdio);
    let also_protect = [settings_file.to_path_buf()];
    let options = PrepareOptions { also_protect: &also_protect, ..Default::default() };
    let mut prepared = prepare(settings, argv, helper, &Handover::Descriptors { tty }, options)?;
    for w in &prepared.warnings {
        crate::cli::say(&format!("srt: warning: {w}"));
    }
    // Made before bubblewrap starts, removed when the run ends.
    let cgroups = crate::limits::Cgroups::create(&prepared.limits)?;
    let confinement = runner::Confinement {
        procs: cgroups.procs()?,
        prefix: match prepared.limits.systemd_run() {
            Some(run) => prepared.limits.scope_prefix(crate::limits::systemd_version(run)).unwrap_or_default(),
            None => Vec::new(),
        },
    };
    if !cgroups.dirs().is_empty() {
        tracing::debug!("limits: the sandbox runs in {:?}", cgroups.dirs());
    }
    let store = crate::violations::Store::with_ignore(settings.ignore_violations.clone().unwrap_or_default());
    let proxy = crate::proxy::Proxy::with_store(net_config, None, std::sync::Arc::new(store));
    let client = crate::proxy::Client::new(Some(prepared.key.clone()));
    let (mut network, bridge) = crate::proxy::session::SandboxNetwork::start(proxy.clone(), client)
        .map_err(|e| format!("cannot start the network proxies: {e}"))?;
    let lock = Box::new(prepared.claim.take_lock());
    let start = runner::Start { argv: &prepared.argv, expectations: &prepared.expectations, confinement: &confinement };
    let outcome = runner::run(start, ctx.stdio, tty, &ctx.control, lock, Some(bridge));
    let (scoped, in_cgroup) = (!confinement.prefix.is_empty(), !cgroups.dirs().is_empty());
    drop(confinement);
    drop(cgroups);
    network.stop();
    for line in proxy.violations.summary() {
        crate::cli::say(&line);
    }
    if matches!(outcome, Ok(RunOutcome::Exited(code)) if code != 0) {
        for line in crate::hints::after_failure(&prepared.key, prepared.protected) {
            crate::cli::say(&line);
        }
    }
    drop(prepared);
    match outcome {
        Ok(RunOutcome::Exited(code)) => Ok(code),
        Ok(RunOutcome::SetupFailed(code)) if scoped => Err(format!(
            "bubblewrap, started by systemd-run in a user scope for the sandbox's limits, could not create the sandbox (exit {code}; the message above says whose)"
        )),
        Ok(RunOutcome::SetupFailed(code)) => Err(format!(
            "bubblewrap could not create the sandbox (it exited {code}; its own message is above). If it could not create namespaces: {}",
            bwrap::USERNS_HINT
        )),
        Err(e) if in_cgroup => Err(format!("could not start bubblewrap in the sandbox's cgroup: {e}")),
        Err(e) => Err(format!("could not start bubblewrap: {e}")),
    }
}

/// The command as violations name it: its words after the helper's `--`.
#[cfg(target_os = "linux")]
fn argv_key(helper_argv: &[OsString]) -> String {
    let start = helper_argv.iter().position(|a| a == "--").map_or(0, |i| i + 1);
    let words: Vec<String> = helper_argv[start..].iter().map(|a| a.to_string_lossy().into_owned()).collect();
    words.join(" ")
}

#[cfg(not(target_os = "linux"))]
pub fn run_sandboxed(_: &Settings, _: &Path, _: Vec<OsString>, _: CliContext) -> Result<i32, String> {
    Err(format!(
        "srt-rs cannot sandbox commands on {} yet; refusing to run the command unsandboxed",
        std::env::consts::OS
    ))
}

/// What the sandbox must show once set up, for the helper to check before
/// the command starts: `M <n> <path>` (at least n mounts at that mount
/// point: the planned ones, plus the host's own there) and `I <dev> <ino>
/// <path>` (what each visible bind shows: its source's identity now).
#[cfg(target_os = "linux")]
fn mount_expectations(plan: &crate::sandbox::linux::plan::Plan) -> Result<Vec<u8>, String> {
    use crate::sandbox::linux::plan;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    let host = crate::sandbox::linux::mountinfo::mount_point_counts(
        &std::fs::read("/proc/self/mountinfo").map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?,
    );
    let mut out = Vec::new();
    for (dest, planned) in plan::mount_point_counts(plan) {
        let expected = planned + host.get(dest.as_os_str().as_bytes()).copied().unwrap_or(0);
        out.extend_from_slice(format!("M {expected} ").as_bytes());
        out.extend_from_slice(dest.as_os_str().as_bytes());
        out.push(0);
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
        out.extend_from_slice(format!("I {} {} ", meta.dev(), meta.ino()).as_bytes());
        out.extend_from_slice(dest.as_os_str().as_bytes());
        out.push(0);
    }
    Ok(out)
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
fn sandbox_tmpdir(home: &Path, cwd: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let named = ["CLAUDE_CODE_TMPDIR", "CLAUDE_TMPDIR"]
        .iter()
        .find_map(|k| std::env::var_os(k).filter(|v| !v.is_empty()))
        .map(PathBuf::from);
    if let Some(dir) = named {
        return usable_tmpdir(&dir, true, home, cwd);
    }
    // The original's path, unless another user made it first (on a shared
    // machine, or root's runs before this user's): then one of this user's own.
    // (A missing one is made, as ours, by `usable_tmpdir`.)
    let default = Path::new("/tmp/claude");
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    if !std::fs::symlink_metadata(default).is_ok_and(|m| m.uid() != uid) {
        return usable_tmpdir(default, false, home, cwd);
    }
    let fallback = PathBuf::from(format!("/tmp/claude-{uid}"));
    tracing::debug!("/tmp/claude is another user's; {} instead", fallback.display());
    usable_tmpdir(&fallback, false, home, cwd)
}

/// `dir` if it can be the shared temporary directory; `named`: the
/// environment named it (it must be private then).
fn usable_tmpdir(dir: &Path, named: bool, home: &Path, cwd: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
    let meta = std::fs::symlink_metadata(dir).ok()?;
    // SAFETY: geteuid cannot fail.
    let ours = meta.uid() == unsafe { libc::geteuid() };
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
        crate::cli::say(&format!(
            "srt: warning: {} (CLAUDE_CODE_TMPDIR) is not a private (0700) directory of yours outside home and the working directory; the sandbox gets no TMPDIR",
            dir.display()
        ));
    }
    tracing::debug!("{} is not a private directory of ours; not used as TMPDIR", dir.display());
    None
}
