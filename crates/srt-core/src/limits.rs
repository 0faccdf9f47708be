//! Process and memory limits of each sandbox: which mechanism can hold them
//! on this machine (decided from what was observed, without effects), and
//! the cgroups srt makes for them.
//!
//! For each limit, the first of these that can hold it:
//! 1. a cgroup v2 that srt may make: under the nearest ancestor of srt's own
//!    cgroup that srt may write and whose children get the controller (the
//!    whole tree for root; a subtree delegated to the user otherwise);
//! 2. a systemd user scope (`systemd-run --user --scope`), where that is how
//!    the user gets a delegated subtree: the CLI only, since systemd-run has
//!    to start bubblewrap itself;
//! 3. a cgroup v1 pids or memory hierarchy srt may write (root, on v1 and
//!    hybrid machines);
//! 4. for processes only, RLIMIT_NPROC set by the helper inside the
//!    sandbox's user namespace, where the kernel (5.14 and later) counts a
//!    uid's processes apart from the same uid's outside. It does not bind
//!    host root (uid 0 is exempt), so not when srt runs as root.
//!
//! Memory has no fallback: RLIMIT_AS and RLIMIT_DATA count reserved address
//! space, and node, the JVM and Go reserve far more than they use.
//!
//! A cgroup v2 (or scope) beside srt's own takes the sandbox out of the
//! cgroups between, so it keeps their lower `pids.max` and `memory.max`:
//! a sandbox never escapes a limit srt itself runs under.

use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::config::{Limit, LimitsSettings};

/// Processes and threads of one sandbox by default: far above a build's,
/// far below what takes a host down (pid_max is 32768 on many machines).
pub const DEFAULT_MAX_PROCESSES: u64 = 4096;

const MIB: u64 = 1 << 20;

/// What one sandbox may use at most; `None`: no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    pub processes: Option<u64>,
    /// Bytes.
    pub memory: Option<u64>,
    /// Asked for in the settings, not by default: a limit nothing here can
    /// hold then refuses the run rather than warn.
    pub explicit_processes: bool,
    pub explicit_memory: bool,
}

impl Wanted {
    /// From the settings; `mem_total` (bytes) sets the default memory limit,
    /// three quarters of the machine's.
    pub fn from_settings(limits: Option<&LimitsSettings>, mem_total: Option<u64>) -> Wanted {
        let (processes, memory) = limits.map_or((None, None), |l| (l.max_processes, l.max_memory_mb));
        let value = |l: Limit| match l {
            Limit::Unlimited => None,
            Limit::At(n) => u64::try_from(n).ok(),
        };
        Wanted {
            processes: processes.map_or(Some(DEFAULT_MAX_PROCESSES), value),
            memory: memory.map_or(mem_total.map(|t| t / 4 * 3), |l| value(l).map(|n| n.saturating_mul(MIB))),
            explicit_processes: processes.is_some(),
            explicit_memory: memory.is_some(),
        }
    }
}

/// What holds a limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// A cgroup v2 srt makes under `parent`, after switching `enable` on in
    /// it (only ever at the root of the tree).
    CgroupV2 { parent: PathBuf, enable: Vec<&'static str> },
    /// A cgroup v1 srt makes under `parent`, in that controller's hierarchy.
    CgroupV1 { parent: PathBuf },
    /// A transient scope of the user's systemd, made by this systemd-run.
    SystemdScope { systemd_run: PathBuf },
    /// RLIMIT_NPROC, set by the helper in the sandbox's user namespace.
    Rlimit,
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mechanism::CgroupV2 { parent, .. } => write!(f, "a cgroup v2 under {}", parent.display()),
            Mechanism::CgroupV1 { parent } => write!(f, "a cgroup v1 under {}", parent.display()),
            Mechanism::SystemdScope { .. } => write!(f, "a systemd user scope (systemd-run)"),
            Mechanism::Rlimit => write!(f, "RLIMIT_NPROC in the sandbox's user namespace"),
        }
    }
}

