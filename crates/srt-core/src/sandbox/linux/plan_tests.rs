//! Golden tests of the mount plan over an in-memory filesystem.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;
use crate::config::parse_settings;
use crate::sandbox::linux::test_support::{render, FakeFs, Node};

fn settings(fs_json: serde_json::Value) -> crate::config::Settings {
    let doc = json!({"network": {"allowedDomains": [], "deniedDomains": []}, "filesystem": fs_json});
    parse_settings(&doc.to_string()).unwrap().settings
}

fn run(fs: &FakeFs, s: &crate::config::Settings) -> Plan {
    run_in(fs, s, "/home/u/proj")
}

fn run_in(fs: &FakeFs, s: &crate::config::Settings, cwd: &str) -> Plan {
    run_protecting(fs, s, cwd, "/home/u/.cache/srt")
}

fn run_protecting(fs: &FakeFs, s: &crate::config::Settings, cwd: &str, protect: &str) -> Plan {
    let input = PlanInput {
        settings: s,
        cwd: cwd.into(),
        home: "/home/u".into(),
        tmpdir: Some("/tmp/claude".into()),
        shared_tmp: None,
        helper: "/opt/srt/srt".into(),
        empty_dir: "/run/srt/empty".into(),
        empty_pipe: "/run/srt/pipe".into(),
        protect: vec![protect.into()],
        startup: Default::default(),
    };
    plan(&input, fs)
}

fn home_fs() -> FakeFs {
    FakeFs::new(
        &["/home/u/proj/src", "/home/u/.ssh", "/tmp/claude", "/opt/srt", "/home/u/.aws"],
        &[
            "/home/u/.ssh/id_rsa",
            "/home/u/.ssh/known_hosts",
            "/home/u/.aws/credentials",
            "/opt/srt/srt",
            "/home/u/.bashrc",
        ],
    )
}

#[test]
fn defaults_read_only_root_with_tmpdir_writable() {
    let s = settings(json!({"denyRead": [], "allowWrite": [], "denyWrite": []}));
    let p = run(&home_fs(), &s);
    assert_eq!(
        render(&p),
        ["ro-bind / /", "dev /dev", "proc /proc", "bind /tmp/claude /tmp/claude", "ro-bind /opt/srt/srt /opt/srt/srt"]
    );
    assert!(p.env.contains(&("TMPDIR".into(), "/tmp/claude".into())));
    assert!(p.env.contains(&("SANDBOX_RUNTIME".into(), "1".into())));
}

#[test]
fn allow_write_relative_and_home_with_mandatory_denies() {
    let s = settings(json!({"denyRead": [], "allowWrite": [".", "~/.aws/**"], "denyWrite": ["~/.aws/credentials"]}));
    let mut fs = home_fs();
    fs.add("/home/u/proj/.bashrc", Node::File);
    fs.add("/home/u/proj/.git/hooks", Node::Dir);
    fs.add("/home/u/proj/.git/config", Node::File);
    fs.add("/home/u/proj/.git/objects", Node::Dir);
    fs.add("/home/u/proj/a/b/.zshrc", Node::File);
    fs.add("/home/u/proj/a/b/c/.zshrc", Node::File);
    fs.add("/home/u/proj/a/.vscode", Node::Dir);
    fs.add("/home/u/proj/a/b/.idea", Node::Dir);
    fs.add("/home/u/proj/node_modules/x/.bashrc", Node::File);
    fs.add("/home/u/proj/.claude/commands", Node::Dir);
    fs.add("/home/u/proj/.claude/settings.json", Node::File);
    let p = run(&fs, &s);
    assert_eq!(
        render(&p),
        [
            "ro-bind / /",
            "dev /dev",
            "proc /proc",
            "bind /tmp/claude /tmp/claude",
            "bind /home/u/.aws /home/u/.aws",
            "bind /home/u/proj /home/u/proj",
            // Pins: the directories between protected paths and their write root.
            "bind /home/u/proj/.claude /home/u/proj/.claude",
            "bind /home/u/proj/.git /home/u/proj/.git",
            "bind /home/u/proj/a /home/u/proj/a",
            // No repository may be made at the top of a directory allowWrite names.
            "ro-bind /run/srt/empty /home/u/.aws/.git",
            "ro-bind /run/srt/empty /home/u/.aws/.hg",
            "ro-bind /run/srt/empty /home/u/.aws/commondir",
            "ro-bind /home/u/.aws/credentials /home/u/.aws/credentials",
            "ro-bind /run/srt/pipe /home/u/.aws/refs",
            // Placeholders: what a project holds that does not exist yet in
            // the working directory (a shell's start-up files only in homes).
            "ro-bind /home/u/proj/.bashrc /home/u/proj/.bashrc",
            "ro-bind /run/srt/empty /home/u/proj/.devcontainer",
            "ro-bind /run/srt/empty /home/u/proj/.devcontainer.json",
            "ro-bind /run/srt/empty /home/u/proj/.gitmodules",
            "ro-bind /run/srt/empty /home/u/proj/.hg",
            "ro-bind /run/srt/empty /home/u/proj/.idea",
            "ro-bind /run/srt/empty /home/u/proj/.mcp.json",
            "ro-bind /run/srt/empty /home/u/proj/.vscode",
            // Nor may the working directory become a bare repository.
            "ro-bind /run/srt/empty /home/u/proj/commondir",
            "ro-bind /run/srt/pipe /home/u/proj/refs",
            // Deeper finds are pinned too (a/b/.zshrc, a/.vscode).
            "bind /home/u/proj/a/b /home/u/proj/a/b",
            "ro-bind /run/srt/empty /home/u/proj/.claude/agents",
            "ro-bind /home/u/proj/.claude/commands /home/u/proj/.claude/commands",
            "ro-bind /run/srt/empty /home/u/proj/.claude/hooks",
            // Claude Code's project settings (they define hooks): a missing
            // one is stood in for by a file of no keys, which srt makes.
            "ro-bind /home/u/proj/.claude/settings.json /home/u/proj/.claude/settings.json",
            "ro-bind /home/u/proj/.claude/settings.local.json /home/u/proj/.claude/settings.local.json",
            // srt writes a commondir naming the repository itself before the start.
            "ro-bind /home/u/proj/.git/commondir /home/u/proj/.git/commondir",
            "ro-bind /home/u/proj/.git/config /home/u/proj/.git/config",
            "ro-bind /dev/null /home/u/proj/.git/config.worktree",
            "ro-bind /home/u/proj/.git/hooks /home/u/proj/.git/hooks",
            "ro-bind /run/srt/empty /home/u/proj/.git/modules",
            "ro-bind /run/srt/empty /home/u/proj/.git/worktrees",
            "ro-bind /home/u/proj/a/.vscode /home/u/proj/a/.vscode",
            "ro-bind /home/u/proj/a/b/.zshrc /home/u/proj/a/b/.zshrc",
            "ro-bind /opt/srt/srt /opt/srt/srt"
        ]
    );
}

