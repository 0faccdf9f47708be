//! Process and memory limits end to end: the real `srt`, a real sandbox, a
//! real fork bomb and a real allocation. Run as root (a cgroup holds the
//! limits) and as an ordinary user (RLIMIT_NPROC holds processes; memory
//! needs a cgroup the user may create, else srt refuses an explicit limit).

#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;

use support::{missing_tool, srt, text, Scratch};

fn missing_tools() -> Option<&'static str> {
    missing_tool(&["bwrap", "perl"])
}

/// Runs `srt --debug` with `limits` as the settings' `limits` (or none) in `dir`.
fn run(dir: &Path, limits: Option<&str>, command: &[&str]) -> Output {
    let limits = limits.map(|l| format!(", \"limits\": {l}")).unwrap_or_default();
    let settings = dir.join("settings.json");
    std::fs::write(
        &settings,
        format!(
            r#"{{"network": {{"allowedDomains": [], "deniedDomains": []}},
                "filesystem": {{"denyRead": [], "allowWrite": [], "denyWrite": []}}{limits}}}"#
        ),
    )
    .unwrap();
    Command::new(srt())
        .arg("--debug")
        .arg("--settings")
        .arg(&settings)
        .arg("--")
        .args(command)
        .current_dir(dir)
        .env("HOME", dir)
        .env_remove("SRT_DEBUG")
        .output()
        .unwrap()
}

/// Forks up to 200 children that sleep for ever (named `marker`), then
/// prints how many it got and exits: the sandbox's end takes the children.
fn fork_bomb(marker: &str) -> String {
    format!(
        r#"my $n = 0; for (1..200) {{ my $p = fork(); last unless defined $p; if (!$p) {{ $0 = "{marker}"; sleep; exit 0 }} $n++ }} print "forked $n\n";"#
    )
}

fn forked(stdout: &str) -> usize {
    let line =
        stdout.lines().find_map(|l| l.strip_prefix("forked ")).unwrap_or_else(|| panic!("no count in {stdout:?}"));
    line.trim().parse().unwrap()
}

/// Processes on the host whose command line holds `marker`.
fn processes_named(marker: &str) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    entries
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| text(&c).contains(marker)))
        .count()
}

/// The cgroups srt's `--debug` says the sandbox ran in.
fn cgroups_used(stderr: &str) -> Vec<PathBuf> {
    let Some(line) = stderr.lines().find_map(|l| l.strip_prefix("[SandboxDebug] limits: the sandbox runs in ")) else {
        return Vec::new();
    };
    line.trim_matches(|c| c == '[' || c == ']').split(", ").map(|p| PathBuf::from(p.trim_matches('"'))).collect()
}

#[test]
fn a_fork_bomb_stops_at_max_processes_and_leaves_nothing_behind() {
    if let Some(tool) = missing_tools() {
        eprintln!("skipped: no {tool}");
        return;
    }
    let scratch = Scratch::new("fork");
    let marker = format!("srt-limits-bomb-{}", std::process::id());
    let out = run(&scratch.0, Some(r#"{"maxProcesses": 64}"#), &["perl", "-e", &fork_bomb(&marker)]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    if stderr.contains("limits.maxProcesses: no process limit can be enforced here") {
        // Refused, not run unlimited: the other correct outcome (root where no cgroup is writable).
        eprintln!("skipped: nothing on this machine can hold a process limit for this user: {stderr}");
        assert_eq!(out.status.code(), Some(1));
        return;
    }
    assert!(stderr.contains("[SandboxDebug] limits: processes at most 64, held by "), "{stderr}");
    let n = forked(&stdout);
    // bubblewrap (counted by a cgroup), the helper and perl take their share of the 64.
    assert!((55..64).contains(&n), "forked {n} of 200 under a limit of 64\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The host is unaffected: it forks, none of the bomb's children survived
    // the sandbox, and srt removed the cgroups it made.
    assert!(Command::new("true").status().unwrap().success());
    assert_eq!(processes_named(&marker), 0);
    for dir in cgroups_used(&stderr) {
        assert!(!dir.exists(), "{} was left behind", dir.display());
    }
}

#[test]
fn the_default_limit_leaves_room_for_ordinary_work() {
    if let Some(tool) = missing_tools() {
        eprintln!("skipped: no {tool}");
        return;
    }
    let scratch = Scratch::new("default");
    let marker = format!("srt-limits-default-{}", std::process::id());
    let out = run(&scratch.0, None, &["perl", "-e", &fork_bomb(&marker)]);
    let stderr = text(&out.stderr);
    assert_eq!(forked(&text(&out.stdout)), 200, "{stderr}");
    assert!(stderr.contains("[SandboxDebug] limits: processes at most 4096"), "{stderr}");
}

#[test]
fn memory_beyond_max_memory_ends_the_command_where_a_cgroup_holds_it() {
    if let Some(tool) = missing_tools() {
        eprintln!("skipped: no {tool}");
        return;
    }
    let scratch = Scratch::new("memory");
    let limits = Some(r#"{"maxMemoryMB": 64}"#);
    let allocate = |mib: usize| format!(r#"my $x = "a" x ({mib} << 20); print "allocated {mib}\n";"#);
    let out = run(&scratch.0, limits, &["perl", "-e", &allocate(256)]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    if stderr.contains("limits.maxMemoryMB: no memory limit can be enforced here") {
        // Only RLIMIT_NPROC here: srt refuses rather than run without the limit asked for.
        assert_eq!(out.status.code(), Some(1));
        // SAFETY: geteuid cannot fail.
        assert_ne!(
            std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap(),
            0,
            "root should have a cgroup here: {stderr}"
        );
        eprintln!("skipped: no cgroup this user may create holds memory here: {stderr}");
        return;
    }
    assert!(stderr.contains("memory at most 64 MiB, held by "), "{stderr}");
    assert!(!stdout.contains("allocated"), "256 MiB under a 64 MiB limit: {stdout}\n{stderr}");
    assert_eq!(out.status.code(), Some(128 + libc::SIGKILL), "killed by the kernel's OOM killer\n{stderr}");
    // Under the limit the same command runs.
    let out = run(&scratch.0, limits, &["perl", "-e", &allocate(8)]);
    assert_eq!(text(&out.stdout), "allocated 8\n", "{}", text(&out.stderr));
}

#[test]
fn a_library_wrap_holds_the_process_limit_too() {
    if let Some(tool) = missing_tools() {
        eprintln!("skipped: no {tool}");
        return;
    }
    let scratch = Scratch::new("library");
    let settings = srt_core::parse_settings(
        r#"{"network": {"allowedDomains": [], "deniedDomains": []},
            "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []},
            "limits": {"maxProcesses": 64}}"#,
    )
    .unwrap()
    .settings;
    let session = srt_core::Session::start(settings, None, PathBuf::from(srt())).unwrap();
    let marker = format!("srt-limits-library-{}", std::process::id());
    let command = format!("perl -e '{}'", fork_bomb(&marker));
    let wrapped = match session.wrap(&command, Some("sh"), None, None, Some(scratch.0.clone())) {
        Ok(w) => w,
        Err(e) if e.message.contains("limits.maxProcesses: no process limit can be enforced here") => {
            eprintln!("skipped: nothing on this machine can hold a process limit for this user: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let out = Command::new("sh").arg("-c").arg(&wrapped.command_line).env("HOME", &scratch.0).output().unwrap();
    let n = forked(&text(&out.stdout));
    assert!((55..64).contains(&n), "forked {n} of 200 under a limit of 64\n{}", text(&out.stderr));
    assert_eq!(processes_named(&marker), 0);
    session.reset();
}