/// One limit's fate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hold {
    /// No limit asked.
    Off,
    By(Mechanism),
    /// Asked for, but nothing here can hold it: why.
    Unheld(String),
}

/// The limits of one sandbox and what holds each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub wanted: Wanted,
    /// The limits applied: those wanted, lowered (or added) to keep the
    /// limits of the cgroups the sandbox leaves.
    pub processes: Option<u64>,
    pub memory: Option<u64>,
    pub processes_by: Hold,
    pub memory_by: Hold,
}

/// What `decide` looks at, read by the caller.
pub struct Observed<'a> {
    pub euid: u32,
    /// `/proc/self/mountinfo`.
    pub mountinfo: &'a str,
    /// `/proc/self/cgroup`.
    pub cgroup: &'a str,
    /// Where the user's systemd keeps its sockets (`$XDG_RUNTIME_DIR`), when
    /// a scope may be used at all (`None`: the library, whose caller starts
    /// bubblewrap).
    pub scope_runtime_dir: Option<PathBuf>,
}

/// The files `decide` reads and asks about (the host's, or a test's).
pub trait View {
    fn read(&self, path: &Path) -> Option<String>;
    fn exists(&self, path: &Path) -> bool;
    /// Whether this process may write the file, or make entries in the directory.
    fn writable(&self, path: &Path) -> bool;
    /// An executable only root could have put there: it runs outside the sandbox.
    fn trusted(&self, path: &Path) -> bool;
}

const PIDS: &str = "pids";
const MEMORY: &str = "memory";

/// Where systemd-run is taken from: the system's own directories only.
const SYSTEMD_RUN: &[&str] = &["/usr/bin/systemd-run", "/bin/systemd-run"];

/// A cgroup filesystem, from one line of mountinfo.
#[derive(Debug)]
struct CgroupMount {
    point: PathBuf,
    /// The cgroup mounted there, as /proc/self/cgroup spells paths.
    root: String,
    v2: bool,
    controllers: Vec<String>,
}

/// Mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    PathBuf::from(std::ffi::OsStr::from_bytes(&out))
}

fn cgroup_mounts(mountinfo: &str) -> Vec<CgroupMount> {
    let mut mounts = Vec::new();
    for line in mountinfo.lines() {
        let Some((before, after)) = line.split_once(" - ") else { continue };
        let fields: Vec<&str> = before.split(' ').collect();
        let mut rest = after.split(' ');
        let (Some(kind), Some(_source), Some(options)) = (rest.next(), rest.next(), rest.next()) else { continue };
        let (Some(root), Some(point)) = (fields.get(3), fields.get(4)) else { continue };
        let v2 = match kind {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        let controllers = if v2 { Vec::new() } else { options.split(',').map(str::to_string).collect() };
        mounts.push(CgroupMount { point: unescape(point), root: root.to_string(), v2, controllers });
    }
    mounts
}

/// This process's cgroup in the hierarchy of `mount`, as a directory.
fn own_dir(mount: &CgroupMount, cgroup: &str) -> Option<PathBuf> {
    let path = cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let ours = if mount.v2 {
            controllers.is_empty()
        } else {
            !controllers.is_empty() && controllers.split(',').all(|c| mount.controllers.iter().any(|m| m == c))
        };
        ours.then_some(path)
    })?;
    // A cgroup outside what this mount shows (another namespace's) is out of reach.
    let relative = if mount.root == "/" { Some(path) } else { path.strip_prefix(mount.root.as_str()) }?;
    if !(relative.is_empty() || relative.starts_with('/')) || relative.split('/').any(|c| c == "..") {
        return None;
    }
    let relative = relative.trim_start_matches('/');
    Some(if relative.is_empty() { mount.point.clone() } else { mount.point.join(relative) })
}

