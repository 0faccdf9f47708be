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

/// How to install bubblewrap: this distribution's command when
/// `/etc/os-release` names one srt knows, else the usual ones.
pub fn install_hint() -> String {
    install_hint_for(&std::fs::read_to_string("/etc/os-release").unwrap_or_default())
}

/// The same, for the text of an `os-release` file.
fn install_hint_for(os_release: &str) -> String {
    let field = |key: &str| {
        os_release
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim_matches(|c| c == '"' || c == '\'').to_ascii_lowercase())
            .unwrap_or_default()
    };
    let ids = format!("{} {}", field("ID"), field("ID_LIKE"));
    let known = [
        (["debian", "ubuntu"], "sudo apt-get install bubblewrap"),
        (["fedora", "rhel"], "sudo dnf install bubblewrap"),
        (["arch", "archlinux"], "sudo pacman -S bubblewrap"),
        (["alpine", "alpine"], "sudo apk add bubblewrap"),
        (["suse", "opensuse"], "sudo zypper install bubblewrap"),
    ];
    let words: Vec<&str> = ids.split_whitespace().collect();
    match known.iter().find(|(names, _)| names.iter().any(|n| words.iter().any(|w| w == n || w.starts_with(&format!("{n}-"))))) {
        Some((_, command)) => format!("install bubblewrap: {command}"),
        None => "install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora/RHEL: sudo dnf install bubblewrap; Arch: sudo pacman -S bubblewrap; Alpine: sudo apk add bubblewrap)".into(),
    }
}

pub const USERNS_HINT: &str = "bubblewrap needs unprivileged user namespaces: check that `sysctl user.max_user_namespaces` is above 0, that `sysctl kernel.unprivileged_userns_clone` (where it exists) is 1, and on Ubuntu 23.10 and later that `sysctl kernel.apparmor_restrict_unprivileged_userns` is 0 or bwrap has an AppArmor profile. In an unprivileged container, try \"enableWeakerNestedSandbox\": true (weaker)";

/// Where the system's package manager puts bwrap: the only places srt
/// looks by itself.
const SYSTEM_DIRS: &[&str] = &["/usr/bin", "/bin", "/usr/local/bin", "/usr/sbin", "/sbin"];

/// Finds bwrap: `bwrapPath` if set (no fallback), else in the system
/// directories, where it, the links to it and every directory on the way
/// must be root's and writable by no one else (a sticky directory is fine:
/// only root may replace root's entries there). bwrap runs outside the
/// sandbox, as the caller. One found only on PATH is not run: whether an
/// earlier sandboxed command put it there (a run allowed to write that
/// directory, `node_modules/.bin` under an npm script) cannot be told, so
/// the error names it and asks for `bwrapPath`.
pub fn find_bwrap(settings: &Settings, path_var: Option<&std::ffi::OsStr>) -> Result<PathBuf, DependencyError> {
    if let Some(p) = &settings.bwrap_path {
        return if is_executable(Path::new(p)) {
            Ok(PathBuf::from(p))
        } else {
            Err(DependencyError(format!(
                "bubblewrap is not executable at {p} (bwrapPath); fix the path or {}",
                install_hint()
            )))
        };
    }
    let system = SYSTEM_DIRS.iter().map(|d| Path::new(d).join("bwrap")).collect();
    search(system).map_err(|e| {
        let on_path: Vec<String> =
            path_candidates(path_var).iter().filter(|c| is_executable(c)).map(|c| c.display().to_string()).collect();
        if on_path.is_empty() {
            return e;
        }
        DependencyError(format!(
            "{e}. bubblewrap was found on PATH ({}), but srt does not run one from outside the system directories by itself: bwrap runs outside the sandbox, and an earlier sandboxed command may have put it there. Name the bwrap you trust with \"bwrapPath\" in the settings",
            on_path.join(", ")
        ))
    })
}

fn search(candidates: Vec<PathBuf>) -> Result<PathBuf, DependencyError> {
    let mut distrusted = Vec::new();
    for candidate in candidates.into_iter().filter(|c| is_executable(c)) {
        match distrust(&candidate) {
            None => return Ok(candidate),
            Some(why) => distrusted.push(format!("{} ({why})", candidate.display())),
        }
    }
    if distrusted.is_empty() {
        return Err(DependencyError(format!("bubblewrap (bwrap) is not installed: {}", install_hint())));
    }
    Err(DependencyError(format!(
        "no bubblewrap that only root could have put there was found: {}. bwrap runs outside the sandbox; name the one you trust with \"bwrapPath\" in the settings, or {}",
        distrusted.join("; "),
        install_hint()
    )))
}

