//! Golden tests of the Seatbelt profile over an in-memory filesystem. The
//! profile has not run under a real `sandbox-exec` here: these pin what srt
//! writes, section by section.

use serde_json::json;

use super::*;
use crate::config::parse_settings;
use crate::sandbox::fake_fs::{FakeFs, Node};

fn settings(doc: serde_json::Value) -> Settings {
    let mut full = json!({
        "network": {"allowedDomains": [], "deniedDomains": []},
        "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []}
    });
    for (k, v) in doc.as_object().unwrap() {
        match (full.get_mut(k), v) {
            (Some(serde_json::Value::Object(base)), serde_json::Value::Object(more)) => {
                base.extend(more.clone());
            }
            _ => full[k] = v.clone(),
        }
    }
    parse_settings(&full.to_string()).unwrap().settings
}

fn disk() -> FakeFs {
    let mut fs =
        FakeFs::new(&["/Users/u/proj/src", "/Users/u/.ssh", "/tmp/claude", "/opt/srt"], &["/Users/u/.ssh/id_rsa"]);
    fs.add("/Users/u/proj/.git/objects", Node::Dir);
    fs
}

fn run(s: &Settings) -> String {
    let input = ProfileInput {
        settings: s,
        cwd: "/Users/u/proj".into(),
        home: "/Users/u".into(),
        tmpdir: Some("/tmp/claude".into()),
        http_port: 3128,
        socks_port: 1080,
        log_tag: "CMD64_dHJ1ZQ==_END_x_SBX".into(),
        protect: vec!["/opt/srt".into()],
    };
    profile(&input, &disk()).unwrap().text
}

/// The input of a profile with nothing of srt's around it: no TMPDIR, no
/// own files, the default ports.
fn bare(s: &Settings) -> ProfileInput<'_> {
    ProfileInput {
        settings: s,
        cwd: "/Users/u/proj".into(),
        home: "/Users/u".into(),
        tmpdir: None,
        http_port: 3128,
        socks_port: 1080,
        log_tag: "t".into(),
        protect: vec![],
    }
}

/// The lines of one section (from its `; Name` comment to the next).
fn section(text: &str, name: &str) -> Vec<String> {
    let start = text.find(&format!("; {name}\n")).unwrap_or_else(|| panic!("no section {name} in\n{text}"));
    let rest = &text[start + name.len() + 3..];
    let end = rest.find("\n; ").map_or(rest.len(), |e| e + 1);
    rest[..end].lines().map(str::to_string).collect()
}

#[test]
fn minimal_settings_deny_by_default_reach_only_the_proxies_and_write_only_the_defaults() {
    let text = run(&settings(json!({})));
    assert!(text.starts_with("(version 1)\n(deny default (with message \"CMD64_dHJ1ZQ==_END_x_SBX\"))\n"), "{text}");
    assert_eq!(
        section(&text, "Network"),
        [
            "(allow network-outbound (remote ip \"localhost:3128\"))",
            "(allow network-outbound (remote ip \"localhost:1080\"))",
            ""
        ]
    );
    assert_eq!(section(&text, "File read"), ["(allow file-read*)", ""]);
    let write = section(&text, "File write");
    assert_eq!(
        write[..10],
        [
            "(allow file-write*",
            "  (literal \"/dev/stdout\")",
            "  (literal \"/dev/stderr\")",
            "  (literal \"/dev/null\")",
            "  (literal \"/dev/tty\")",
            "  (literal \"/dev/dtracehelper\")",
            "  (literal \"/dev/autofs_nowait\")",
            // /tmp under its /private spelling.
            "  (subpath \"/private/tmp/claude\")",
            "  (subpath \"/Users/u/.npm/_logs\")",
            "  (subpath \"/Users/u/.claude/debug\")",
        ]
    );
    // srt's own files, and ssh and git config at home, are never written.
    for line in ["  (subpath \"/opt/srt\")", "  (subpath \"/Users/u/.ssh\")", "  (subpath \"/Users/u/.config/git\")"] {
        assert!(write.contains(&line.to_string()), "{line} missing from {write:#?}");
    }
    // Nothing else opens: no Unix sockets, no binding, no terminal.
    for absent in ["AF_UNIX", "network-bind", "pseudo-tty", "trustd", "appleevent"] {
        assert!(!text.contains(absent), "{absent} in\n{text}");
    }
}