/// The lower of two optional limits.
fn lower(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A cgroup v2 limit file's value; `max` (and no file) is none.
fn limit_file(view: &dyn View, path: &Path) -> Option<u64> {
    view.read(path)?.trim().parse().ok()
}

/// The limits of the cgroups a sandbox leaves: `dirs`, from srt's own up.
#[derive(Clone, Copy, Debug, Default)]
struct Ceilings {
    processes: Option<u64>,
    memory: Option<u64>,
}

impl Ceilings {
    fn add(&mut self, view: &dyn View, dir: &Path) {
        self.processes = lower(self.processes, limit_file(view, &dir.join("pids.max")));
        self.memory = lower(self.memory, limit_file(view, &dir.join("memory.max")));
    }
}

/// A cgroup v2 place for the sandbox and what it can hold there.
#[derive(Clone, Debug)]
struct V2Choice {
    mechanism: Mechanism,
    pids: bool,
    memory: bool,
    ceilings: Ceilings,
}

impl V2Choice {
    /// How many of the limits wanted it holds.
    fn score(&self, wanted: &Wanted) -> usize {
        usize::from(self.pids && wanted.processes.is_some()) + usize::from(self.memory && wanted.memory.is_some())
    }

    fn holds_all(&self, wanted: &Wanted) -> bool {
        (self.pids || wanted.processes.is_none()) && (self.memory || wanted.memory.is_none())
    }
}

/// Words of a controller list file.
fn words(view: &dyn View, path: &Path) -> Vec<String> {
    view.read(path).map(|t| t.split_whitespace().map(str::to_string).collect()).unwrap_or_default()
}

/// The nearest ancestor of `own` (below `top`, the mount point) that srt may
/// write and whose children get the controllers wanted, or may be given them
/// (the root of the tree alone: elsewhere a cgroup with processes of its
/// own, srt's for one, cannot give its children controllers). The best
/// partial one when none has all.
fn v2_direct(wanted: &Wanted, own: &Path, top: &Path, view: &dyn View) -> Option<V2Choice> {
    let mut ceilings = Ceilings::default();
    let mut best: Option<V2Choice> = None;
    for (i, dir) in own.ancestors().take_while(|d| d.starts_with(top)).enumerate() {
        // Only the root of the tree has no cgroup.type (a namespace's root has one).
        let root = !view.exists(&dir.join("cgroup.type"));
        if i > 0 || root {
            let subtree = words(view, &dir.join("cgroup.subtree_control"));
            let available = words(view, &dir.join("cgroup.controllers"));
            let can_enable = root && view.writable(&dir.join("cgroup.subtree_control"));
            let mut enable = Vec::new();
            let mut gives = |c: &'static str| {
                let on = subtree.iter().any(|s| s == c);
                let off = !on && can_enable && available.iter().any(|s| s == c);
                if off {
                    enable.push(c);
                }
                on || off
            };
            let (pids, memory) = (gives(PIDS), gives(MEMORY));
            // The migration needs write access to the common ancestor's cgroup.procs: this one.
            let may = view.writable(dir) && view.writable(&dir.join("cgroup.procs"));
            // Leaving a limit behind would loosen it.
            let keeps = (pids || ceilings.processes.is_none()) && (memory || ceilings.memory.is_none());
            if may && keeps {
                let choice = V2Choice {
                    mechanism: Mechanism::CgroupV2 { parent: dir.to_path_buf(), enable },
                    pids,
                    memory,
                    ceilings,
                };
                if choice.holds_all(wanted) {
                    return Some(choice);
                }
                if !matches!(&best, Some(b) if b.score(wanted) >= choice.score(wanted)) {
                    best = Some(choice);
                }
            }
        }
        ceilings.add(view, dir);
    }
    best.filter(|b| b.score(wanted) > 0)
}

