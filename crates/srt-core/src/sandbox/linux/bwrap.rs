//! bubblewrap: finding it, checking it can work here, and rendering a plan
//! into its argument vector.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::plan::{Mount, Plan};
use crate::config::Settings;

/// Why the sandbox cannot be set up on this machine. The message says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyError(pub String);

impl std::fmt::Display for DependencyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub const INSTALL_HINT: &str =
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap; Arch: pacman -S bubblewrap)";

pub const USERNS_HINT: &str = "bubblewrap needs unprivileged user namespaces: check that `sysctl user.max_user_namespaces` is above 0, that `sysctl kernel.unprivileged_userns_clone` (where it exists) is 1, and on Ubuntu 23.10 and later that `sysctl kernel.apparmor_restrict_unprivileged_userns` is 0 or bwrap has an AppArmor profile. In an unprivileged container, try \"enableWeakerNestedSandbox\": true (weaker)";

/// Where the system's package manager puts bwrap: looked at before PATH.
const SYSTEM_DIRS: &[&str] = &["/usr/bin", "/bin", "/usr/local/bin", "/usr/sbin", "/sbin"];

/// Directories sandboxed commands commonly may write, beyond the caller's
/// home and working directory: a bwrap found beneath one is never run.
pub const SCRATCH_DIRS: &[&str] = &["/tmp", "/var/tmp", "/dev/shm"];

/// Finds bwrap: `bwrapPath` if set (no fallback), else in the system
/// directories, else on PATH (absolute entries only). bwrap runs outside the
/// sandbox, as the caller: a searched one is run only if no sandbox could
/// have put it there. It must not lie beneath `avoid` (home, the working
/// directory, temporary directories: what sandboxes are given to write) nor
/// in a `node_modules`, and it, its links and every directory on the way
/// must be root's and writable by no one else (a sticky directory, like
/// `/nix/store`, is fine: only root may replace root's entries there).
pub fn find_bwrap(
    settings: &Settings,
    path_var: Option<&std::ffi::OsStr>,
    avoid: &[PathBuf],
) -> Result<PathBuf, DependencyError> {
    if let Some(p) = &settings.bwrap_path {
        return if is_executable(Path::new(p)) {
            Ok(PathBuf::from(p))
        } else {
            Err(DependencyError(format!(
                "bubblewrap is not executable at {p} (bwrapPath); fix the path or {INSTALL_HINT}"
            )))
        };
    }
    search(candidates(path_var), avoid)
}

fn search(candidates: Vec<PathBuf>, avoid: &[PathBuf]) -> Result<PathBuf, DependencyError> {
    let mut distrusted = Vec::new();
    for candidate in candidates.into_iter().filter(|c| is_executable(c)) {
        match distrust(&candidate, avoid) {
            None => return Ok(candidate),
            Some(why) => distrusted.push(format!("{} ({why})", candidate.display())),
        }
    }
    if distrusted.is_empty() {
        return Err(DependencyError(format!("bubblewrap (bwrap) is not installed: {INSTALL_HINT}")));
    }
    Err(DependencyError(format!(
        "no bubblewrap that a sandboxed command could not have replaced was found: {}. bwrap runs outside the sandbox; name the one you trust with \"bwrapPath\" in the settings, or {INSTALL_HINT}",
        distrusted.join("; ")
    )))
}

/// Why a bwrap found by searching could have been put there by a sandboxed
/// command (or by anyone but root), if it could.
pub(crate) fn distrust(candidate: &Path, avoid: &[PathBuf]) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let real = std::fs::canonicalize(candidate).ok()?;
    // The package manager's directories are judged by ownership alone: a
    // caller working in /usr/bin must still find /usr/bin/bwrap.
    let system = candidate.parent().is_some_and(|d| SYSTEM_DIRS.iter().any(|s| d == Path::new(s)));
    for place in [candidate, real.as_path()].into_iter().filter(|_| !system) {
        if let Some(dir) = avoid.iter().find(|d| d.as_os_str().len() > 1 && place.starts_with(d)) {
            return Some(format!("it lies in {}, where sandboxed commands may write", dir.display()));
        }
        if place.components().any(|c| c.as_os_str() == "node_modules") {
            return Some("it lies in a node_modules directory, where sandboxed commands may write".into());
        }
    }
    // Every entry on the way, as spelled (links included) and where it lands.
    let mut entries: Vec<PathBuf> = candidate.ancestors().chain(real.ancestors()).map(Path::to_path_buf).collect();
    entries.sort();
    entries.dedup();
    for entry in entries {
        let Ok(meta) = std::fs::symlink_metadata(&entry) else {
            return Some(format!("{} cannot be read", entry.display()));
        };
        if meta.uid() != 0 {
            return Some(format!("{} belongs to uid {}, not root", entry.display(), meta.uid()));
        }
        let others_write = meta.mode() & 0o022 != 0;
        let sticky_dir = meta.is_dir() && meta.mode() & 0o1000 != 0;
        if others_write && !meta.file_type().is_symlink() && !sticky_dir {
            return Some(format!("{} is writable by others than root", entry.display()));
        }
    }
    None
}

