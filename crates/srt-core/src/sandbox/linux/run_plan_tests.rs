//! Golden tests of a whole run's plan: what surrounds the filesystem plan.

use std::ffi::OsString;
use std::path::PathBuf;

use serde_json::json;

use super::*;
use crate::config::{parse_settings, Settings};
use crate::sandbox::linux::test_support::{render, FakeFs, Node};

fn settings(doc: serde_json::Value) -> Settings {
    let mut full = json!({
        "network": {"allowedDomains": [], "deniedDomains": []},
        "filesystem": {"denyRead": [], "allowWrite": ["."], "denyWrite": []}
    });
    for (k, v) in doc.as_object().unwrap() {
        full[k] = v.clone();
    }
    parse_settings(&full.to_string()).unwrap().settings
}

fn disk() -> FakeFs {
    let mut fs =
        FakeFs::new(&["/home/u/proj", "/tmp/claude", "/tmp/srt-1000/empty"], &["/opt/srt/srt", "/usr/bin/bwrap"]);
    fs.add("/home/u/proj/srt.json", Node::File);
    // The package srt was launched from, inside the writable project.
    fs.add("/home/u/proj/node_modules/srt-rs/bin/srt.js", Node::File);
    fs.add("/tmp/srt-1000/pipe", Node::File);
    // A live run's placeholder (its `.claude`), still in place.
    fs.add("/home/u/proj/.claude", Node::Dir);
    fs
}

fn facts(s: &Settings, channel: Channel) -> RunFacts<'_> {
    RunFacts {
        settings: s,
        cwd: "/home/u/proj".into(),
        home: "/home/u".into(),
        tmpdir: Some("/tmp/claude".into()),
        shared_tmp: None,
        helper: "/opt/srt/srt".into(),
        registry: "/tmp/srt-1000".into(),
        empty_dir: "/tmp/srt-1000/empty".into(),
        empty_pipe: "/tmp/srt-1000/pipe".into(),
        own_paths: vec!["/opt/srt".into(), "/home/u/proj/node_modules/srt-rs".into()],
        live: vec![("/home/u/proj/.claude".into(), true), ("/home/u/gone/.git".into(), false)],
        also_protect: vec!["srt.json".into()],
        startup: Default::default(),
        bwrap: BwrapFound { path: "/usr/bin/bwrap".into(), real: "/usr/bin/bwrap".into(), named: false },
        disable_userns: true,
        channel,
        tty: false,
        max_processes: None,
        java_tool_options: Some("-Xmx1g".into()),
        git_config_count: None,
        git_ssh_command: Some("ssh -i /k".into()),
        trust_bundle: None,
        credential_env: Default::default(),
        masked_files: Vec::new(),
        command: ["sh", "-c", "echo hi"].map(OsString::from).into(),
    }
}

fn words(argv: &[OsString]) -> Vec<String> {
    argv.iter().map(|a| a.to_string_lossy().into_owned()).collect()
}

#[test]
fn a_cli_run_hides_the_registry_and_hands_the_helper_its_descriptors() {
    let s = settings(json!({}));
    let mut f = facts(&s, Channel::Descriptors);
    f.tty = true;
    f.max_processes = Some(512);
    let p = plan_run(&f, &disk());
    assert_eq!(p.refusal, None);
    let r = render(&p.fs);
    // srt's own files and the settings file (relative to the working
    // directory) are read-only where the run may write.
    for line in [
        "ro-bind /home/u/proj/node_modules/srt-rs /home/u/proj/node_modules/srt-rs",
        "ro-bind /home/u/proj/srt.json /home/u/proj/srt.json",
    ] {
        assert!(r.contains(&line.to_string()), "{line} missing from {r:#?}");
    }
    assert!(!r.iter().any(|l| l.contains("/home/u/gone")), "{r:#?}");
    // The registry is hidden last, after the helper is re-exposed.
    assert_eq!(
        r[r.len() - 3..],
        ["ro-bind /opt/srt/srt /opt/srt/srt", "tmpfs /tmp/srt-1000", "remount-ro /tmp/srt-1000"]
    );
    let argv = words(&p.argv);
    let helper_at = argv.iter().position(|a| a == "__sandbox-exec").unwrap() - 1;
    assert_eq!(
        argv[helper_at..].join(" "),
        "/opt/srt/srt __sandbox-exec --max-processes 512 --ready-fd 5 --verify-fd 6 --bridge-fd 7 --tty --block-unix-sockets -- sh -c echo hi"
    );
    assert_eq!(argv[0], "/usr/bin/bwrap");
    for pair in [["--info-fd", "3"], ["--chdir", "/home/u/proj"]] {
        assert!(argv.windows(2).any(|w| w == pair), "{pair:?} missing from {argv:?}");
    }
    assert!(argv.contains(&"--disable-userns".to_string()));
    // The caller's JVM options first, srt's proxy properties last (the JVM takes the last).
    let java = &p.fs.env.iter().find(|(k, _)| k == "JAVA_TOOL_OPTIONS").unwrap().1;
    assert!(java.starts_with("-Xmx1g -Dhttp.proxyHost=localhost"), "{java}");
    assert!(p.fs.env.iter().any(|(k, v)| k == "HTTPS_PROXY" && v.starts_with("http://localhost:")), "{:?}", p.fs.env);
    // The caller's own ssh command is kept, the proxy after it.
    let ssh = &p.fs.env.iter().find(|(k, _)| k == "GIT_SSH_COMMAND").unwrap().1;
    assert!(ssh.starts_with("ssh -i /k -o ControlMaster=no"), "{ssh}");
    assert_eq!(p.key, "sh -c echo hi");
    assert!(p.protected.no_repository_here);
    // This run's placeholders, and the live one it mounts beneath (its
    // `.claude/hooks` and the rest), which stays read-only here.
    assert!(p.claimed.contains(&PathBuf::from("/home/u/proj/.git")), "{:?}", p.claimed);
    assert!(p.claimed.contains(&PathBuf::from("/home/u/proj/.claude")), "{:?}", p.claimed);
    assert!(r.contains(&"ro-bind /home/u/proj/.claude /home/u/proj/.claude".to_string()), "{r:#?}");
    assert!(!p.claimed.iter().any(|c| c.starts_with("/home/u/gone")), "{:?}", p.claimed);
}