#[test]
fn allow_git_config_and_depth() {
    let s = settings(json!({"denyRead": [], "allowWrite": ["."], "denyWrite": [], "allowGitConfig": true}));
    let mut s = s;
    s.mandatory_deny_search_depth = Some(1);
    let mut fs = home_fs();
    fs.add("/home/u/proj/.git/hooks", Node::Dir);
    fs.add("/home/u/proj/.git/config", Node::File);
    fs.add("/home/u/proj/.vscode", Node::Dir);
    fs.add("/home/u/proj/a/.bashrc", Node::File);
    let p = run(&fs, &s);
    let r = render(&p);
    assert!(r.contains(&"ro-bind /home/u/proj/.git/hooks /home/u/proj/.git/hooks".to_string()));
    assert!(r.contains(&"ro-bind /home/u/proj/.vscode /home/u/proj/.vscode".to_string()));
    assert!(!r.iter().any(|l| l.contains(".git/config")), "{r:?}");
    assert!(!r.iter().any(|l| l.contains("a/.bashrc")), "depth 1 stops at the cwd: {r:?}");
}

#[test]
fn unreadable_directory_is_denied_whole() {
    let s = settings(json!({"denyRead": [], "allowWrite": ["."], "denyWrite": []}));
    let mut fs = home_fs();
    fs.add("/home/u/proj/locked", Node::Unreadable);
    let r = render(&run(&fs, &s));
    assert!(r.contains(&"ro-bind /home/u/proj/locked /home/u/proj/locked".to_string()), "{r:?}");
}

#[test]
fn deny_read_directory_file_and_allow_read_carve_out() {
    let s = settings(json!({
        "denyRead": ["~/.ssh", "~/.aws/credentials", "/does/not/exist"],
        "allowRead": ["~/.ssh/known_hosts"],
        "allowWrite": [],
        "denyWrite": []
    }));
    let r = render(&run(&home_fs(), &s));
    assert_eq!(
        r,
        [
            "ro-bind / /",
            "dev /dev",
            "proc /proc",
            "bind /tmp/claude /tmp/claude",
            "tmpfs /home/u/.ssh",
            "ro-bind /dev/null /home/u/.aws/credentials",
            "ro-bind /home/u/.ssh/known_hosts /home/u/.ssh/known_hosts",
            "remount-ro /home/u/.ssh",
            "ro-bind /opt/srt/srt /opt/srt/srt"
        ]
    );
}

#[test]
fn file_deny_lifted_only_by_allow_of_that_file() {
    let s = settings(json!({
        "denyRead": ["~/.ssh", "~/.ssh/known_hosts"],
        "allowRead": ["~/.ssh"],
        "allowWrite": [],
        "denyWrite": []
    }));
    let r = render(&run(&home_fs(), &s));
    assert!(r.contains(&"ro-bind /dev/null /home/u/.ssh/known_hosts".to_string()), "{r:?}");
    let s = settings(
        json!({"denyRead": ["~/.ssh/known_hosts"], "allowRead": ["~/.ssh/known_hosts"], "allowWrite": [], "denyWrite": []}),
    );
    let r = render(&run(&home_fs(), &s));
    assert!(!r.iter().any(|l| l.contains("/dev/null")), "{r:?}");
}