/// Where to look for bwrap, in order.
fn candidates(path_var: Option<&std::ffi::OsStr>) -> Vec<PathBuf> {
    let on_path = path_var.map(std::env::split_paths).into_iter().flatten().filter(|dir| dir.is_absolute());
    SYSTEM_DIRS.iter().map(PathBuf::from).chain(on_path).map(|dir| dir.join("bwrap")).collect()
}

pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Refuses up front when the kernel has user namespaces switched off.
pub fn check_user_namespaces() -> Result<(), DependencyError> {
    let read = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim().to_string());
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return Err(DependencyError(format!(
            "user namespaces are disabled (user.max_user_namespaces is 0): {USERNS_HINT}"
        )));
    }
    Ok(())
}

/// bubblewrap refuses more arguments than this, wherever they come from.
pub const MAX_ARGS: usize = 9000;

/// How the sandbox is started, beyond the mount plan.
#[derive(Clone, Debug)]
pub struct Launch {
    pub bwrap: PathBuf,
    /// Descriptor (in bwrap) where it reports the sandbox's first process.
    pub info_fd: Option<i32>,
    pub cwd: PathBuf,
    /// Stop the command from creating user namespaces.
    pub disable_userns: bool,
    /// The helper and everything after it: `[helper, "__sandbox-exec", ...]`.
    pub helper_argv: Vec<OsString>,
}

/// The full argument vector, bwrap itself first.
pub fn argv(plan: &Plan, launch: &Launch) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::with_capacity(plan.mounts.len() * 3 + 32);
    let mut push = |words: &[&str]| a.extend(words.iter().map(OsString::from));
    push(&["--new-session", "--die-with-parent"]);
    push(&[
        "--unshare-user",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]);
    push(&["--cap-drop", "ALL"]);
    if launch.disable_userns {
        push(&["--disable-userns"]);
    }
    // The helper is pid 1: it reaps, forwards signals, and its exit ends every process inside.
    push(&["--as-pid-1"]);
    if let Some(fd) = launch.info_fd {
        a.push("--info-fd".into());
        a.push(fd.to_string().into());
    }
    for mount in &plan.mounts {
        let (op, src, dest): (&str, Option<&Path>, &Path) = match mount {
            Mount::Bind(s, d) => ("--bind", Some(s), d),
            Mount::RoBind(s, d) => ("--ro-bind", Some(s), d),
            Mount::RoBindTry(s, d) => ("--ro-bind-try", Some(s), d),
            Mount::Tmpfs(d) => ("--tmpfs", None, d),
            Mount::RemountRo(d) => ("--remount-ro", None, d),
            Mount::Dev(d) => ("--dev", None, d),
            Mount::Proc(d) => ("--proc", None, d),
        };
        a.push(op.into());
        if let Some(s) = src {
            a.push(s.into());
        }
        a.push(dest.into());
    }
    a.push("--chdir".into());
    a.push(launch.cwd.clone().into());
    for (k, v) in &plan.env {
        a.push("--setenv".into());
        a.push(k.into());
        a.push(v.into());
    }
    a.push("--".into());
    a.extend(launch.helper_argv.iter().cloned());
    let mut full = Vec::with_capacity(a.len() + 1);
    full.push(launch.bwrap.clone().into_os_string());
    full.extend(a);
    full
}