#[test]
fn a_library_line_binds_its_socket_and_checks_back_into_the_hidden_registry() {
    let s = settings(
        json!({"network": {"allowedDomains": [], "deniedDomains": [], "allowAllUnixSockets": true}, "allowNestedUserNamespaces": true}),
    );
    let channel = Channel::Paths {
        bridge_socket: "/tmp/srt-1000/session-1/bridge.sock".into(),
        token: "t0k".into(),
        checks: "/tmp/srt-1000/session-1/wrap-0.checks".into(),
        planned_cwd: "/home/u/proj".into(),
    };
    let mut f = facts(&s, channel);
    f.disable_userns = false;
    let p = plan_run(&f, &disk());
    let r = render(&p.fs);
    assert_eq!(
        r[r.len() - 4..],
        [
            "tmpfs /tmp/srt-1000",
            "ro-bind /tmp/srt-1000/session-1/bridge.sock /tmp/srt-1000/session-1/bridge.sock",
            "ro-bind /tmp/srt-1000/session-1/wrap-0.checks /tmp/srt-1000/session-1/wrap-0.checks",
            "remount-ro /tmp/srt-1000",
        ]
    );
    let argv = words(&p.argv);
    assert!(!argv.contains(&"--info-fd".to_string()) && !argv.contains(&"--disable-userns".to_string()), "{argv:?}");
    let helper_at = argv.iter().position(|a| a == "__sandbox-exec").unwrap() - 1;
    assert_eq!(
        argv[helper_at..].join(" "),
        "/opt/srt/srt __sandbox-exec --bridge-socket /tmp/srt-1000/session-1/bridge.sock --bridge-token t0k --verify-file /tmp/srt-1000/session-1/wrap-0.checks --planned-cwd /home/u/proj --allow-namespaces -- sh -c echo hi"
    );
}

#[test]
fn a_bwrap_the_sandbox_could_write_refuses_the_run_unless_the_settings_name_it() {
    let s = settings(json!({"filesystem": {"denyRead": [], "allowWrite": ["/opt"], "denyWrite": []}}));
    let mut fs = disk();
    fs.add("/opt/bin/bwrap", Node::File);
    let mut f = facts(&s, Channel::Descriptors);
    f.bwrap = BwrapFound { path: "/usr/bin/bwrap".into(), real: "/opt/bin/bwrap".into(), named: false };
    let refusal = plan_run(&f, &fs).refusal.expect("refused");
    assert_eq!(refusal.code, crate::error::ErrorCode::Refused);
    let refusal = refusal.message;
    assert!(
        refusal.contains("bubblewrap was found at /usr/bin/bwrap, inside /opt which this sandbox may write"),
        "{refusal}"
    );
    assert!(refusal.ends_with("Refusing to run the command with weaker rules than the settings ask for."), "{refusal}");
    f.bwrap.named = true;
    assert_eq!(plan_run(&f, &fs).refusal, None);
}

#[test]
fn more_mounts_than_bubblewrap_takes_refuse_the_run() {
    let deny: Vec<String> = (0..3100).map(|i| format!("/home/u/proj/f{i}")).collect();
    let s = settings(json!({"filesystem": {"denyRead": [], "allowWrite": ["."], "denyWrite": deny}}));
    let mut fs = disk();
    for path in &deny {
        fs.add(path, Node::File);
    }
    let refusal = plan_run(&facts(&s, Channel::Descriptors), &fs).refusal.expect("refused");
    assert_eq!(refusal.code, crate::error::ErrorCode::TooManyArguments);
    let refusal = refusal.message;
    assert!(refusal.contains("bubblewrap arguments") && refusal.contains("more than the 9000"), "{refusal}");
}