#[test]
fn write_root_under_a_read_deny_is_carved_out_with_its_denies() {
    let s = settings(json!({"denyRead": ["~"], "allowWrite": ["."], "denyWrite": ["./src"]}));
    let r = render(&run(&home_fs(), &s));
    assert_eq!(
        r,
        [
            "ro-bind / /",
            "dev /dev",
            "proc /proc",
            "bind /tmp/claude /tmp/claude",
            "bind /home/u/proj /home/u/proj",
            "ro-bind /home/u/proj/src /home/u/proj/src",
            "tmpfs /home/u",
            "bind /home/u/proj /home/u/proj",
            "ro-bind /home/u/proj/src /home/u/proj/src",
            "remount-ro /home/u",
            "ro-bind /opt/srt/srt /opt/srt/srt"
        ]
    );
}

#[test]
fn symlinked_write_root_escaping_its_tree_is_refused() {
    let s = settings(json!({"denyRead": [], "allowWrite": ["./cache"], "denyWrite": []}));
    let mut fs = home_fs();
    fs.add("/home/u/proj/cache", Node::Link("/home/u".into()));
    let p = run(&fs, &s);
    assert!(!render(&p).iter().any(|l| l.starts_with("bind /home/u ")), "{:?}", render(&p));
    assert!(p.warnings[0].contains("resolves through a symlink to /home/u"), "{:?}", p.warnings);
}

#[test]
fn deny_lands_where_the_symlink_points() {
    let s = settings(json!({"denyRead": ["~/.ssh"], "allowWrite": [], "denyWrite": []}));
    let mut fs = home_fs();
    fs.nodes.retain(|p, _| !p.starts_with("/home/u/.ssh"));
    fs.add("/home/u/dotfiles/ssh/id_rsa", Node::File);
    fs.add("/home/u/.ssh", Node::Link("/home/u/dotfiles/ssh".into()));
    let r = render(&run(&fs, &s));
    assert!(r.contains(&"tmpfs /home/u/dotfiles/ssh".to_string()), "{r:?}");
}

#[test]
fn disabled_filesystem_writes_everywhere() {
    let s = settings(json!({"denyRead": ["~/.ssh"], "allowWrite": [], "denyWrite": [], "disabled": true}));
    let p = run(&home_fs(), &s);
    assert_eq!(render(&p)[0], "bind / /");
    assert!(!render(&p).iter().any(|l| l.contains(".ssh")));
}

#[test]
fn weaker_nested_sandbox_binds_host_proc() {
    let mut s = settings(json!({"denyRead": [], "allowWrite": [], "denyWrite": []}));
    s.enable_weaker_nested_sandbox = Some(true);
    assert_eq!(render(&run(&home_fs(), &s))[2], "bind /proc /proc");
}

#[test]
fn default_home_write_paths_dropped_under_a_read_deny() {
    let s = settings(json!({"denyRead": ["~/.claude"], "allowWrite": [], "denyWrite": []}));
    let mut fs = home_fs();
    fs.add("/home/u/.claude/debug", Node::Dir);
    let r = render(&run(&fs, &s));
    assert!(!r.iter().any(|l| l.starts_with("bind /home/u/.claude")), "{r:?}");
    assert!(r.contains(&"tmpfs /home/u/.claude".to_string()));
}

#[test]
fn read_denies_inside_a_write_root_are_pinned_too() {
    let s = settings(json!({"denyRead": ["~/.secrets/inner/key"], "allowWrite": ["~"], "denyWrite": []}));
    let mut fs = home_fs();
    fs.add("/home/u/.secrets/inner/key", Node::File);
    let r = render(&run(&fs, &s));
    let at = |line: &str| r.iter().position(|l| l == line).unwrap_or_else(|| panic!("{line} missing from {r:?}"));
    assert!(at("bind /home/u /home/u") < at("bind /home/u/.secrets /home/u/.secrets"));
    assert!(at("bind /home/u/.secrets /home/u/.secrets") < at("bind /home/u/.secrets/inner /home/u/.secrets/inner"));
    assert!(
        at("bind /home/u/.secrets/inner /home/u/.secrets/inner") < at("ro-bind /dev/null /home/u/.secrets/inner/key")
    );
}

#[test]
fn a_write_root_inside_a_write_deny_stays_read_only() {
    let s = settings(json!({"denyRead": [], "allowWrite": ["~", "~/.aws"], "denyWrite": ["~/.aws"]}));
    let r = render(&run(&home_fs(), &s));
    assert!(!r.contains(&"bind /home/u/.aws /home/u/.aws".to_string()), "{r:?}");
    assert!(r.contains(&"ro-bind /home/u/.aws /home/u/.aws".to_string()), "{r:?}");
}

#[test]
fn placeholders_for_protected_paths_that_do_not_exist_yet() {
    let s = settings(json!({"denyRead": [], "allowWrite": ["."], "denyWrite": ["./out/new/deep", "./gone"]}));
    let mut fs = home_fs();
    fs.add("/home/u/proj/.git/objects", Node::Dir);
    fs.add("/home/u/proj/sub/.git/HEAD", Node::File);
    fs.add("/home/u/proj/out", Node::Dir);
    let p = run(&fs, &s);
    let r = render(&p);
    for line in [
        // A repository's hooks and config, before git made them.
        "ro-bind /run/srt/empty /home/u/proj/.git/hooks",
        "ro-bind /dev/null /home/u/proj/.git/config",
        // A nested repository is read-only whole.
        "ro-bind /home/u/proj/sub/.git /home/u/proj/sub/.git",
        // .claude is missing: an empty read-only directory stands for it.
        "ro-bind /run/srt/empty /home/u/proj/.claude",
        // A missing denyWrite path: its first missing component.
        "ro-bind /run/srt/empty /home/u/proj/out/new",
        "ro-bind /run/srt/empty /home/u/proj/gone",
        // Pinned, so it cannot be renamed away with its placeholder.
        "bind /home/u/proj/out /home/u/proj/out",
    ] {
        assert!(r.contains(&line.to_string()), "{line} missing from {r:?}");
    }
    assert!(!r.iter().any(|l| l.contains(".claude/commands")), "covered by the .claude placeholder: {r:?}");
    assert!(p.placeholders.contains(&"/home/u/proj/.claude".into()));
    assert!(p.prefilled.contains(&("/home/u/proj/.git/commondir".into(), COMMONDIR_SELF)));
    assert!(p.placeholders.contains(&"/home/u/proj/out/new".into()));
    assert!(!p.placeholders.iter().any(|x| x.starts_with("/tmp/claude")), "names are looked for in the cwd only");
}