#[test]
fn a_typical_developer_config_protects_the_project_names_by_pattern_outside_node_modules() {
    let text = run(&settings(json!({"filesystem": {"allowWrite": ["."], "denyWrite": ["./secrets"]}})));
    let write = section(&text, "File write");
    for line in [
        "  (subpath \"/Users/u/proj\")",
        "  (subpath \"/Users/u/proj/secrets\")",
        // A name at any depth of the project, but not a dependency's own:
        // the files in one alternation, the directories in another.
        concat!(
            r#"  (require-all (regex "^/Users/u/proj(/.*)?/(\\.gitconfig|\\.bashrc|\\.bash_profile|\\.bash_login|"#,
            r#"\\.bash_logout|\\.zshrc|\\.zshenv|\\.zprofile|\\.zlogin|\\.zlogout|\\.profile|\\.ripgreprc|"#,
            r#"\\.gitmodules|\\.mcp\\.json|\\.devcontainer\\.json|\\.hg/hgrc|\\.git/config|"#,
            r#"\\.git/config\\.worktree)$") (require-not (regex "^/Users/u/proj/(.*/)?node_modules/")))"#
        ),
        concat!(
            r#"  (require-all (regex "^/Users/u/proj(/.*)?/(\\.vscode|\\.idea|\\.devcontainer|\\.claude/commands|"#,
            r#"\\.claude/agents|\\.claude/hooks|\\.claude/settings\\.json|\\.claude/settings\\.local\\.json|"#,
            r#"\\.git/hooks|\\.git/commondir|\\.git/modules|\\.git/worktrees)(/.*)?$") "#,
            r#"(require-not (regex "^/Users/u/proj/(.*/)?node_modules/")))"#
        ),
        // The project is a repository already: no Mercurial one, nor a bare one.
        "  (subpath \"/Users/u/proj/.hg\")",
        "  (literal \"/Users/u/proj/HEAD\")",
    ] {
        assert!(write.contains(&line.to_string()), "{line} missing from {write:#?}");
    }
    assert!(!write.contains(&"  (subpath \"/Users/u/proj/.git\")".to_string()), "the existing repository stays usable");
    // The denies come after the allow (the last match wins), and moves are denied too.
    let allow_at = text.find("(allow file-write*").unwrap();
    let deny_at = text.find("(deny file-write*").unwrap();
    assert!(allow_at < deny_at);
    assert!(text.contains("(deny file-write-unlink"), "{text}");
}

#[test]
fn allow_git_config_lets_the_repository_config_be_written() {
    let with = run(&settings(json!({"filesystem": {"allowWrite": ["."], "allowGitConfig": true}})));
    let without = run(&settings(json!({"filesystem": {"allowWrite": ["."]}})));
    assert!(without.contains("|\\\\.git/config|"));
    assert!(!with.contains("\\\\.git/config"), "{with}");
    assert!(with.contains("|\\\\.git/hooks|"), "hooks stay protected");
}

#[test]
fn deny_home_but_allow_the_project_reads_and_denies_moves_of_what_is_hidden() {
    let text = run(&settings(json!({"filesystem": {"denyRead": ["~"], "allowRead": ["."], "allowWrite": ["."]}})));
    let read = section(&text, "File read");
    assert_eq!(
        read,
        [
            "(allow file-read*)",
            "(deny file-read*",
            "  (subpath \"/Users/u\")",
            "  (with message \"CMD64_dHJ1ZQ==_END_x_SBX\")",
            ")",
            "(allow file-read*",
            "  (subpath \"/Users/u/proj\")",
            ")",
            "(allow file-read-metadata (vnode-type DIRECTORY))",
            "",
        ]
    );
    // Renaming home (or /Users) elsewhere would carry what it hides along.
    let unlink = &text[text.find("(deny file-write-unlink").unwrap()..];
    assert!(unlink.contains("  (literal \"/Users\")") && unlink.contains("  (subpath \"/Users/u\")"), "{unlink}");
}

#[test]
fn globs_in_every_list_become_anchored_patterns_with_their_characters_escaped() {
    let text = run(&settings(json!({"filesystem": {
        "denyRead": ["**/.env", "~/.aws/*.json"],
        "allowRead": ["~/.aws/public.json"],
        "allowWrite": ["./build-*"],
        "denyWrite": ["./build-*/lock[0-9]"]
    }})));
    for line in [
        // A deny covers what is beneath a match; `**/name` is that name anywhere.
        "  (regex \"^(/.*)?/\\\\.env(/.*)?$\")",
        "  (regex \"^/Users/u/\\\\.aws/[^/]*\\\\.json(/.*)?$\")",
        "  (regex \"^/Users/u/proj/build-[^/]*$\")",
        "  (regex \"^/Users/u/proj/build-[^/]*/lock[0-9](/.*)?$\")",
        "  (subpath \"/Users/u/.aws/public.json\")",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
    }
}

