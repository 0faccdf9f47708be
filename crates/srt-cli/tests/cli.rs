//! The `srt` command end to end, for `cargo test` users: a real sandbox
//! under the real bubblewrap, as the README's first command runs it.

mod support;

use std::process::{Command, Output};

use support::{missing_tool, srt, text, Scratch};

fn srt_in(scratch: &Scratch, settings: &std::path::Path, command: &[&str]) -> Output {
    Command::new(srt())
        .arg("--settings")
        .arg(settings)
        .arg("--")
        .args(command)
        .current_dir(&scratch.0)
        .env("HOME", &scratch.0)
        .env_remove("SRT_DEBUG")
        .output()
        .unwrap()
}

#[test]
fn a_command_runs_under_the_settings_rules_and_its_status_comes_back() {
    if let Some(tool) = missing_tool(&["bwrap"]) {
        eprintln!("skipped: no {tool}");
        return;
    }
    let scratch = Scratch::new("cli-rules");
    let settings = scratch.settings("", r#""denyRead": [], "allowWrite": ["."], "denyWrite": []"#, "");
    let script = "echo inside; echo ok > here; \
        (echo x > /etc/srt-cli-test) 2>/dev/null || echo root-read-only; \
        (mkdir .git) 2>/dev/null || echo no-repository; \
        exit 7";
    let out = srt_in(&scratch, &settings, &["sh", "-c", script]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "inside\nroot-read-only\nno-repository\n", "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(scratch.0.join("here")).unwrap(), "ok\n");
    assert!(!std::path::Path::new("/etc/srt-cli-test").exists());
    // Nothing of the sandbox is left in the working directory.
    let mut left: Vec<String> =
        std::fs::read_dir(&scratch.0).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    assert_eq!(left, ["here", "settings.json"]);
}

#[test]
fn settings_it_cannot_enforce_refuse_the_run_and_unknown_keys_are_named() {
    let scratch = Scratch::new("cli-refuse");
    let settings = scratch.settings(r#""filterRequest": "allow""#, "", "");
    let out = srt_in(&scratch, &settings, &["sh", "-c", "echo RAN"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!text(&out.stdout).contains("RAN"));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("network.filterRequest: filterRequest must be a function"), "{stderr}");
    assert!(stderr.contains("Refusing to run the command with weaker rules"), "{stderr}");
    if missing_tool(&["bwrap"]).is_some() {
        return;
    }
    let settings = scratch.settings(r#""alowedDomains": []"#, "", "");
    let out = srt_in(&scratch, &settings, &["true"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(r#"unknown key "network.alowedDomains" ignored (did you mean "allowedDomains"?)"#),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn print_profile_shows_the_sandbox_and_starts_nothing() {
    let scratch = Scratch::new("cli-print");
    let settings = scratch.settings("", r#""denyRead": ["~/.ssh"], "allowWrite": ["."], "denyWrite": []"#, "");
    let print = |os: &str| {
        Command::new(srt())
            .args(["--print-profile", os, "--settings"])
            .arg(&settings)
            .args(["--", "touch", "ran"])
            .current_dir(&scratch.0)
            .env("HOME", &scratch.0)
            .output()
            .unwrap()
    };
    let mac = print("macos");
    assert_eq!(mac.status.code(), Some(0), "{}", text(&mac.stderr));
    let profile = text(&mac.stdout);
    assert!(profile.starts_with("(version 1)\n(deny default"), "{profile}");
    // The working directory is writable, home's .ssh unreadable (under /private where macOS puts /tmp).
    let cwd = std::fs::canonicalize(&scratch.0).unwrap();
    let mac_cwd = if cwd.starts_with("/tmp") {
        std::path::Path::new("/private").join(cwd.strip_prefix("/").unwrap())
    } else {
        cwd.clone()
    };
    assert!(profile.contains(&format!("  (subpath \"{}\")", mac_cwd.display())), "{profile}");
    assert!(profile.contains(&format!("  (subpath \"{}/.ssh\")", mac_cwd.display())), "{profile}");
    if missing_tool(&["bwrap"]).is_none() {
        let linux = print("linux");
        assert_eq!(linux.status.code(), Some(0), "{}", text(&linux.stderr));
        let args = text(&linux.stdout);
        assert!(args.lines().any(|l| l == format!("--bind {} {}", cwd.display(), cwd.display())), "{args}");
        assert!(args.lines().last().unwrap().ends_with("-- touch ran"), "{args}");
    }
    // Nothing ran, and no placeholder was made.
    let left: Vec<String> =
        std::fs::read_dir(&scratch.0).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, ["settings.json"]);
    // Settings it cannot enforce fail as a run does; an unknown system is named.
    let bad = scratch.settings(r#""filterRequest": "allow""#, "", "");
    let out = Command::new(srt()).args(["--print-profile", "macos", "--settings"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("network.filterRequest: filterRequest must be a function"),
        "{}",
        text(&out.stderr)
    );
    let out = Command::new(srt()).args(["--print-profile", "windows"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--print-profile takes macos or linux"), "{}", text(&out.stderr));
}

#[test]
fn git_safe_directories_let_git_use_a_repository_another_user_owns() {
    if let Some(tool) = missing_tool(&["bwrap", "git"]) {
        eprintln!("skipped: no {tool}");
        return;
    }
    // Only root can give a repository to another user.
    if std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(1) != 0 {
        eprintln!("skipped: not root");
        return;
    }
    let scratch = Scratch::new("cli-git-safe");
    let repo = scratch.0.join("repo");
    let git = |args: &[&str]| Command::new("git").args(args).current_dir(&scratch.0).output().unwrap();
    assert!(git(&["init", "-q", "repo"]).status.success());
    assert!(Command::new("chown").args(["-R", "65534:65534"]).arg(&repo).status().unwrap().success());
    let status = |settings: &std::path::Path, env: &[(&str, &str)]| {
        let out = Command::new(srt())
            .arg("--settings")
            .arg(settings)
            .args(["--", "git", "-C", "repo", "status", "--short"])
            .current_dir(&scratch.0)
            .env("HOME", &scratch.0)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (out.status.code(), text(&out.stderr))
    };
    let without = scratch.settings("", "", "");
    let (code, stderr) = status(&without, &[]);
    assert_ne!(code, Some(0), "git must refuse another user's repository: {stderr}");
    assert!(stderr.contains("dubious ownership"), "{stderr}");
    let with = scratch.settings("", "", r#""git": {"safeDirectories": ["./repo"]}"#);
    let (code, stderr) = status(&with, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    // After the caller's own entries; and a caller's count of 0 adds nothing.
    let (code, stderr) =
        status(&with, &[("GIT_CONFIG_COUNT", "1"), ("GIT_CONFIG_KEY_0", "core.pager"), ("GIT_CONFIG_VALUE_0", "cat")]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _) = status(&with, &[("GIT_CONFIG_COUNT", "0")]);
    assert_ne!(code, Some(0));
}