/// Why a program found by searching could have been put there by anyone but
/// root (a sandboxed command included), if it could.
pub(crate) fn distrust(candidate: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let real = std::fs::canonicalize(candidate).ok()?;
    if [candidate, real.as_path()].iter().any(|p| p.components().any(|c| c.as_os_str() == "node_modules")) {
        return Some("it lies in a node_modules directory, where sandboxed commands may write".into());
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

/// The absolute PATH entries' bwrap, for the error that names them.
fn path_candidates(path_var: Option<&std::ffi::OsStr>) -> Vec<PathBuf> {
    let on_path = path_var.map(std::env::split_paths).into_iter().flatten().filter(|dir| dir.is_absolute());
    on_path.map(|dir| dir.join("bwrap")).collect()
}

pub(crate) use crate::program_lookup::is_executable;

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
    for k in &plan.unset_env {
        a.push("--unsetenv".into());
        a.push(k.into());
    }
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
    fn the_install_hint_names_this_distributions_command() {
        let hint = |text: &str| install_hint_for(text);
        assert_eq!(hint("ID=debian\nVERSION_ID=\"12\""), "install bubblewrap: sudo apt-get install bubblewrap");
        assert_eq!(
            hint("ID=linuxmint\nID_LIKE=\"ubuntu debian\""),
            "install bubblewrap: sudo apt-get install bubblewrap"
        );
        assert_eq!(
            hint("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\""),
            "install bubblewrap: sudo dnf install bubblewrap"
        );
        assert_eq!(hint("ID=arch"), "install bubblewrap: sudo pacman -S bubblewrap");
        assert_eq!(hint("ID=alpine"), "install bubblewrap: sudo apk add bubblewrap");
        assert_eq!(
            hint("ID=\"opensuse-tumbleweed\"\nID_LIKE=\"opensuse suse\""),
            "install bubblewrap: sudo zypper install bubblewrap"
        );
        let unknown = hint("ID=nixos");
        for command in ["apt-get install", "dnf install", "pacman -S", "apk add"] {
            assert!(unknown.contains(command), "{unknown}");
        }
        assert!(!unknown.contains("http"), "no link: {unknown}");
    }

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
    fn path_entries_are_only_named_and_relative_ones_never() {
        let found = path_candidates(Some(std::ffi::OsStr::new(":.:bin:/home/u/.local/bin")));
        assert_eq!(found, [PathBuf::from("/home/u/.local/bin/bwrap")]);
    }

    /// A bwrap in a directory `name` under a fresh temporary directory.
    fn planted(name: &str) -> (PathBuf, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        // Unique per call: tests run at once in one process.
        let top = std::env::temp_dir().join(format!(
            "srt-bwrap-{name}-{}-{}",
            std::process::id(),
            crate::sys::random_hex(6).unwrap()
        ));
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
    fn a_bwrap_anyone_but_root_could_have_put_there_is_never_chosen() {
        use std::os::unix::fs::PermissionsExt;
        let (top, bwrap) = planted("bin");
        if nix::unistd::geteuid().is_root() {
            assert_eq!(search(vec![bwrap.clone()]), Ok(bwrap.clone()), "root's, writable by root only");
            nix::unistd::chown(&top.join("bin"), Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
            let e = search(vec![bwrap.clone()]).unwrap_err().0;
            assert!(e.contains("belongs to uid 65534, not root") && e.contains("bwrapPath"), "{e}");
            nix::unistd::chown(&top.join("bin"), Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
            std::fs::set_permissions(top.join("bin"), std::fs::Permissions::from_mode(0o775)).unwrap();
            let e = search(vec![bwrap.clone()]).unwrap_err().0;
            assert!(e.contains("bin is writable by others than root"), "{e}");
            // A sticky directory keeps others from replacing root's entries.
            std::fs::set_permissions(top.join("bin"), std::fs::Permissions::from_mode(0o1777)).unwrap();
            assert_eq!(search(vec![bwrap.clone()]), Ok(bwrap.clone()));
        } else {
            let e = search(vec![bwrap.clone()]).unwrap_err().0;
            assert!(e.contains("not root"), "{e}");
        }
        // A later candidate that can be trusted is taken.
        let system =
            SYSTEM_DIRS.iter().map(|d| Path::new(d).join("bwrap")).find(|c| is_executable(c) && distrust(c).is_none());
        if let Some(system) = system {
            std::fs::set_permissions(top.join("bin"), std::fs::Permissions::from_mode(0o777)).unwrap();
            assert_eq!(search(vec![bwrap.clone(), system.clone()]), Ok(system));
        }
        std::fs::remove_dir_all(&top).unwrap();
        let (top, bwrap) = planted("node_modules");
        let e = search(vec![bwrap]).unwrap_err().0;
        assert!(e.contains("node_modules"), "{e}");
        std::fs::remove_dir_all(&top).unwrap();
    }

    #[test]
    fn one_found_only_on_path_is_named_never_run() {
        // Only where this machine has no system bwrap can the search reach PATH.
        if SYSTEM_DIRS.iter().any(|d| Path::new(d).join("bwrap").exists()) {
            let (top, _) = planted("bin");
            let s = Settings::default();
            let found = find_bwrap(&s, Some(top.join("bin").as_os_str())).unwrap();
            assert!(SYSTEM_DIRS.iter().any(|d| found.starts_with(d)), "{}", found.display());
            std::fs::remove_dir_all(&top).unwrap();
            return;
        }
        let (top, _) = planted("bin");
        let e = find_bwrap(&Settings::default(), Some(top.join("bin").as_os_str())).unwrap_err().0;
        assert!(e.contains("was found on PATH") && e.contains("bwrapPath"), "{e}");
        std::fs::remove_dir_all(&top).unwrap();
    }

    #[test]
    fn missing_bwrap_names_the_fix() {
        let s = Settings::default();
        if !SYSTEM_DIRS.iter().any(|d| Path::new(d).join("bwrap").exists()) {
            let e = find_bwrap(&s, Some(std::ffi::OsStr::new("/nonexistent"))).unwrap_err();
            assert!(e.0.contains("apt-get install bubblewrap"), "{e}");
        }
        let s = Settings { bwrap_path: Some("/nonexistent/bwrap".into()), ..Default::default() };
        assert!(find_bwrap(&s, None).unwrap_err().0.contains("bwrapPath"));
    }
}