/// A systemd user scope, when the user's manager runs, systemd-run is the
/// system's, and the manager has the controllers. `why` gets the reason when not.
fn v2_scope(
    wanted: &Wanted,
    euid: u32,
    own: &Path,
    top: &Path,
    runtime_dir: &Path,
    view: &dyn View,
    why: &mut Vec<String>,
) -> Option<V2Choice> {
    if euid == 0 {
        return None;
    }
    let socket = runtime_dir.join("systemd/private");
    if !view.exists(&socket) {
        why.push(format!("no systemd user manager ({} is missing)", socket.display()));
        return None;
    }
    let Some(systemd_run) = SYSTEMD_RUN.iter().map(PathBuf::from).find(|p| view.trusted(p)) else {
        why.push("no systemd-run in /usr/bin or /bin that only root could have put there".into());
        return None;
    };
    let unit = format!("user@{euid}.service");
    let manager = own
        .ancestors()
        .find(|d| d.file_name().is_some_and(|n| n.as_bytes() == unit.as_bytes()))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| top.join(format!("user.slice/user-{euid}.slice/{unit}")));
    let available = words(view, &manager.join("cgroup.controllers"));
    let has = |c: &str| available.iter().any(|a| a == c);
    // The scope goes under the manager: the cgroups between srt's and the
    // nearest one holding both are left.
    let mut ceilings = Ceilings::default();
    for dir in own.ancestors().take_while(|d| d.starts_with(top) && !manager.starts_with(d)) {
        ceilings.add(view, dir);
    }
    let (pids, memory) = (has(PIDS), has(MEMORY));
    if (!pids && ceilings.processes.is_some()) || (!memory && ceilings.memory.is_some()) {
        why.push("the systemd user manager lacks a controller srt's own cgroup is limited by".into());
        return None;
    }
    let choice = V2Choice { mechanism: Mechanism::SystemdScope { systemd_run }, pids, memory, ceilings };
    if choice.score(wanted) == 0 {
        why.push(format!("the systemd user manager has no pids or memory controller ({})", manager.display()));
        return None;
    }
    Some(choice)
}

/// Decides what holds each limit. Pure: everything comes from `obs` and `view`.
pub fn decide(wanted: Wanted, obs: &Observed<'_>, view: &dyn View) -> Decision {
    let mounts = cgroup_mounts(obs.mountinfo);
    let mut why_both: Vec<String> = Vec::new();
    let mut d = Decision {
        wanted,
        processes: wanted.processes,
        memory: wanted.memory,
        processes_by: Hold::Off,
        memory_by: Hold::Off,
    };
    // Nothing asked: the sandbox stays in srt's own cgroups, under their limits.
    if wanted.processes.is_none() && wanted.memory.is_none() {
        return d;
    }
    let mut v2 = None;
    let v2_mount = mounts.iter().find(|m| m.v2);
    if let Some(mount) = v2_mount {
        match own_dir(mount, obs.cgroup) {
            None => {
                why_both.push(format!("cgroup v2 ({}): srt's own cgroup is not visible there", mount.point.display()))
            }
            Some(own) => {
                v2 = v2_direct(&wanted, &own, &mount.point, view);
                if v2.is_none() {
                    why_both.push(format!(
                        "cgroup v2 ({}): no cgroup above srt's own that srt may write and whose children get the pids or memory controller",
                        mount.point.display()
                    ));
                }
                let all = v2.as_ref().is_some_and(|c| c.holds_all(&wanted));
                if let (Some(dir), false) = (&obs.scope_runtime_dir, all) {
                    let scope = v2_scope(&wanted, obs.euid, &own, &mount.point, dir, view, &mut why_both);
                    let better = |s: &V2Choice| !matches!(&v2, Some(v) if v.score(&wanted) >= s.score(&wanted));
                    if let Some(s) = scope.filter(better) {
                        v2 = Some(s);
                    }
                }
            }
        }
    }
    if let Some(choice) = &v2 {
        if choice.pids {
            d.processes = lower(wanted.processes, choice.ceilings.processes);
            if d.processes.is_some() {
                d.processes_by = Hold::By(choice.mechanism.clone());
            }
        }
        if choice.memory {
            d.memory = lower(wanted.memory, choice.ceilings.memory);
            if d.memory.is_some() {
                d.memory_by = Hold::By(choice.mechanism.clone());
            }
        }
    }
    let mut why_pids = Vec::new();
    let mut why_memory = Vec::new();
    for (controller, amount, hold, why) in
        [(PIDS, d.processes, &mut d.processes_by, &mut why_pids), (MEMORY, d.memory, &mut d.memory_by, &mut why_memory)]
    {
        if amount.is_none() || *hold != Hold::Off {
            continue;
        }
        let Some(mount) = mounts.iter().find(|m| !m.v2 && m.controllers.iter().any(|c| c == controller)) else {
            continue;
        };
        match own_dir(mount, obs.cgroup) {
            Some(dir) if view.writable(&dir) => *hold = Hold::By(Mechanism::CgroupV1 { parent: dir }),
            Some(dir) => {
                why.push(format!("cgroup v1 {controller} ({}): not writable by uid {}", dir.display(), obs.euid))
            }
            None => why.push(format!("cgroup v1 {controller}: srt's own cgroup is not visible there")),
        }
    }
    if d.processes.is_some() && d.processes_by == Hold::Off {
        if obs.euid != 0 {
            d.processes_by = Hold::By(Mechanism::Rlimit);
        } else {
            why_pids.push("RLIMIT_NPROC does not bind root".into());
        }
    }
    if mounts.is_empty() {
        why_both.push("no cgroup filesystem is mounted".into());
    }
    why_memory.push(
        "memory has no fallback without a cgroup (an address-space limit would break node, the JVM and Go)".into(),
    );
    for (amount, hold, why) in [(d.processes, &mut d.processes_by, why_pids), (d.memory, &mut d.memory_by, why_memory)]
    {
        if amount.is_some() && *hold == Hold::Off {
            let all: Vec<String> = why_both.iter().cloned().chain(why).collect();
            *hold = Hold::Unheld(all.join("; "));
        }
    }
    d
}