#[test]
fn literal_entries_and_names_with_glob_characters_are_taken_as_paths() {
    let text = run(&settings(
        json!({"filesystem": {"denyRead": [{"path": "/data/[x]*", "literal": true}], "allowWrite": ["."]}}),
    ));
    assert!(text.lines().any(|l| l == "  (subpath \"/data/[x]*\")"), "{text}");
}

#[test]
fn unix_sockets_by_path_or_all_of_them_and_local_binding() {
    let some = run(&settings(json!({"network": {"allowUnixSockets": ["/var/run/docker.sock"]}})));
    let net = section(&some, "Network");
    assert!(net.contains(&"(allow system-socket (socket-domain AF_UNIX))".to_string()), "{net:#?}");
    assert!(
        net.contains(
            &"(allow network-outbound (remote unix-socket (subpath \"/private/var/run/docker.sock\")))".to_string()
        ),
        "{net:#?}"
    );
    // `~` and relative paths, as the other path lists take them.
    let relative = run(&settings(json!({"network": {"allowUnixSockets": ["~/.colima/docker.sock", "run/app.sock"]}})));
    for path in ["/Users/u/.colima/docker.sock", "/Users/u/proj/run/app.sock"] {
        let line = format!("(allow network-outbound (remote unix-socket (subpath \"{path}\")))");
        assert!(relative.lines().any(|l| l == line), "{line} missing from {relative}");
    }
    let all = run(&settings(json!({"network": {"allowAllUnixSockets": true, "allowLocalBinding": true}})));
    let net = section(&all, "Network");
    for line in [
        "(allow network-bind (local ip \"*:*\"))",
        "(allow network-outbound (remote ip \"localhost:*\"))",
        "(allow network-outbound (remote unix-socket (path-regex \"^/\")))",
    ] {
        assert!(net.contains(&line.to_string()), "{line} missing from {net:#?}");
    }
}

#[test]
fn mach_lookups_pty_apple_events_and_trustd_only_when_asked() {
    let s = settings(json!({
        "network": {"allowMachLookup": ["com.example.exact", "com.example.family.*"]},
        "allowPty": true, "allowAppleEvents": true, "enableWeakerNetworkIsolation": true
    }));
    let text = run(&s);
    for line in [
        "  (global-name \"com.example.exact\")",
        "  (global-name-prefix \"com.example.family.\")",
        "  (global-name \"com.apple.trustd.agent\")",
        "  (global-name \"com.apple.coreservices.appleevents\")",
        "(allow appleevent-send)",
        "(allow pseudo-tty)",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
    }
}

#[test]
fn filesystem_disabled_allows_every_read_and_write_but_not_the_network() {
    let text = run(&settings(json!({"filesystem": {"disabled": true, "denyRead": ["~/.ssh"], "denyWrite": ["/etc"]}})));
    assert_eq!(section(&text, "File write"), ["(allow file-write*)"]);
    assert!(!text.contains("(deny file-read*"), "{text}");
    assert!(text.contains("(allow network-outbound (remote ip \"localhost:3128\"))"));
    assert!(!text.contains("(allow network*)"));
}

#[test]
fn deny_read_of_the_root_keeps_the_root_itself_readable_for_the_loader() {
    let text = run(&settings(json!({"filesystem": {"denyRead": ["/"], "allowRead": ["/usr", "/System"]}})));
    let read = section(&text, "File read");
    assert!(read.contains(&"  (subpath \"/\")".to_string()), "{read:#?}");
    assert!(read.contains(&"(allow file-read* (literal \"/\"))".to_string()), "{read:#?}");
}

#[test]
fn external_proxy_ports_and_one_port_for_both_protocols() {
    let s = settings(json!({}));
    let input = ProfileInput {
        settings: &s,
        cwd: "/Users/u/proj".into(),
        home: "/Users/u".into(),
        tmpdir: None,
        http_port: 8080,
        socks_port: 8080,
        log_tag: "t".into(),
        protect: vec![],
    };
    let text = profile(&input, &disk()).unwrap().text;
    assert_eq!(section(&text, "Network"), ["(allow network-outbound (remote ip \"localhost:8080\"))", ""]);
}

#[test]
fn a_write_deny_nested_in_a_read_deny_is_denied_both_ways() {
    let text = run(&settings(
        json!({"filesystem": {"denyRead": ["~/.aws"], "allowWrite": ["~/.aws"], "denyWrite": ["~/.aws/credentials"]}}),
    ));
    let write = section(&text, "File write");
    assert!(write.contains(&"  (subpath \"/Users/u/.aws\")".to_string()), "{write:#?}");
    assert!(write.contains(&"  (subpath \"/Users/u/.aws/credentials\")".to_string()), "{write:#?}");
    let read = section(&text, "File read");
    assert!(read.contains(&"  (subpath \"/Users/u/.aws\")".to_string()), "{read:#?}");
}