#[test]
fn srt_state_is_never_writable() {
    let s = settings(json!({"denyRead": [], "allowWrite": ["~"], "denyWrite": []}));
    let mut fs = home_fs();
    fs.add("/home/u/.cache/srt/run-1-1", Node::File);
    let r = render(&run(&fs, &s));
    assert!(r.contains(&"ro-bind /home/u/.cache/srt /home/u/.cache/srt".to_string()), "{r:?}");
}

#[test]
fn proc_knobs_read_only_and_kernel_files_masked() {
    for weaker in [false, true] {
        let mut s = settings(json!({"denyRead": [], "allowWrite": [], "denyWrite": []}));
        s.enable_weaker_nested_sandbox = Some(weaker);
        let mut fs = home_fs();
        fs.add("/proc/kcore", Node::File);
        let p = run(&fs, &s);
        let proc_at = p.mounts.iter().position(|m| mount_dest(m) == Path::new("/proc")).unwrap();
        let sys_at = p
            .mounts
            .iter()
            .position(|m| *m == Mount::RoBindTry("/proc/sys".into(), "/proc/sys".into()))
            .expect("/proc/sys read-only");
        assert!(sys_at > proc_at, "after /proc is mounted");
        assert!(p.mounts.contains(&Mount::RoBind("/dev/null".into(), "/proc/kcore".into())));
        assert!(!p.mounts.iter().any(|m| mount_dest(m) == Path::new("/proc/sysrq-trigger")), "absent here: no mask");
    }
}

#[test]
fn globs_expand_to_what_exists_at_their_real_location() {
    let s = settings(json!({
        "denyRead": ["~/.ssh/*.pem", "~/keys/**/id_*", "~/odd[1]"],
        "allowWrite": ["./build-*"],
        "denyWrite": ["./build-*/lock[0-9]"]
    }));
    let mut fs = home_fs();
    fs.add("/home/u/.ssh/a.pem", Node::File);
    fs.add("/home/u/.ssh/b.pem", Node::File);
    fs.add("/home/u/keys/x/y/id_rsa", Node::File);
    fs.add("/home/u/keys/id_ed25519", Node::File);
    fs.add("/home/u/keys/loop", Node::Link("/home/u/keys".into()));
    fs.add("/home/u/odd[1]", Node::File);
    fs.add("/home/u/proj/build-a/lock1", Node::File);
    fs.add("/home/u/proj/build-b", Node::Dir);
    fs.add("/home/u/proj/src/x", Node::File);
    let p = run(&fs, &s);
    let r = render(&p);
    for line in [
        "ro-bind /dev/null /home/u/.ssh/a.pem",
        "ro-bind /dev/null /home/u/.ssh/b.pem",
        "ro-bind /dev/null /home/u/keys/id_ed25519",
        "ro-bind /dev/null /home/u/keys/x/y/id_rsa",
        // A spelling with glob characters is also taken literally when that path exists.
        "ro-bind /dev/null /home/u/odd[1]",
        "bind /home/u/proj/build-a /home/u/proj/build-a",
        "bind /home/u/proj/build-b /home/u/proj/build-b",
        "ro-bind /home/u/proj/build-a/lock1 /home/u/proj/build-a/lock1",
    ] {
        assert!(r.contains(&line.to_string()), "{line} missing from {r:?}");
    }
    assert!(!r.iter().any(|l| l.contains("known_hosts") || l.contains("/src")), "{r:?}");
    assert_eq!(p.warnings.iter().filter(|w| w.contains("not covered")).count(), 4, "{:?}", p.warnings);
    assert!(p.errors.is_empty());
}

#[test]
fn a_glob_from_the_root_or_through_an_unlistable_directory() {
    let s = settings(json!({"denyRead": ["/*/secret", "~/locked/*/key"], "allowWrite": [], "denyWrite": []}));
    let mut fs = home_fs();
    fs.add("/home/u/locked", Node::Unreadable);
    let p = run(&fs, &s);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert!(p.errors[0].starts_with("filesystem.denyRead[0]: the glob \"/*/secret\" would walk the whole disk"));
    assert!(render(&p).contains(&"tmpfs /home/u/locked".to_string()), "denied whole: {:?}", render(&p));
}