impl Decision {
    /// One line for `--debug`: each limit and what holds it.
    pub fn describe(&self) -> String {
        let one = |what: &str, amount: Option<String>, hold: &Hold| match (amount, hold) {
            (Some(n), Hold::By(m)) => format!("{what} at most {n}, held by {m}"),
            (Some(n), Hold::Unheld(why)) => format!("{what} at most {n} asked, but NOT held: {why}"),
            _ => format!("no {what} limit"),
        };
        format!(
            "{}; {}",
            one("processes", self.processes.map(|n| n.to_string()), &self.processes_by),
            one("memory", self.memory.map(|b| format!("{} MiB", b / MIB)), &self.memory_by)
        )
    }

    /// The limits no mechanism holds: `(what, explicit, message)`, where
    /// explicit means the settings asked for it (the run must be refused).
    pub fn unheld(&self) -> Vec<(&'static str, bool, String)> {
        let mut out = Vec::new();
        if let Hold::Unheld(why) = &self.processes_by {
            out.push(if self.wanted.explicit_processes {
                ("processes", true, format!("limits.maxProcesses: no process limit can be enforced here ({why}); set it to null to run without one"))
            } else {
                ("processes", false, format!("sandboxes here get no process limit: {why}"))
            });
        }
        if let Hold::Unheld(why) = &self.memory_by {
            out.push(if self.wanted.explicit_memory {
                ("memory", true, format!("limits.maxMemoryMB: no memory limit can be enforced here ({why}); set it to null to run without one"))
            } else {
                ("memory", false, format!("sandboxes here get no memory limit: {why}"))
            });
        }
        out
    }

    /// RLIMIT_NPROC for the helper to set, when that is what holds processes.
    pub fn rlimit_nproc(&self) -> Option<u64> {
        (self.processes_by == Hold::By(Mechanism::Rlimit)).then_some(self.processes).flatten()
    }

    /// The systemd-run that makes the sandbox's scope, when that holds a limit.
    pub fn systemd_run(&self) -> Option<&Path> {
        [&self.processes_by, &self.memory_by].into_iter().find_map(|h| match h {
            Hold::By(Mechanism::SystemdScope { systemd_run }) => Some(systemd_run.as_path()),
            _ => None,
        })
    }

