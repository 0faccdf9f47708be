//! Stand-ins for macOS's programs, so that the backend runs on Linux in
//! tests: `sandbox-exec` keeps the profile it was given (in `profile.sb`
//! beside it) and runs the rest; `log stream` replays denials.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A stand-in for sandbox-exec: keeps the profile it was given, runs the rest.
pub fn stand_in(dir: &Path) -> PathBuf {
    let path = dir.join("sandbox-exec");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = -p ] || exit 99\nprintf '%s' \"$2\" > '{}/profile.sb'\nshift 2\nexec \"$@\"\n",
        dir.display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A stand-in for `log stream`: one denial of this session (its suffix
/// taken from the predicate), one of another session's, then waits.
pub fn log_stand_in(dir: &Path) -> PathBuf {
    let path = dir.join("log");
    let script = format!(
        "#!/bin/sh\n\
         [ \"$1\" = stream ] || exit 99\n\
         suffix=$(printf '%s' \"$3\" | sed 's/.*ENDSWITH \"\\(.*\\)\")$/\\1/')\n\
         echo \"2025-01-15 10:23:45.123 E  kernel[0:1a2b] (Sandbox) Sandbox: cat(4321) deny(1) file-read-data /Users/u/.ssh/id_rsa CMD64_dHJ1ZQ==_END$suffix\"\n\
         echo \"2025-01-15 10:23:45.124 E  kernel[0:1a2c] (Sandbox) Sandbox: cat(9) deny(1) file-read-data /elsewhere CMD64_dHJ1ZQ==_END_other_SBX\"\n\
         touch '{}/log-ready'\n\
         exec sleep 60\n",
        dir.display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Answers every request with 200 `hello`.
pub fn web_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        }
    });
    port
}