#[test]
fn a_path_with_quotes_and_backslashes_cannot_break_out_of_its_string() {
    let text =
        run(&settings(json!({"filesystem": {"denyRead": ["/data/a\"b\\c) (allow default"], "allowWrite": ["."]}})));
    assert!(text.lines().any(|l| l == "  (subpath \"/data/a\\\"b\\\\c) (allow default\")"), "{text}");
    assert!(!text.lines().any(|l| l.trim_start().starts_with("(allow default")), "{text}");
}

#[test]
fn a_protected_path_reached_through_a_link_is_denied_by_its_name_and_where_it_lands() {
    let s = settings(json!({"filesystem": {"allowWrite": ["~"]}}));
    let mut fs = disk();
    fs.nodes.retain(|p, _| !p.starts_with("/Users/u/.ssh"));
    fs.add("/Users/u/dotfiles/ssh", Node::Dir);
    fs.add("/Users/u/.ssh", Node::Link("/Users/u/dotfiles/ssh".into()));
    let input = bare(&s);
    let write = section(&profile(&input, &fs).unwrap().text, "File write");
    // The link itself cannot be replaced, nor what it leads to written.
    for line in ["  (subpath \"/Users/u/.ssh\")", "  (subpath \"/Users/u/dotfiles/ssh\")"] {
        assert!(write.contains(&line.to_string()), "{line} missing from {write:#?}");
    }
}

#[test]
fn protected_names_under_a_long_root_are_split_to_fit_and_an_overlong_path_is_refused() {
    // Long enough that one alternation of all the names would not fit.
    let deep = format!("/Users/u/{}", "d".repeat(800));
    let mut fs = disk();
    fs.add(&deep, Node::Dir);
    let s = settings(json!({"filesystem": {"allowWrite": [deep]}}));
    let input = |s| bare(s);
    let text = profile(&input(&s), &fs).unwrap().text;
    let under_deep: Vec<&str> =
        text.lines().filter(|l| l.contains("(require-all (regex \"^/Users/u/ddd") && l.contains("zshrc")).collect();
    assert_eq!(under_deep.len(), 2, "once among the write denies, once among the move denies: {text}");
    // Every name is still there, in more alternations than under a short root.
    let alternations = text.lines().filter(|l| l.contains("(require-all (regex \"^/Users/u/ddd")).count();
    assert!(alternations > 4, "{alternations}");
    for name in ["\\\\.vscode", "\\\\.git/worktrees", "\\\\.mcp\\\\.json", "\\\\.git/config\\\\.worktree"] {
        assert!(text.lines().any(|l| l.contains("/Users/u/ddd") && l.contains(name)), "{name}");
    }
    assert!(unusable_string(&text).is_none());

    // A path no string can hold: refused with the reason, not left to
    // sandbox-exec's "Error reading string".
    let too_long = format!("/Users/u/{}", "x".repeat(1100));
    let s = settings(json!({"filesystem": {"denyRead": [too_long]}}));
    let err = profile(&input(&s), &disk()).unwrap_err();
    assert!(err.contains("too long for a Seatbelt profile") && err.contains("1025"), "{err}");
}

#[test]
fn a_deny_pattern_wins_inside_the_allows_it_does_not_cover_and_spares_those_it_does() {
    let text = run(&settings(json!({"filesystem": {
        "denyRead": ["**/.env", "~/*", "./**/*.key"],
        "allowRead": ["~/proj"],
        "allowWrite": ["."]
    }})));
    let read = section(&text, "File read");
    // After the allow: `**/.env` (anywhere) and the project's keys whole, so
    // `~/proj/.env` and `~/proj/a.key` stay denied; `~/*` less the project it
    // covers, so the project stays readable.
    let allow_at = read.iter().position(|l| l == "  (subpath \"/Users/u/proj\")").unwrap();
    let after: Vec<&String> = read[allow_at..].iter().collect();
    for line in [
        "  (regex \"^(/.*)?/\\\\.env(/.*)?$\")",
        "  (regex \"^/Users/u/proj(/.*)?/[^/]*\\\\.key(/.*)?$\")",
        "  (require-all (regex \"^/Users/u/[^/]*(/.*)?$\") (require-not (subpath \"/Users/u/proj\")))",
    ] {
        assert!(after.iter().any(|l| *l == line), "{line} not after the allow in {read:#?}");
    }
    // Without a deny of `/` itself, the root stays as the default leaves it.
    assert!(!text.contains("(allow file-read* (literal \"/\"))"), "{text}");
}