    /// What goes before bubblewrap's argv to start it in a systemd user
    /// scope with the limits it holds. `version`: systemd-run's, which from
    /// 254 on expands `$VAR` in the command unless told not to.
    pub fn scope_prefix(&self, version: Option<u32>) -> Option<Vec<OsString>> {
        let run = self.systemd_run()?;
        let mut argv: Vec<OsString> = vec![run.into()];
        // A description of its own: by default it is the whole command line.
        argv.extend(["--user", "--scope", "--quiet", "--collect", "--description=srt sandbox"].map(OsString::from));
        if !matches!(version, Some(v) if v < 254) {
            argv.push("--expand-environment=no".into());
        }
        let scoped = |h: &Hold| matches!(h, Hold::By(Mechanism::SystemdScope { .. }));
        if let (Some(n), true) = (self.processes, scoped(&self.processes_by)) {
            argv.extend(["-p".into(), format!("TasksMax={n}").into()]);
        }
        if let (Some(bytes), true) = (self.memory, scoped(&self.memory_by)) {
            argv.extend(["-p".into(), format!("MemoryMax={bytes}").into()]);
            argv.extend(["-p".into(), "MemorySwapMax=0".into()]);
        }
        argv.push("--".into());
        Some(argv)
    }
}

/// The machine's memory in bytes (`MemTotal`).
pub fn mem_total() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb = text.lines().find_map(|l| l.strip_prefix("MemTotal:"))?.trim().strip_suffix("kB")?.trim();
    kb.parse::<u64>().ok().map(|k| k * 1024)
}

/// This host's files, as this process may use them.
pub struct HostView;

impl View for HostView {
    fn read(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }
    fn exists(&self, path: &Path) -> bool {
        std::fs::symlink_metadata(path).is_ok()
    }
    fn writable(&self, path: &Path) -> bool {
        use nix::unistd::AccessFlags;
        let mode = if path.is_dir() { AccessFlags::W_OK | AccessFlags::X_OK } else { AccessFlags::W_OK };
        // AT_EACCESS: the effective ids, which decide what srt may do.
        nix::unistd::faccessat(nix::fcntl::AT_FDCWD, path, mode, nix::fcntl::AtFlags::AT_EACCESS).is_ok()
    }
    fn trusted(&self, path: &Path) -> bool {
        crate::sandbox::linux::bwrap::is_executable(path) && crate::sandbox::linux::bwrap::distrust(path).is_none()
    }
}

/// Decides for this process on this host. `scope`: whether a systemd scope
/// may hold the limits (only where srt starts bubblewrap itself).
pub fn probe(wanted: Wanted, scope: bool) -> Decision {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let euid = crate::sys::euid();
    let runtime_dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from(format!("/run/user/{euid}")));
    let (mountinfo, cgroup) = (read("/proc/self/mountinfo"), read("/proc/self/cgroup"));
    let obs =
        Observed { euid, mountinfo: &mountinfo, cgroup: &cgroup, scope_runtime_dir: scope.then_some(runtime_dir) };
    decide(wanted, &obs, &HostView)
}

/// The default limits' decision for the library (no settings at hand): what
/// `checkDependencies` warns about.
pub fn default_warnings() -> Vec<String> {
    probe(Wanted::from_settings(None, mem_total()), false).unheld().into_iter().map(|(_, _, m)| m).collect()
}

/// Whether a limit's going unheld (`what`: processes or memory) is news:
/// said once per user (until the registry goes, at reboot), not at every run.
pub fn first_time(registry: &Path, what: &str) -> bool {
    std::fs::OpenOptions::new().write(true).create_new(true).open(registry.join(format!("unlimited-{what}"))).is_ok()
}

/// The version systemd-run reports (`systemd 252 (252.22-1)`).
pub fn systemd_version(systemd_run: &Path) -> Option<u32> {
    let out = std::process::Command::new(systemd_run).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().nth(1)?.parse().ok()
}

/// The cgroups made for one sandbox, removed when dropped (one still holding
/// processes stays, and the next run's sweep removes it once empty).
#[derive(Debug, Default)]
pub struct Cgroups {
    dirs: Vec<PathBuf>,
}

/// Names of srt's cgroups: `srt-<pid of the srt that made it>-<n>`.
const PREFIX: &str = "srt-";

