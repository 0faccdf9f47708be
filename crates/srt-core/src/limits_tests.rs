//! The mechanism decision over made-up hosts: cgroup v1/hybrid (this CI's
//! kind), pure cgroup v2 with and without systemd, containers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::*;
use crate::config::{Limit, LimitsSettings};

#[derive(Default)]
struct FakeHost {
    files: BTreeMap<PathBuf, String>,
    writable: BTreeSet<PathBuf>,
    trusted: BTreeSet<PathBuf>,
}

impl FakeHost {
    fn file(mut self, path: &str, text: &str) -> Self {
        self.files.insert(path.into(), text.into());
        self
    }
    fn writable(mut self, paths: &[&str]) -> Self {
        self.writable.extend(paths.iter().map(PathBuf::from));
        self
    }
    fn trusted(mut self, path: &str) -> Self {
        self.trusted.insert(path.into());
        self
    }
}

impl View for FakeHost {
    fn read(&self, path: &Path) -> Option<String> {
        self.files.get(path).cloned()
    }
    fn exists(&self, path: &Path) -> bool {
        self.files.contains_key(path)
    }
    fn writable(&self, path: &Path) -> bool {
        self.writable.contains(path)
    }
    fn trusted(&self, path: &Path) -> bool {
        self.trusted.contains(path)
    }
}

const GIB: u64 = 1 << 30;

fn wanted() -> Wanted {
    Wanted { processes: Some(4096), memory: Some(8 * GIB), explicit_processes: false, explicit_memory: false }
}

const HYBRID_MOUNTS: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

const HYBRID_CGROUP: &str = "8:pids:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/\n0::/\n";

/// The unified tree of a hybrid machine: its root, with no pids or memory.
fn hybrid() -> FakeHost {
    FakeHost::default()
        .file("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n")
        .file("/sys/fs/cgroup/unified/cgroup.subtree_control", "\n")
}

fn on(host: &FakeHost, euid: u32, mountinfo: &str, cgroup: &str, scope: bool) -> Decision {
    let obs = Observed {
        euid,
        mountinfo,
        cgroup,
        scope_runtime_dir: scope.then(|| PathBuf::from(format!("/run/user/{euid}"))),
    };
    decide(wanted(), &obs, host)
}

fn v1(parent: &str) -> Hold {
    Hold::By(Mechanism::CgroupV1 { parent: parent.into() })
}