#[test]
fn moves_cannot_carry_a_protection_away_nor_put_a_prepared_directory_in_its_place() {
    let text = run(&settings(json!({"filesystem": {
        "denyRead": ["~", "./secrets/*.pem"],
        "allowRead": ["."],
        "allowWrite": ["."],
        "denyWrite": ["./conf/app.toml"]
    }})));
    let moves = section(&text, "Moves");
    let rule_of = |line: &str| -> String {
        let at = moves.iter().position(|l| l == line).unwrap_or_else(|| panic!("{line} missing from {moves:#?}"));
        moves[..at].iter().rev().find(|l| l.starts_with('(')).unwrap().clone()
    };
    // Files of the project under the denied home can be deleted and saved
    // by rename again: the read deny's unlink is lifted where reads and
    // writes are both allowed...
    assert_eq!(rule_of("  (subpath \"/Users/u\")"), "(deny file-write-unlink");
    assert_eq!(rule_of("  (subpath \"/Users/u/proj\")"), "(allow file-write-unlink");
    // ...but a pattern's matches are denied again after it, and its base
    // (like every directory above a denied path) can be neither renamed nor made.
    let late = "  (require-all (regex \"^/Users/u/proj/secrets/[^/]*\\\\.pem(/.*)?$\") (require-not (subpath \"/Users/u/proj\")))";
    assert!(!moves.iter().any(|l| l == late), "the project allow does not carve out a pattern inside it");
    assert_eq!(rule_of("  (regex \"^/Users/u/proj/secrets/[^/]*\\\\.pem(/.*)?$\")"), "(deny file-write-unlink");
    for pinned in ["/Users/u/proj/secrets", "/Users/u/proj/conf", "/Users/u/proj", "/Users"] {
        assert_eq!(
            rule_of(&format!("  (literal \"{pinned}\")")),
            "(deny file-write-unlink file-write-create",
            "{pinned}"
        );
    }
    // The repository and agent directories at the top, and deeper down.
    for top in [".git", ".claude", ".hg"] {
        assert_eq!(
            rule_of(&format!("  (literal \"/Users/u/proj/{top}\")")),
            "(deny file-write-unlink file-write-create"
        );
    }
    let nested = "  (require-all (regex \"^/Users/u/proj/(.*/)?(\\\\.git|\\\\.claude|\\\\.hg)$\") (require-not (regex \"^/Users/u/proj/(.*/)?node_modules/\")))";
    assert_eq!(rule_of(nested), "(deny file-write-unlink");
    // What no write may touch is denied again last, after the allow above.
    let last_rule = moves.iter().rev().find(|l| l.starts_with('(')).unwrap();
    assert_eq!(last_rule, "(deny file-write-unlink");
    let last_at = moves.iter().rposition(|l| l == last_rule).unwrap();
    assert!(moves[last_at..].iter().any(|l| l == "  (subpath \"/Users/u/proj/conf/app.toml\")"), "{moves:#?}");
}

#[test]
fn a_pattern_write_root_gets_the_protected_names_and_a_literal_deny_inside_a_pattern_allow_wins() {
    let s = settings(json!({"filesystem": {
        "allowWrite": ["/Users/u/work/build-*"],
        "denyRead": ["~", "~/p/secret"],
        "allowRead": ["~/p/*"]
    }}));
    let mut fs = disk();
    fs.add("/Users/u/work/build-1", Node::Dir);
    let input = bare(&s);
    let text = profile(&input, &fs).unwrap().text;
    let write = section(&text, "File write");
    assert!(
        write.iter().any(|l| l.contains("(regex \"^/Users/u/work(/.*)?/(\\\\.vscode|")),
        "protected names anchored at the pattern's base: {write:#?}"
    );
    let read = section(&text, "File read");
    let allow_at = read.iter().position(|l| l == "  (regex \"^/Users/u/p/[^/]*$\")").unwrap();
    assert!(read[allow_at..].iter().any(|l| l == "  (subpath \"/Users/u/p/secret\")"), "{read:#?}");
}

#[test]
fn a_path_with_a_control_character_is_refused_rather_than_left_unmatched() {
    let s = settings(json!({"filesystem": {"denyRead": ["/data/a\nb"], "allowWrite": ["."]}}));
    let input = bare(&s);
    let err = profile(&input, &disk()).unwrap_err();
    assert!(err.contains("control character"), "{err}");
}