impl Cgroups {
    /// Makes the cgroups `d` decided on and writes their limits.
    pub fn create(d: &Decision) -> Result<Cgroups, String> {
        let mut made = Cgroups::default();
        let v2 = [&d.processes_by, &d.memory_by].into_iter().find_map(|h| match h {
            Hold::By(Mechanism::CgroupV2 { parent, enable }) => Some((parent, enable)),
            _ => None,
        });
        let is_v2 = |h: &Hold| matches!(h, Hold::By(Mechanism::CgroupV2 { .. }));
        if let Some((parent, enable)) = v2 {
            if !enable.is_empty() {
                let words: Vec<String> = enable.iter().map(|c| format!("+{c}")).collect();
                write(&parent.join("cgroup.subtree_control"), &words.join(" "))?;
            }
            let dir = made.make(parent)?;
            if let (Some(n), true) = (d.processes, is_v2(&d.processes_by)) {
                write(&dir.join("pids.max"), &n.to_string())?;
            }
            if let (Some(bytes), true) = (d.memory, is_v2(&d.memory_by)) {
                write(&dir.join("memory.max"), &bytes.to_string())?;
                // The limit is on memory, not on memory until swap takes the rest.
                if dir.join("memory.swap.max").exists() {
                    write(&dir.join("memory.swap.max"), "0")?;
                }
            }
        }
        if let (Some(n), Hold::By(Mechanism::CgroupV1 { parent })) = (d.processes, &d.processes_by) {
            let dir = made.make(parent)?;
            write(&dir.join("pids.max"), &n.to_string())?;
        }
        if let (Some(bytes), Hold::By(Mechanism::CgroupV1 { parent })) = (d.memory, &d.memory_by) {
            // pids and memory may share a hierarchy, then a cgroup.
            let dir = match made.dirs.iter().find(|d| d.parent() == Some(parent.as_path())) {
                Some(dir) => dir.clone(),
                None => made.make(parent)?,
            };
            write(&dir.join("memory.limit_in_bytes"), &bytes.to_string())?;
            // Swap too, where it is accounted (memsw may not be below the memory limit, so after it).
            if dir.join("memory.memsw.limit_in_bytes").exists() {
                write(&dir.join("memory.memsw.limit_in_bytes"), &bytes.to_string())?;
            }
        }
        Ok(made)
    }

    /// The cgroups made.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Each cgroup's `cgroup.procs`, open for writing: a process that writes
    /// `0` there moves itself in (bubblewrap, before its exec, so nothing it
    /// starts is outside).
    pub fn procs(&self) -> Result<Vec<OwnedFd>, String> {
        self.dirs
            .iter()
            .map(|dir| {
                let path = dir.join("cgroup.procs");
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map(OwnedFd::from)
                    .map_err(|e| format!("cannot open {}: {e}", path.display()))
            })
            .collect()
    }

    /// Moves a running process (with its threads) into every cgroup made.
    pub fn adopt(&self, pid: u32) -> Result<(), String> {
        for dir in &self.dirs {
            write(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// A fresh cgroup under `parent`, after removing those of srt runs that
    /// are gone.
    fn make(&mut self, parent: &Path) -> Result<PathBuf, String> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static MADE: AtomicU64 = AtomicU64::new(0);
        sweep(parent);
        loop {
            let dir = parent.join(format!("{PREFIX}{}-{}", std::process::id(), MADE.fetch_add(1, Ordering::Relaxed)));
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    self.dirs.push(dir.clone());
                    return Ok(dir);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(format!("cannot make the sandbox's cgroup {}: {e}", dir.display())),
            }
        }
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        for dir in self.dirs.drain(..).rev() {
            if let Err(e) = std::fs::remove_dir(&dir) {
                tracing::debug!("cgroup {} stays for now: {e}", dir.display());
            }
        }
    }
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value).map_err(|e| format!("cannot write {value} to {}: {e}", path.display()))
}

/// Removes the cgroups of srt processes that are gone. One that still holds
/// processes (a library sandbox outliving its Node process) refuses to go,
/// and is tried again next time.
fn sweep(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)).and_then(|r| r.split('-').next()) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
