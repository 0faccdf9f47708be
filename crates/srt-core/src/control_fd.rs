//! `--control-fd N`: while the command runs, settings updates arrive on an
//! inherited descriptor, one JSON document per line, and the network rules
//! of each apply from the next connection (as the library's
//! `updateConfig`). The descriptor is checked before anything starts, is
//! never passed to the command, and a line that is not valid settings is
//! reported and ignored.

use std::io::BufRead;
use std::os::fd::{FromRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::proxy::{NetConfig, Proxy};
use crate::run_control::RunControl;

/// The descriptor number as the option gives it: a whole number >= 3.
pub fn parse(value: &str) -> Result<RawFd, String> {
    match value.parse::<RawFd>() {
        Ok(fd) if fd >= 3 && value.bytes().all(|b| b.is_ascii_digit()) => Ok(fd),
        _ => Err(format!(
            "--control-fd {value:?}: must be an integer file descriptor >= 3 (0-2 are stdin, stdout and stderr)"
        )),
    }
}

/// Whether `fd` can be read (a read of nothing: EBADF for a closed or
/// write-only descriptor, without blocking or taking a byte), and keeps it
/// from the command (close-on-exec).
pub fn check(fd: RawFd) -> Result<(), String> {
    let refuse = |why: String| {
        format!("--control-fd {fd} is not usable: {why}. Refusing to run the command without the control channel it asks for.")
    };
    // SAFETY: a zero-length read into no buffer; the descriptor is only borrowed.
    if unsafe { libc::read(fd, std::ptr::null_mut(), 0) } < 0 {
        return Err(refuse(std::io::Error::last_os_error().to_string()));
    }
    // SAFETY: sets a flag on a descriptor this process holds.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(refuse(std::io::Error::last_os_error().to_string()));
    }
    Ok(())
}

/// New network rules from one line, or why it is ignored.
fn apply(line: &str, proxy: &Proxy) -> Result<(), String> {
    let parsed = crate::config::parse_settings(line).map_err(|e| crate::config::parse_failure(e).message)?;
    let settings = crate::config::admit(parsed, "the update").map_err(|e| e.message)?.settings;
    let net = NetConfig::from_settings(&settings, |k| std::env::var(k).ok())?;
    proxy.update_config(net)?;
    crate::credentials::rehost(&settings, &proxy.sentinels)
}

/// Blocks until `fd` has something to read (or is closed).
fn wait_readable(fd: RawFd) {
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one pollfd of our own, for a descriptor this thread reads.
    unsafe { libc::poll(&mut p, 1, -1) };
}

/// Reads updates from `fd` on a thread of its own. A channel that fails
/// before delivering anything stops the command (`failed` is then set).
pub fn listen(fd: RawFd, proxy: Arc<Proxy>, control: Arc<RunControl>) -> Arc<AtomicBool> {
    let failed = Arc::new(AtomicBool::new(false));
    let flag = failed.clone();
    let _ = std::thread::Builder::new().name("srt-control".into()).spawn(move || {
        // SAFETY: the descriptor was inherited for this and is read only here.
        let file = unsafe { std::fs::File::from_raw_fd(fd) };
        let mut reader = std::io::BufReader::new(file);
        let mut delivered = false;
        let mut buf = String::new();
        loop {
            let line = match reader.read_line(&mut buf) {
                Ok(0) => break,
                Ok(_) => Ok(std::mem::take(&mut buf)),
                // A descriptor the caller shares in non-blocking mode (a
                // Node socket): waited for here, its mode left alone.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    wait_readable(fd);
                    continue;
                }
                Err(e) => Err(e),
            };
            match line {
                Ok(line) if line.trim().is_empty() => {}
                Ok(line) => {
                    delivered = true;
                    match apply(&line, &proxy) {
                        Ok(()) => tracing::debug!("settings updated from control fd {fd}"),
                        Err(why) => crate::cli::say(&format!(
                            "srt: invalid config on control fd {fd}: ignored, previous config still in force ({why})"
                        )),
                    }
                }
                Err(e) if delivered => {
                    crate::cli::say(&format!(
                        "srt: error reading control fd {fd}: {e}. The control channel is closed; no further updates will be applied."
                    ));
                    return;
                }
                Err(e) => {
                    crate::cli::say(&format!(
                        "srt: control fd {fd} failed before delivering an update: {e}. Refusing to run the command without the control channel it asks for."
                    ));
                    flag.store(true, Ordering::SeqCst);
                    control.signal(libc::SIGTERM);
                    return;
                }
            }
        }
        // End of input: the writer is done; the rules last applied stay.
    });
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_descriptor_is_a_whole_number_from_three() {
        assert_eq!(parse("3"), Ok(3));
        assert_eq!(parse("20"), Ok(20));
        for bad in ["2", "0", "-3", "+3", "0x10", "3e0", " 5", "x", ""] {
            assert!(parse(bad).unwrap_err().contains(">= 3"), "{bad}");
        }
    }

    #[test]
    fn a_write_only_or_closed_descriptor_is_refused_a_readable_one_kept_from_children() {
        let (r, w) = nix::unistd::pipe().unwrap();
        use std::os::fd::AsRawFd;
        assert!(check(w.as_raw_fd()).unwrap_err().contains("not usable"));
        check(r.as_raw_fd()).unwrap();
        // SAFETY: reads the flags of a descriptor this test holds.
        let flags = unsafe { libc::fcntl(r.as_raw_fd(), libc::F_GETFD) };
        assert_ne!(flags & libc::FD_CLOEXEC, 0);
        assert!(check(987).unwrap_err().contains("Bad file descriptor"));
    }
}