/// Whether this bwrap knows `--disable-userns` (0.8.0 and later), from `bwrap --version`.
pub fn supports_disable_userns(version_output: &str) -> bool {
    let version = version_output.split_whitespace().last().unwrap_or("");
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (0, 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_parsing() {
        assert!(supports_disable_userns("bubblewrap 0.8.0\n"));
        assert!(supports_disable_userns("bubblewrap 0.11.1"));
        assert!(supports_disable_userns("bubblewrap 1.0"));
        assert!(!supports_disable_userns("bubblewrap 0.6.1"));
        assert!(!supports_disable_userns("garbage"));
    }

    #[test]
    fn argv_shape() {
        let plan = Plan {
            mounts: vec![Mount::RoBind("/".into(), "/".into()), Mount::Tmpfs("/home/u/.ssh".into())],
            env: vec![("SANDBOX_RUNTIME".into(), "1".into())],
            ..Default::default()
        };
        let launch = Launch {
            bwrap: "/usr/bin/bwrap".into(),
            info_fd: Some(3),
            cwd: "/w".into(),
            disable_userns: true,
            helper_argv: vec!["/h/srt".into(), "__sandbox-exec".into(), "--".into(), "echo".into(), "a b".into()],
        };
        let words: Vec<String> = argv(&plan, &launch).iter().map(|w| w.to_string_lossy().into_owned()).collect();
        assert_eq!(
            words.join(" "),
            "/usr/bin/bwrap --new-session --die-with-parent --unshare-user --unshare-pid --unshare-net --unshare-ipc \
             --unshare-uts --unshare-cgroup-try --cap-drop ALL --disable-userns --as-pid-1 --info-fd 3 \
             --ro-bind / / --tmpfs /home/u/.ssh --chdir /w --setenv SANDBOX_RUNTIME 1 -- /h/srt __sandbox-exec -- echo a b"
        );
    }

    #[test]
    fn system_directories_first_and_relative_path_entries_never() {
        let found = candidates(Some(std::ffi::OsStr::new(":.:bin:/home/u/.local/bin")));
        let shown: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            shown,
            [
                "/usr/bin/bwrap",
                "/bin/bwrap",
                "/usr/local/bin/bwrap",
                "/usr/sbin/bwrap",
                "/sbin/bwrap",
                "/home/u/.local/bin/bwrap"
            ]
        );
    }

    /// A bwrap in a directory `name` under a fresh temporary directory.
    fn planted(name: &str) -> (PathBuf, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let top = std::env::temp_dir().join(format!("srt-bwrap-{name}-{}", std::process::id()));
        let dir = top.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&top, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bwrap = dir.join("bwrap");
        std::fs::write(&bwrap, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&bwrap, std::fs::Permissions::from_mode(0o755)).unwrap();
        (top, bwrap)
    }

    #[test]
    fn a_bwrap_a_sandbox_could_have_planted_is_never_chosen() {
        use std::os::unix::fs::PermissionsExt;
        let root = nix::unistd::geteuid().is_root();
        // Beneath a directory sandboxes may write (home, the working directory, /tmp).
        let (top, bwrap) = planted("bin");
        let e = search(vec![bwrap.clone()], std::slice::from_ref(&top)).unwrap_err().0;
        assert!(e.contains("where sandboxed commands may write") && e.contains("bwrapPath"), "{e}");
        // Owned by someone other than root: the caller, or a user it runs as.
        if root {
            assert_eq!(search(vec![bwrap.clone()], &[]), Ok(bwrap.clone()), "root's, writable by root only");
            nix::unistd::chown(&top.join("bin"), Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
            let e = search(vec![bwrap.clone()], &[]).unwrap_err().0;
            assert!(e.contains("belongs to uid 65534, not root"), "{e}");
            nix::unistd::chown(&top.join("bin"), Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
            std::fs::set_permissions(top.join("bin"), std::fs::Permissions::from_mode(0o775)).unwrap();
            let e = search(vec![bwrap.clone()], &[]).unwrap_err().0;
            assert!(e.contains("bin is writable by others than root"), "{e}");
            // A sticky directory keeps others from replacing root's entries.
            std::fs::set_permissions(top.join("bin"), std::fs::Permissions::from_mode(0o1777)).unwrap();
            assert_eq!(search(vec![bwrap.clone()], &[]), Ok(bwrap.clone()));
        } else {
            let e = search(vec![bwrap.clone()], &[]).unwrap_err().0;
            assert!(e.contains("not root"), "{e}");
        }
        // A later candidate that can be trusted is taken.
        let system = candidates(None).into_iter().find(|c| is_executable(c) && distrust(c, &[]).is_none());
        if let Some(system) = system {
            assert_eq!(search(vec![bwrap.clone(), system.clone()], std::slice::from_ref(&top)), Ok(system));
        }
        std::fs::remove_dir_all(&top).unwrap();
        let (top, bwrap) = planted("node_modules");
        let e = search(vec![bwrap], &[]).unwrap_err().0;
        assert!(e.contains("node_modules"), "{e}");
        std::fs::remove_dir_all(&top).unwrap();
    }

    #[test]
    fn missing_bwrap_names_the_fix() {
        let s = Settings::default();
        if !SYSTEM_DIRS.iter().any(|d| Path::new(d).join("bwrap").exists()) {
            let e = find_bwrap(&s, Some(std::ffi::OsStr::new("/nonexistent")), &[]).unwrap_err();
            assert!(e.0.contains("apt-get install bubblewrap"), "{e}");
        }
        let s = Settings { bwrap_path: Some("/nonexistent/bwrap".into()), ..Default::default() };
        assert!(find_bwrap(&s, None, &[]).unwrap_err().0.contains("bwrapPath"));
    }
}
