//! The library session end to end: wrap a command, run the returned string
//! with `sh -c` as a library caller would, and see the proxies serve it.

#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use srt_core::{Session, Settings};

fn settings(allowed: &[&str]) -> Settings {
    let mut s = Settings::default();
    s.network.allowed_domains = allowed.iter().map(|d| d.to_string()).collect();
    s
}

/// Answers every request with `hello <path>`, a connection each.
fn web_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]);
            let path = head.split(' ').nth(1).unwrap_or("?").to_string();
            let body = format!("hello {path}\n");
            let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    port
}

fn run(line: &str) -> (String, String, i32) {
    let out = Command::new("sh").arg("-c").arg(line).output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
        out.status.code().unwrap_or(-1),
    )
}

fn helper() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_srt"))
}

#[test]
fn a_wrapped_command_line_runs_sandboxed_with_the_sessions_proxies() {
    if Command::new("bwrap").arg("--version").output().is_err() {
        eprintln!("skipped: no bubblewrap");
        return;
    }
    let port = web_server();
    let session = Session::start(settings(&["localhost"]), None, helper()).unwrap();
    let script = format!(
        "unset NO_PROXY no_proxy; curl -sS http://localhost:{port}/a; curl -sS -w '%{{http_code}}\\n' -o /dev/null http://denied.example/; touch /etc/x 2>/dev/null || echo read-only"
    );
    let wrapped = session.wrap(&script, Some("sh"), None, Some("my-command-id"), None).unwrap();
    assert!(wrapped.command_line.contains("bwrap"), "{}", wrapped.command_line);
    let (stdout, stderr, code) = run(&wrapped.command_line);
    assert_eq!(stdout, format!("hello /a\n403\nread-only\n"), "{stderr}");
    assert_eq!(code, 0);
    let v = session.recent_violations();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].line, "deny network-outbound denied.example:80 (host is not on the allow list)");
    assert_eq!(v[0].command.as_deref(), Some("my-command-id"));
    session.cleanup_after_command();

    // A second wrap after new settings: the proxies follow them from the next connection.
    let mut next = settings(&["localhost", "denied.example"]);
    next.network.denied_domains = vec!["localhost".into()];
    session.update_config(next).unwrap();
    let wrapped = session
        .wrap(
            &format!("unset NO_PROXY no_proxy; curl -sS -w '%{{http_code}}' -o /dev/null http://localhost:{port}/b"),
            Some("sh"),
            None,
            None,
            None,
        )
        .unwrap();
    let (stdout, stderr, _) = run(&wrapped.command_line);
    assert_eq!(stdout, "403", "{stderr}");
    session.reset();
}

#[test]
fn a_wrapped_command_line_cannot_run_once_the_session_is_gone() {
    if Command::new("bwrap").arg("--version").output().is_err() {
        return;
    }
    let session = Session::start(settings(&[]), None, helper()).unwrap();
    let wrapped = session.wrap("echo SHOULD-NOT-RUN", Some("sh"), None, None, None).unwrap();
    session.reset();
    let (stdout, stderr, code) = run(&wrapped.command_line);
    assert!(!stdout.contains("SHOULD-NOT-RUN"), "{stdout}");
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("srt: this sandboxed command line belongs to a SandboxManager session that has ended"),
        "{stderr}"
    );
}

#[test]
fn shell_quoting_round_trips() {
    use srt_core::shell_quote;
    for word in ["plain", "", "a b", "it's", "$HOME", "--x=1", "=a", "a\nb", "\"q\""] {
        let out = Command::new("sh").arg("-c").arg(format!("printf %s {}", shell_quote(word))).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), word);
    }
}

#[test]
fn words_that_are_not_utf8_round_trip_through_sh() {
    use srt_core::shell_quote_bytes;
    use std::ffi::OsStr;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    for word in [&b"bad\xff/.bashrc"[..], b"\xfe\xff", b"it's \xc3(", b"a\n\xff\n", b"plain"] {
        for shell in ["sh", "bash"] {
            let line = format!("printf %s {}", shell_quote_bytes(OsStr::from_bytes(word)));
            let out = Command::new(shell).arg("-c").arg(&line).output().unwrap();
            assert_eq!(std::ffi::OsString::from_vec(out.stdout), OsStr::from_bytes(word), "{shell}: {line}");
        }
    }
}
