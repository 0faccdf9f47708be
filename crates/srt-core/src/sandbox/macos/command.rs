//! The command line that runs a command under `sandbox-exec` on macOS, in
//! the original's shape: `env -u NAME… NAME=value… sandbox-exec -p
//! '<profile>' <shell> -c '<command>'`. Every word is quoted for `sh`, so
//! any profile and any command text arrive as they were written. `env` is
//! `/usr/bin/env`, never looked up on PATH: a directory a sandboxed command
//! could write (`node_modules/.bin`) would run its own `env` unsandboxed.

use std::path::Path;

use crate::shell_words::{shell_quote, shell_quote_bytes};

/// What the line runs.
#[derive(Clone, Debug)]
pub struct SandboxExec<'a> {
    /// `/usr/bin/sandbox-exec` on a Mac; a stand-in in tests.
    pub sandbox_exec: &'a Path,
    pub profile: &'a str,
    pub shell: &'a Path,
    pub command: &'a str,
    /// Variables to remove first (unsets come first, so srt's own win).
    pub unset: &'a [String],
    /// Variables to set (the proxies, `TMPDIR`, `SANDBOX_RUNTIME`).
    pub set: &'a [(String, String)],
}

/// The line, for `sh -c`.
pub fn command_line(run: &SandboxExec<'_>) -> String {
    let mut words = vec!["/usr/bin/env".to_string()];
    for name in run.unset {
        words.push("-u".into());
        words.push(shell_quote(name));
    }
    for (name, value) in run.set {
        words.push(shell_quote(&format!("{name}={value}")));
    }
    words.push(shell_quote_bytes(run.sandbox_exec.as_os_str()));
    words.push("-p".into());
    words.push(shell_quote(run.profile));
    words.push(shell_quote_bytes(run.shell.as_os_str()));
    words.push("-c".into());
    words.push(shell_quote(run.command));
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    /// A stand-in for sandbox-exec: records the profile it was given, then
    /// runs the rest of its arguments.
    fn fake_sandbox_exec(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("sandbox-exec");
        std::fs::write(
            &path,
            "#!/bin/sh\n[ \"$1\" = -p ] || exit 99\nprintf '%s' \"$2\" > \"$PROFILE_OUT\"\nshift 2\nexec \"$@\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn any_profile_and_command_text_arrive_as_written() {
        let dir = std::env::temp_dir().join(format!("srt-sbx-line-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = fake_sandbox_exec(&dir);
        let profile = "(version 1)\n(deny default (with message \"it's \\\"tagged\\\"\"))\n; $HOME `x` \\ end";
        let command = "printf '%s|' \"$SRT_TEST_PROXY\" \"$SRT_TEST_GONE\" 'a b' \"it's\" '$(not run)'";
        let set = [("SRT_TEST_PROXY".to_string(), "http://srt:t0k@localhost:3128".to_string())];
        let unset = ["SRT_TEST_GONE".to_string()];
        let line = command_line(&SandboxExec {
            sandbox_exec: &fake,
            profile,
            shell: Path::new("/bin/sh"),
            command,
            unset: &unset,
            set: &set,
        });
        assert!(
            line.starts_with("/usr/bin/env -u SRT_TEST_GONE SRT_TEST_PROXY=http://srt:t0k@localhost:3128 "),
            "{line}"
        );
        let out = Command::new("sh")
            .arg("-c")
            .arg(&line)
            .env("PROFILE_OUT", dir.join("profile"))
            .env("SRT_TEST_GONE", "leaked")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "http://srt:t0k@localhost:3128||a b|it's|$(not run)|");
        assert_eq!(std::fs::read_to_string(dir.join("profile")).unwrap(), profile);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