#[test]
fn no_repository_and_no_bare_repository_can_be_made_where_git_looks() {
    let s = settings(json!({"denyRead": ["~/.ssh"], "allowWrite": ["~"], "denyWrite": []}));
    let mut fs = home_fs();
    fs.nodes.retain(|p, _| !p.starts_with("/home/u/.ssh"));
    let r = render(&run(&fs, &s));
    for line in [
        // The working directory has no .git: none may be made.
        "ro-bind /run/srt/empty /home/u/proj/.git",
        "ro-bind /run/srt/pipe /home/u/proj/refs",
        // The writable directory above it must not become a bare repository
        // (a named pipe where git would need a `refs` directory).
        "ro-bind /run/srt/pipe /home/u/refs",
        // A denied read that does not exist yet cannot be created.
        "ro-bind /run/srt/empty /home/u/.ssh",
    ] {
        assert!(r.contains(&line.to_string()), "{line} missing from {r:?}");
    }
}

#[test]
fn a_writable_home_keeps_every_protected_name_and_ssh_and_git_config() {
    let s = settings(json!({"denyRead": [], "allowWrite": ["~"], "denyWrite": []}));
    let mut fs = home_fs();
    fs.add("/home/u/.bashrc", Node::File);
    fs.add("/home/u/.ssh/config", Node::File);
    fs.add("/home/u/.config/nvim", Node::Dir);
    let r = render(&run(&fs, &s));
    for line in [
        "ro-bind /home/u/.bashrc /home/u/.bashrc",
        // Missing names are blocked at home too, not only in the working directory.
        "ro-bind /run/srt/empty /home/u/.zshrc",
        "ro-bind /run/srt/empty /home/u/.gitconfig",
        "ro-bind /run/srt/empty /home/u/.vscode",
        "ro-bind /run/srt/empty /home/u/.git",
        "ro-bind /run/srt/pipe /home/u/refs",
        "ro-bind /home/u/.ssh /home/u/.ssh",
        "ro-bind /run/srt/empty /home/u/.config/git",
    ] {
        assert!(r.contains(&line.to_string()), "{line} missing from {r:#?}");
    }
}