fn v2(parent: &str, enable: &[&'static str]) -> Hold {
    Hold::By(Mechanism::CgroupV2 { parent: parent.into(), enable: enable.to_vec() })
}

fn unheld_saying(hold: &Hold, words: &[&str]) {
    let Hold::Unheld(why) = hold else { panic!("held: {hold:?}") };
    for w in words {
        assert!(why.contains(w), "{why:?} does not say {w:?}");
    }
}

#[test]
fn root_on_a_hybrid_machine_gets_cgroup_v1_under_its_own_cgroups() {
    let host = hybrid().writable(&["/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory/process_api/abc"]);
    let d = on(&host, 0, HYBRID_MOUNTS, HYBRID_CGROUP, true);
    assert_eq!(d.processes_by, v1("/sys/fs/cgroup/pids"));
    assert_eq!(d.memory_by, v1("/sys/fs/cgroup/memory/process_api/abc"));
    assert_eq!((d.processes, d.memory), (Some(4096), Some(8 * GIB)));
    assert_eq!(d.rlimit_nproc(), None);
    assert!(d.unheld().is_empty());
    assert_eq!(d.scope_prefix(Some(255)), None);
}

#[test]
fn a_user_on_a_hybrid_machine_gets_rlimit_for_processes_and_is_told_memory_is_unheld() {
    let d = on(&hybrid(), 1000, HYBRID_MOUNTS, HYBRID_CGROUP, true);
    assert_eq!(d.processes_by, Hold::By(Mechanism::Rlimit));
    assert_eq!(d.rlimit_nproc(), Some(4096));
    unheld_saying(
        &d.memory_by,
        &["cgroup v1 memory (/sys/fs/cgroup/memory/process_api/abc): not writable by uid 1000", "no fallback"],
    );
    let unheld = d.unheld();
    assert_eq!(unheld.len(), 1);
    assert_eq!((unheld[0].0, unheld[0].1), ("memory", false));
    assert!(unheld[0].2.starts_with("sandboxes here get no memory limit: "), "{}", unheld[0].2);
}

#[test]
fn root_where_cgroups_are_read_only_is_told_nothing_holds_processes() {
    // A container with its cgroup filesystem read-only: RLIMIT_NPROC does not bind uid 0.
    let d = on(&hybrid(), 0, HYBRID_MOUNTS, HYBRID_CGROUP, true);
    unheld_saying(&d.processes_by, &["cgroup v1 pids (/sys/fs/cgroup/pids): not writable", "does not bind root"]);
    unheld_saying(&d.memory_by, &["no fallback"]);
}

#[test]
fn explicit_limits_nothing_holds_are_errors_naming_the_key() {
    let mut w = wanted();
    w.explicit_memory = true;
    let obs = Observed { euid: 1000, mountinfo: HYBRID_MOUNTS, cgroup: HYBRID_CGROUP, scope_runtime_dir: None };
    let unheld = decide(w, &obs, &hybrid()).unheld();
    assert_eq!((unheld[0].0, unheld[0].1), ("memory", true));
    assert!(unheld[0].2.starts_with("limits.maxMemoryMB: no memory limit can be enforced here ("), "{}", unheld[0].2);
    assert!(unheld[0].2.ends_with("set it to null to run without one"), "{}", unheld[0].2);
}

const V2_MOUNTS: &str = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n";

#[test]
fn root_on_systemd_cgroup_v2_makes_its_cgroup_beside_its_session() {
    let slice = "/sys/fs/cgroup/user.slice/user-0.slice";
    let host = FakeHost::default()
        .file("/sys/fs/cgroup/user.slice/user-0.slice/session-3.scope/cgroup.type", "domain\n")
        .file("/sys/fs/cgroup/user.slice/user-0.slice/session-3.scope/pids.max", "max\n")
        .file("/sys/fs/cgroup/user.slice/user-0.slice/cgroup.type", "domain\n")
        .file("/sys/fs/cgroup/user.slice/user-0.slice/cgroup.subtree_control", "memory pids\n")
        .writable(&[slice, "/sys/fs/cgroup/user.slice/user-0.slice/cgroup.procs"]);
    let d = on(&host, 0, V2_MOUNTS, "0::/user.slice/user-0.slice/session-3.scope\n", true);
    assert_eq!(d.processes_by, v2(slice, &[]));
    assert_eq!(d.memory_by, v2(slice, &[]));
    assert!(d.describe().contains("processes at most 4096, held by a cgroup v2 under"), "{}", d.describe());
}

#[test]
fn the_limits_of_the_cgroups_left_behind_come_along() {
    let slice = "/sys/fs/cgroup/user.slice/user-0.slice";
    let scope = "/sys/fs/cgroup/user.slice/user-0.slice/session-3.scope";
    let host = FakeHost::default()
        .file(&format!("{scope}/cgroup.type"), "domain\n")
        .file(&format!("{scope}/pids.max"), "100\n")
        .file(&format!("{scope}/memory.max"), "max\n")
        .file(&format!("{slice}/cgroup.type"), "domain\n")
        .file(&format!("{slice}/cgroup.subtree_control",), "memory pids\n")
        .writable(&[slice, &format!("{slice}/cgroup.procs")]);
    let mut w = wanted();
    w.processes = None;
    let obs = Observed {
        euid: 0,
        mountinfo: V2_MOUNTS,
        cgroup: "0::/user.slice/user-0.slice/session-3.scope\n",
        scope_runtime_dir: None,
    };
    let d = decide(w, &obs, &host);
    // No limit asked, but the session's 100 must not be escaped.
    assert_eq!(d.processes, Some(100));
    assert_eq!(d.processes_by, v2(slice, &[]));
    assert_eq!(d.memory, Some(8 * GIB));
}

#[test]
fn a_cgroup_that_cannot_carry_a_limit_left_behind_is_not_used() {
    let slice = "/sys/fs/cgroup/user.slice/user-0.slice";
    let scope = "/sys/fs/cgroup/user.slice/user-0.slice/session-3.scope";
    let host = FakeHost::default()
        .file(&format!("{scope}/cgroup.type"), "domain\n")
        .file(&format!("{scope}/memory.max"), "1073741824\n")
        .file(&format!("{slice}/cgroup.type"), "domain\n")
        .file(&format!("{slice}/cgroup.subtree_control"), "pids\n")
        .writable(&[slice, &format!("{slice}/cgroup.procs")]);
    let d = on(&host, 0, V2_MOUNTS, "0::/user.slice/user-0.slice/session-3.scope\n", false);
    unheld_saying(&d.processes_by, &["cgroup v2 (/sys/fs/cgroup): no cgroup above srt's own", "does not bind root"]);
}

#[test]
fn root_at_the_root_of_a_cgroup_v2_tree_switches_the_controllers_on() {
    let host = FakeHost::default()
        .file("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n")
        .file("/sys/fs/cgroup/cgroup.subtree_control", "cpu\n")
        .writable(&["/sys/fs/cgroup", "/sys/fs/cgroup/cgroup.procs", "/sys/fs/cgroup/cgroup.subtree_control"]);
    let d = on(&host, 0, V2_MOUNTS, "0::/\n", true);
    assert_eq!(d.processes_by, v2("/sys/fs/cgroup", &["pids", "memory"]));
}

#[test]
fn the_root_of_a_namespace_holding_processes_cannot_give_controllers() {
    // A privileged container with its own cgroup namespace: "/" is not the tree's root.
    let host = FakeHost::default()
        .file("/sys/fs/cgroup/cgroup.type", "domain\n")
        .file("/sys/fs/cgroup/cgroup.controllers", "memory pids\n")
        .file("/sys/fs/cgroup/cgroup.subtree_control", "\n")
        .writable(&["/sys/fs/cgroup", "/sys/fs/cgroup/cgroup.procs", "/sys/fs/cgroup/cgroup.subtree_control"]);
    let d = on(&host, 0, V2_MOUNTS, "0::/\n", true);
    unheld_saying(&d.processes_by, &["does not bind root"]);
}

const USER_APP: &str = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-term.scope\n";

#[test]
fn a_user_with_a_delegated_subtree_uses_it_directly() {
    let app = "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice";
    let host = FakeHost::default()
        .file(&format!("{app}/app-term.scope/cgroup.type"), "domain\n")
        .file(&format!("{app}/cgroup.type"), "domain\n")
        .file(&format!("{app}/cgroup.subtree_control"), "memory pids\n")
        .writable(&[app, &format!("{app}/cgroup.procs")]);
    let d = on(&host, 1000, V2_MOUNTS, USER_APP, true);
    assert_eq!(d.processes_by, v2(app, &[]));
    assert_eq!(d.memory_by, v2(app, &[]));
    assert_eq!(d.scope_prefix(Some(255)), None);
}

const SSH_SESSION: &str = "0::/user.slice/user-1000.slice/session-7.scope\n";

fn systemd_user() -> FakeHost {
    FakeHost::default()
        .file("/sys/fs/cgroup/user.slice/user-1000.slice/session-7.scope/cgroup.type", "domain\n")
        .file("/sys/fs/cgroup/user.slice/user-1000.slice/cgroup.type", "domain\n")
        .file("/sys/fs/cgroup/user.slice/user-1000.slice/cgroup.subtree_control", "memory pids\n")
        .file("/sys/fs/cgroup/user.slice/cgroup.type", "domain\n")
        .file("/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.controllers", "cpu memory pids\n")
        .file("/run/user/1000/systemd/private", "")
        .trusted("/usr/bin/systemd-run")
}

#[test]
fn a_user_without_a_writable_subtree_gets_a_systemd_scope_in_the_cli() {
    let d = on(&systemd_user(), 1000, V2_MOUNTS, SSH_SESSION, true);
    let scope = Hold::By(Mechanism::SystemdScope { systemd_run: "/usr/bin/systemd-run".into() });
    assert_eq!((&d.processes_by, &d.memory_by), (&scope, &scope));
    assert_eq!(d.rlimit_nproc(), None);
    let prefix: Vec<String> =
        d.scope_prefix(Some(255)).unwrap().iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let bytes = 8 * GIB;
    assert_eq!(
        prefix,
        [
            "/usr/bin/systemd-run",
            "--user",
            "--scope",
            "--quiet",
            "--collect",
            "--description=srt sandbox",
            "--expand-environment=no",
            "-p",
            "TasksMax=4096",
            "-p",
            &format!("MemoryMax={bytes}"),
            "-p",
            "MemorySwapMax=0",
            "--"
        ]
    );
    // Before 254 systemd-run neither expands $VAR nor knows the option.
    assert!(!d.scope_prefix(Some(252)).unwrap().iter().any(|a| a == "--expand-environment=no"));
}

#[test]
fn the_library_cannot_use_a_scope_and_falls_back_to_rlimit() {
    let d = on(&systemd_user(), 1000, V2_MOUNTS, SSH_SESSION, false);
    assert_eq!(d.processes_by, Hold::By(Mechanism::Rlimit));
    unheld_saying(&d.memory_by, &["no cgroup above srt's own", "no fallback"]);
}

#[test]
fn a_scope_needs_the_manager_running_and_a_systemd_run_only_root_could_place() {
    let mut no_manager = systemd_user();
    no_manager.files.remove(Path::new("/run/user/1000/systemd/private"));
    let d = on(&no_manager, 1000, V2_MOUNTS, SSH_SESSION, true);
    unheld_saying(&d.memory_by, &["no systemd user manager (/run/user/1000/systemd/private is missing)"]);
    let mut untrusted = systemd_user();
    untrusted.trusted.clear();
    let d = on(&untrusted, 1000, V2_MOUNTS, SSH_SESSION, true);
    unheld_saying(&d.memory_by, &["no systemd-run in /usr/bin or /bin"]);
}

#[test]
fn no_limit_asked_needs_no_mechanism() {
    let obs = Observed { euid: 0, mountinfo: HYBRID_MOUNTS, cgroup: HYBRID_CGROUP, scope_runtime_dir: None };
    let d = decide(Wanted::default(), &obs, &hybrid());
    assert_eq!((&d.processes_by, &d.memory_by), (&Hold::Off, &Hold::Off));
    assert!(d.unheld().is_empty());
    assert_eq!(Cgroups::create(&d).unwrap().dirs(), &[] as &[PathBuf]);
}

#[test]
fn wanted_limits_from_the_settings() {
    let total = 16 * GIB;
    let d = Wanted::from_settings(None, Some(total));
    assert_eq!(
        (d.processes, d.memory, d.explicit_processes, d.explicit_memory),
        (Some(4096), Some(12 * GIB), false, false)
    );
    let set = LimitsSettings { max_processes: Some(Limit::At(64)), max_memory_mb: Some(Limit::Unlimited) };
    let d = Wanted::from_settings(Some(&set), Some(total));
    assert_eq!((d.processes, d.memory, d.explicit_processes, d.explicit_memory), (Some(64), None, true, true));
    let set = LimitsSettings { max_processes: None, max_memory_mb: Some(Limit::At(512)) };
    let d = Wanted::from_settings(Some(&set), None);
    assert_eq!((d.processes, d.memory), (Some(4096), Some(512 << 20)));
}

#[test]
fn mount_points_with_escaped_characters_and_bound_subtrees() {
    let mounts = cgroup_mounts(
        "40 31 0:36 /outer /sys/fs/cgroup/my\\040pids rw - cgroup cgroup rw,pids\n50 1 8:1 / / rw - ext4 /dev/sda1 rw\n",
    );
    assert_eq!(mounts.len(), 1);
    assert_eq!(mounts[0].point, Path::new("/sys/fs/cgroup/my pids"));
    assert_eq!(own_dir(&mounts[0], "3:pids:/outer/inner\n"), Some(PathBuf::from("/sys/fs/cgroup/my pids/inner")));
    assert_eq!(own_dir(&mounts[0], "3:pids:/elsewhere\n"), None, "a cgroup the mount does not show");
    assert_eq!(own_dir(&mounts[0], "3:pids:/outer/../x\n"), None);
}

#[test]
fn a_user_whose_subtree_has_pids_alone_still_tries_the_scope_for_memory() {
    let mut host = systemd_user();
    let slice = "/sys/fs/cgroup/user.slice/user-1000.slice";
    host.files.insert(format!("{slice}/cgroup.subtree_control").into(), "pids\n".into());
    host.writable.extend([PathBuf::from(slice), PathBuf::from(format!("{slice}/cgroup.procs"))]);
    let d = on(&host, 1000, V2_MOUNTS, SSH_SESSION, true);
    let scope = Hold::By(Mechanism::SystemdScope { systemd_run: "/usr/bin/systemd-run".into() });
    assert_eq!((&d.processes_by, &d.memory_by), (&scope, &scope));
    // Only processes asked: the subtree holds them all, no scope needed.
    let obs = Observed {
        euid: 1000,
        mountinfo: V2_MOUNTS,
        cgroup: SSH_SESSION,
        scope_runtime_dir: Some("/run/user/1000".into()),
    };
    let d = decide(Wanted { memory: None, ..wanted() }, &obs, &host);
    assert_eq!(d.processes_by, v2(slice, &[]));
    assert_eq!(d.memory_by, Hold::Off);
}