/// The placeholders a plan makes, by path.
fn placeholder_names(p: &Plan, dir: &str) -> Vec<String> {
    let mut names: Vec<String> = p
        .placeholders
        .iter()
        .filter(|d| d.parent() == Some(Path::new(dir)))
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_project_that_is_no_home_gets_the_project_names_only() {
    let s = settings(json!({"denyRead": [], "allowWrite": ["."], "denyWrite": []}));
    let p = run(&home_fs(), &s);
    // A shell reads no start-up file from a project: none is made there, and
    // `.gitmodules` counts only beside a `.git`, which cannot be made either.
    let expected = [
        ".claude",
        ".devcontainer",
        ".devcontainer.json",
        ".git",
        ".hg",
        ".idea",
        ".mcp.json",
        ".vscode",
        "commondir",
        "refs",
    ];
    assert_eq!(placeholder_names(&p, "/home/u/proj"), expected);
}

#[test]
fn start_up_files_are_kept_from_being_made_in_every_home_and_where_the_environment_points() {
    let s = settings(json!({"denyRead": [], "allowWrite": [".", "/srv"], "denyWrite": []}));
    let mut fs = home_fs();
    fs.add("/srv/bob", Node::Dir);
    fs.add("/srv/site", Node::Dir);
    fs.add("/home/u/proj/zdot", Node::Dir);
    fs.add("/opt/srt/srt", Node::File);
    let startup = StartupPlaces {
        homes: ["/srv/bob", "/home/u/proj/zdot", "/nowhere"].map(PathBuf::from).into(),
        files: ["/home/u/proj/rg.conf", "/etc/profile.d/x.sh"].map(PathBuf::from).into(),
    };
    let input = PlanInput {
        settings: &s,
        cwd: "/home/u/proj".into(),
        home: "/home/u".into(),
        tmpdir: None,
        shared_tmp: None,
        helper: "/opt/srt/srt".into(),
        empty_dir: "/run/srt/empty".into(),
        empty_pipe: "/run/srt/pipe".into(),
        protect: vec![],
        startup,
    };
    let p = plan(&input, &fs);
    for home in ["/srv/bob", "/home/u/proj/zdot"] {
        let names = placeholder_names(&p, home);
        for name in mandatory::STARTUP_FILES {
            assert!(names.iter().any(|n| n == name), "{name} in {home}: {names:?}");
        }
    }
    // A directory beside them is no home, and the project is none either.
    assert!(!placeholder_names(&p, "/srv/site").iter().any(|n| n.starts_with(".bash")), "{p:#?}");
    assert!(!placeholder_names(&p, "/home/u/proj").contains(&".bashrc".to_string()), "{p:#?}");
    // A file the environment names, missing in a write root; none outside them.
    assert!(render(&p).contains(&"ro-bind /run/srt/empty /home/u/proj/rg.conf".to_string()), "{p:#?}");
    assert!(!render(&p).iter().any(|l| l.contains("/etc/profile.d")), "{p:#?}");
}

#[test]
fn a_start_up_file_or_home_config_reached_through_a_replaceable_link_refuses_the_run() {
    // An earlier run with the project writable left `rg.conf` a link to a
    // file it may write: protecting the target would leave the link free to
    // be pointed at another file, which ripgrep would then read.
    let s = settings(json!({"denyRead": [], "allowWrite": ["."], "denyWrite": []}));
    let mut fs = home_fs();
    fs.add("/home/u/proj/mine.conf", Node::File);
    fs.add("/home/u/proj/rg.conf", Node::Link("/home/u/proj/mine.conf".into()));
    let input = PlanInput {
        settings: &s,
        cwd: "/home/u/proj".into(),
        home: "/home/u".into(),
        tmpdir: None,
        shared_tmp: None,
        helper: "/opt/srt/srt".into(),
        empty_dir: "/run/srt/empty".into(),
        empty_pipe: "/run/srt/pipe".into(),
        protect: vec![],
        startup: StartupPlaces { homes: vec![], files: vec!["/home/u/proj/rg.conf".into()] },
    };
    let p = plan(&input, &fs);
    assert!(p.errors.iter().any(|e| e.contains("/home/u/proj/rg.conf is a symbolic link")), "{:?}", p.errors);
    // The same for ~/.ssh in a writable home.
    let s = settings(json!({"denyRead": [], "allowWrite": ["~"], "denyWrite": []}));
    let mut fs = home_fs();
    fs.nodes.retain(|p, _| !p.starts_with("/home/u/.ssh"));
    fs.add("/home/u/dotfiles/ssh", Node::Dir);
    fs.add("/home/u/.ssh", Node::Link("/home/u/dotfiles/ssh".into()));
    let p = run(&fs, &s);
    assert!(p.errors.iter().any(|e| e.contains("/home/u/.ssh is a symbolic link")), "{:?}", p.errors);
}

#[test]
fn no_repository_in_a_writable_directory_above_the_working_directory() {
    let s = settings(json!({"denyRead": [], "allowWrite": ["/w"], "denyWrite": []}));
    let mut fs = FakeFs::new(&["/w/proj", "/w/other/.git/hooks", "/home/u"], &["/w/other/.git/config"]);
    fs.add("/opt/srt/srt", Node::File);
    let p = run_in(&fs, &s, "/w/proj");
    let r = render(&p);
    for line in
        ["ro-bind /run/srt/empty /w/.git", "ro-bind /run/srt/pipe /w/refs", "ro-bind /run/srt/empty /w/proj/.git"]
    {
        assert!(r.contains(&line.to_string()), "{line} missing from {r:#?}");
    }
    // A repository of a directory below keeps its hooks and config.
    assert!(r.contains(&"ro-bind /w/other/.git /w/other/.git".to_string()), "{r:#?}");
}

#[test]
fn a_protected_name_that_is_a_link_in_a_writable_directory_is_refused() {
    let s = settings(json!({"denyRead": [], "allowWrite": ["."], "denyWrite": []}));
    let mut fs = home_fs();
    fs.add("/home/u/dotfiles/bashrc", Node::File);
    fs.add("/home/u/proj/.bashrc", Node::Link("/home/u/dotfiles/bashrc".into()));
    let p = run(&fs, &s);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert!(p.errors[0].starts_with("/home/u/proj/.bashrc is a symbolic link"), "{:?}", p.errors);
    // A link outside the writable directories is no concern.
    let s = settings(json!({"denyRead": [], "allowWrite": ["./sub"], "denyWrite": []}));
    fs.add("/home/u/proj/sub", Node::Dir);
    assert!(run(&fs, &s).errors.is_empty());
}

#[test]
fn a_settings_file_reached_through_a_replaceable_link_is_refused() {
    let s = settings(json!({"denyRead": [], "allowWrite": ["."], "denyWrite": []}));
    let mut fs = home_fs();
    fs.add("/home/u/conf/S.json", Node::File);
    fs.add("/home/u/proj/lnk", Node::Link("/home/u/conf".into()));
    let p = run_protecting(&fs, &s, "/home/u/proj", "/home/u/proj/lnk/S.json");
    assert!(
        p.errors
            .iter()
            .any(|e| e.starts_with("/home/u/proj/lnk/S.json is reached through the symbolic link /home/u/proj/lnk")),
        "{:?}",
        p.errors
    );
}

#[test]
fn a_file_allow_write_names_stays_writable_and_git_config_under_a_writable_config_is_kept() {
    let s = settings(json!({"denyRead": [], "allowWrite": ["./out.log", "~/.config"], "denyWrite": []}));
    let mut fs = home_fs();
    fs.add("/home/u/proj/out.log", Node::File);
    fs.add("/home/u/.config/nvim", Node::Dir);
    let r = render(&run(&fs, &s));
    assert!(r.contains(&"bind /home/u/proj/out.log /home/u/proj/out.log".to_string()), "{r:#?}");
    assert!(!r.iter().any(|l| l.contains("out.log/") || l.starts_with("ro-bind /home/u/proj/out.log")), "{r:#?}");
    assert!(r.contains(&"ro-bind /run/srt/empty /home/u/.config/git".to_string()), "{r:#?}");
}

#[test]
fn a_read_deny_of_the_root_is_refused_not_turned_into_the_working_directory() {
    let mut fs = home_fs();
    fs.add("/home/u/rootlink", Node::Link("/".into()));
    for entry in ["/**", "/", "~/rootlink"] {
        let s = settings(json!({"denyRead": [entry], "allowWrite": [], "denyWrite": []}));
        let p = run(&fs, &s);
        assert!(
            p.errors.iter().any(|e| e.contains("denying reads of / (or /**) is not supported")),
            "{entry}: {:?}",
            p.errors
        );
        assert!(!render(&p).iter().any(|l| l.contains("/home/u/proj") && l.starts_with("tmpfs")), "{entry}");
    }
}

/// Planted links (issue 12, items 1-3): one rule for every list and glob
/// form. A path reached through a link in a directory a sandbox could write
/// is never opened by an allow rule, and a deny never lands only on a link's
/// target.
#[test]
fn an_allow_write_glob_never_opens_what_a_planted_link_points_to() {
    let mut fs = home_fs();
    fs.add("/home/u/proj/out/fine", Node::Dir);
    fs.add("/home/u/proj/out/evil", Node::Link("/".into()));
    fs.add("/home/u/proj/pkg/dist", Node::Link("/etc".into()));
    fs.add("/etc/passwd", Node::File);
    fs.add("/opt/dist", Node::Dir);
    fs.add("/home/u/proj/packages/a/dist", Node::Dir);
    fs.add("/home/u/proj/packages/p", Node::Link("/opt".into()));
    fs.add("/home/u/proj/txt/a.txt", Node::File);
    fs.add("/home/u/proj/txt/b.txt", Node::Link("/etc/passwd".into()));
    for (glob, kept, refused) in [
        ("./out/*", "/home/u/proj/out/fine", "/home/u/proj/out/evil"),
        ("./**/dist", "/home/u/proj/packages/a/dist", "/home/u/proj/pkg/dist"),
        ("./packages/*/dist", "/home/u/proj/packages/a/dist", "/home/u/proj/packages/p/dist"),
        ("./txt/*.txt", "/home/u/proj/txt/a.txt", "/home/u/proj/txt/b.txt"),
    ] {
        let s = settings(json!({"denyRead": [], "allowWrite": [".", glob], "denyWrite": []}));
        let p = run(&fs, &s);
        let r = render(&p);
        assert!(r.contains(&format!("bind {kept} {kept}")), "{glob}: {r:?}");
        for bad in ["bind / /", "bind /etc ", "bind /opt", "bind /etc/passwd"] {
            assert!(!r.iter().any(|l| l.starts_with(bad)), "{glob}: {bad} in {r:?}");
        }
        assert!(
            p.warnings.iter().any(|w| w.starts_with(&format!("allowWrite {refused} resolves through a symlink"))),
            "{glob}: {:?}",
            p.warnings
        );
        assert!(p.errors.is_empty(), "{glob}: {:?}", p.errors);
    }
}

#[test]
fn an_allow_read_never_reopens_a_denied_file_through_a_planted_link() {
    let mut fs = home_fs();
    fs.add("/home/u/secret/key", Node::File);
    fs.add("/home/u/proj/pub/readme", Node::File);
    fs.add("/home/u/proj/pub/k", Node::Link("/home/u/secret/key".into()));
    let cases = [
        // As a glob, and as a literal path, in a directory this run may write.
        (json!(["./pub/*"]), json!(["."]), "in a directory a sandbox may write"),
        (json!(["./pub/k"]), json!(["."]), "in a directory a sandbox may write"),
        // Planted by another run: this one cannot write there, but the link
        // leads into a denied region the entry does not name.
        (json!(["./pub/*"]), json!([]), "inside denyRead /home/u/secret which it does not name"),
        (json!(["./pub/k"]), json!([]), "inside denyRead /home/u/secret which it does not name"),
    ];
    for (allow_read, allow_write, why) in cases {
        let s = settings(json!({
            "denyRead": ["~/secret", "./pub"],
            "allowRead": allow_read,
            "allowWrite": allow_write,
            "denyWrite": []
        }));
        let p = run(&fs, &s);
        let r = render(&p);
        assert!(r.contains(&"tmpfs /home/u/secret".to_string()), "{r:?}");
        assert!(!r.iter().any(|l| l.contains("bind /home/u/secret/key")), "{allow_read}: {r:?}");
        assert!(
            p.warnings.iter().any(|w| w.starts_with("allowRead /home/u/proj/pub/k") && w.contains(why)),
            "{allow_read} {allow_write}: {:?}",
            p.warnings
        );
    }
    // What the entry names, and a link inside the region it names, are still re-opened.
    fs.add("/home/u/secret/pub.pem", Node::File);
    fs.add("/home/u/secret/alias", Node::Link("/home/u/secret/pub.pem".into()));
    let s = settings(json!({
        "denyRead": ["~/secret"],
        "allowRead": ["~/secret/alias"],
        "allowWrite": [],
        "denyWrite": []
    }));
    let r = render(&run(&fs, &s));
    assert!(r.contains(&"ro-bind /home/u/secret/pub.pem /home/u/secret/pub.pem".to_string()), "{r:?}");
}

#[test]
fn a_deny_write_glob_through_a_replaceable_link_is_refused_like_the_literal_form() {
    let mut fs = home_fs();
    fs.add("/home/u/real/a.json", Node::File);
    fs.add("/home/u/real/x/secret", Node::File);
    fs.add("/home/u/proj/conf/b.json", Node::File);
    fs.add("/home/u/proj/conf/a.json", Node::Link("/home/u/real/a.json".into()));
    fs.add("/home/u/proj/out/x", Node::Link("/home/u/real/x".into()));
    for (deny, refused) in [
        ("./conf/*.json", "/home/u/proj/conf/a.json is a symbolic link in a directory the command may write"),
        ("./conf/a.json", "/home/u/proj/conf/a.json is a symbolic link in a directory the command may write"),
        (
            "./out/*/secret",
            "/home/u/proj/out/x/secret is reached through the symbolic link /home/u/proj/out/x, in a directory the command may write",
        ),
    ] {
        let s = settings(json!({"denyRead": [], "allowWrite": ["."], "denyWrite": [deny]}));
        let p = run(&fs, &s);
        assert!(p.errors.iter().any(|e| e.starts_with(refused)), "{deny}: {:?}", p.errors);
    }
    // The same links outside what the command may write are no concern.
    let s =
        settings(json!({"denyRead": [], "allowWrite": ["./src"], "denyWrite": ["./conf/*.json", "./out/*/secret"]}));
    assert!(run(&fs, &s).errors.is_empty());
}

#[test]
fn agent_settings_hooks_dev_containers_and_hg_config_are_protected() {
    let s = settings(json!({"denyRead": [], "allowWrite": ["."], "denyWrite": []}));
    let mut fs = home_fs();
    fs.add("/home/u/proj/.claude/settings.json", Node::File);
    fs.add("/home/u/proj/.claude/hooks/pre.sh", Node::File);
    fs.add("/home/u/proj/.devcontainer/devcontainer.json", Node::File);
    fs.add("/home/u/proj/.hg/store", Node::Dir);
    fs.add("/home/u/proj/sub/.hg/hgrc", Node::File);
    let p = run(&fs, &s);
    let r = render(&p);
    for line in [
        "ro-bind /home/u/proj/.claude/settings.json /home/u/proj/.claude/settings.json",
        "ro-bind /home/u/proj/.claude/hooks /home/u/proj/.claude/hooks",
        "ro-bind /home/u/proj/.devcontainer /home/u/proj/.devcontainer",
        // A missing hgrc is an empty file while the sandbox runs (hg reads it as one).
        "ro-bind /dev/null /home/u/proj/.hg/hgrc",
        "ro-bind /home/u/proj/sub/.hg/hgrc /home/u/proj/sub/.hg/hgrc",
    ] {
        assert!(r.contains(&line.to_string()), "{line} missing from {r:?}");
    }
    assert_eq!(p.prefilled, [(PathBuf::from("/home/u/proj/.claude/settings.local.json"), "{}\n")]);
}

#[test]
fn the_shared_temporary_directory_is_each_sandboxs_own() {
    let s = settings(json!({"denyRead": [], "allowWrite": [], "denyWrite": []}));
    let mut fs = home_fs();
    fs.add("/tmp/claude/srt-tmp-1-2-ab", Node::Dir);
    fs.add("/tmp/claude/left-by-another-sandbox", Node::File);
    let input = |s| PlanInput {
        settings: s,
        cwd: "/home/u/proj".into(),
        home: "/home/u".into(),
        tmpdir: Some("/tmp/claude/srt-tmp-1-2-ab".into()),
        shared_tmp: Some("/tmp/claude".into()),
        helper: "/opt/srt/srt".into(),
        empty_dir: "/run/srt/empty".into(),
        empty_pipe: "/run/srt/pipe".into(),
        protect: vec![],
        startup: Default::default(),
    };
    let p = plan(&input(&s), &fs);
    assert_eq!(
        render(&p),
        [
            "ro-bind / /",
            "dev /dev",
            "proc /proc",
            "tmpfs /tmp/claude",
            "bind /tmp/claude/srt-tmp-1-2-ab /tmp/claude/srt-tmp-1-2-ab",
            "ro-bind /opt/srt/srt /opt/srt/srt"
        ]
    );
    assert!(p.env.contains(&("TMPDIR".into(), "/tmp/claude/srt-tmp-1-2-ab".into())));
    // What allowWrite names inside it stays as the settings ask.
    let s = settings(json!({"denyRead": [], "allowWrite": ["/tmp/claude/left-by-another-sandbox"], "denyWrite": []}));
    assert!(!render(&plan(&input(&s), &fs)).contains(&"tmpfs /tmp/claude".to_string()));
}

#[test]
fn a_link_left_below_the_working_directorys_own_names_protects_its_directory_instead_of_refusing() {
    let s = settings(json!({"denyRead": [], "allowWrite": ["."], "denyWrite": []}));
    let mut fs = home_fs();
    fs.add("/home/u/proj/a/.bashrc", Node::Link("/nonexistent".into()));
    fs.add("/home/u/proj/a/b/.git", Node::Link("/home/u/elsewhere".into()));
    fs.add("/home/u/elsewhere", Node::Dir);
    let p = run(&fs, &s);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let r = render(&p);
    assert!(r.contains(&"ro-bind /home/u/proj/a /home/u/proj/a".to_string()), "{r:?}");
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("/home/u/proj/a/.bashrc is a symbolic link")
                && w.contains("rm '/home/u/proj/a/.bashrc'")),
        "{:?}",
        p.warnings
    );
    // At the working directory's own level it is still refused, saying how to remove it.
    fs.add("/home/u/proj/.zshrc", Node::Link("/nonexistent".into()));
    let p = run(&fs, &s);
    assert!(p.errors.iter().any(|e| e.contains("rm '/home/u/proj/.zshrc'")), "{:?}", p.errors);
}
