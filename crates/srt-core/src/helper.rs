//! The in-sandbox helper: pid 1 of the sandbox's pid namespace.
//!
//! Run as `srt __sandbox-exec [--tty] [--block-unix-sockets] [--bridge-fd N] ... -- COMMAND [ARGS...]`
//! by bubblewrap. It takes the terminal (when given one), closes every
//! descriptor but the standard three (relaying those that are files, see
//! `stdio_relay`), starts the command under the seccomp
//! filter (when asked), forwards the signals it receives to it,
//! reaps orphans, and exits with the command's status (128+N for death by
//! signal N). Its exit ends every process left in the namespace.
//! It depends only on what it receives on its command line.

use std::ffi::{CString, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::helper_protocol::{Channel, HelperArgs, MountCheck};

/// Signals the helper passes on to the command.
pub const FORWARDED: &[libc::c_int] =
    &[libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGUSR1, libc::SIGUSR2];

/// Whether the command could write the working directory: its mount is not
/// read-only, and its mode allows it or the command could change the mode
/// (the directory is its own, or it runs as root). A mode alone proves
/// nothing: `chmod u+w .` undoes it.
fn cwd_may_be_written() -> bool {
    use nix::sys::statvfs::{statvfs, FsFlags};
    use std::os::unix::fs::MetadataExt;
    let Ok(st) = statvfs(".") else { return true };
    if st.flags().contains(FsFlags::ST_RDONLY) {
        return false;
    }
    let euid = crate::sys::euid();
    let owner = std::fs::metadata(".").map(|m| m.uid()).unwrap_or(euid);
    let mode_allows = nix::unistd::access(".", nix::unistd::AccessFlags::W_OK).is_ok();
    mode_allows || owner == euid || euid == 0
}

/// Whether a library line may run where its caller started it: where it was
/// planned, below it (as the command could `cd` there itself), or where the
/// sandbox may not write (no protection planned for elsewhere is missing
/// there). Anywhere else writable, the protections of that directory (its
/// placeholders, its scan) were never planned: refused.
pub fn cwd_verdict(here: &std::path::Path, planned: &std::path::Path, writable: bool) -> Result<(), String> {
    if here.starts_with(planned) || !writable {
        return Ok(());
    }
    Err(format!(
        "this command line was made for {} and is run in {}, where the sandbox may write but srt planned no protection: wrap the command again for that directory (the cwd argument of wrapWithSandboxArgv, or wrap it from there)",
        planned.display(),
        here.display()
    ))
}

fn fail(message: &str) -> i32 {
    let _ = writeln!(std::io::stderr(), "srt: sandbox helper: {message}");
    1
}

/// Runs the helper; returns the exit status for the process.
pub fn main(args: &[OsString]) -> i32 {
    let opts = match HelperArgs::parse(args) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    let Ok(argv) = opts.command.iter().map(|a| CString::new(a.as_bytes())).collect::<Result<Vec<_>, _>>() else {
        return fail("an argument contains a NUL byte");
    };
    // Before anything starts a thread or a process: in this user namespace
    // the kernel counts this uid's processes here alone, and without
    // capabilities nothing inside can raise the hard limit again.
    if let Some(n) = opts.max_processes {
        use nix::sys::resource::{setrlimit, Resource};
        if let Err(e) = setrlimit(Resource::RLIMIT_NPROC, n as libc::rlim_t, n as libc::rlim_t) {
            return fail(&format!("cannot limit processes: {e}"));
        }
    }
    // The standard stream that is the sandbox's terminal, when it has one.
    let tty_fd = if opts.tty { standard_terminal() } else { None };
    if let Some(fd) = tty_fd {
        // bwrap's --new-session made us a session leader: take the pty as our terminal.
        if let Err(e) = crate::sys::take_controlling_terminal(crate::sys::standard(fd)) {
            return fail(&format!("cannot take the terminal: {e}"));
        }
    }
    // Each bind must show what srt planned: a path swapped for a symlink
    // between planning and mounting would have moved a mount elsewhere.
    let checks = match &opts.channel {
        Some(Channel::Descriptors) => Some(Ok(crate::sys::take_handed(crate::helper_protocol::EXPECT_FD))),
        Some(Channel::Paths { checks, .. }) => Some(
            std::fs::File::open(checks)
                .map(std::os::fd::OwnedFd::from)
                .map_err(|e| format!("cannot read the plan {}: {e}", checks.display())),
        ),
        None => None,
    };
    if let Some(fd) = checks {
        if let Err(e) = fd.and_then(verify_mounts) {
            return fail(&format!("the sandbox is not as planned ({e}); refusing to run the command"));
        }
    }
    if let Some(Channel::Paths { planned_cwd: planned, .. }) = &opts.channel {
        let here = std::env::current_dir().unwrap_or_default();
        if let Err(e) = cwd_verdict(&here, planned, cwd_may_be_written()) {
            return fail(&e);
        }
    }
    // The proxies' listeners, in the sandbox's network namespace, listening
    // before the command exists: handed to srt, which serves them.
    let bridged = match &opts.channel {
        Some(Channel::Descriptors) => Some(crate::proxy::bridge::open_and_send(crate::helper_protocol::BRIDGE_FD)),
        Some(Channel::Paths { bridge_socket, token, .. }) => {
            Some(crate::proxy::bridge::connect_and_send(bridge_socket, token))
        }
        None => None,
    };
    if let Some(Err(e)) = bridged {
        return fail(&format!("{e}; refusing to run the command without its proxies and limits"));
    }
    // Every mount is in place now: tell srt (it stops holding its registry lock).
    if opts.channel == Some(Channel::Descriptors) {
        let _ = nix::unistd::write(crate::sys::handed(crate::helper_protocol::READY_FD), b"r");
    }
    crate::sys::close_from(3);
    // Nothing inside may ptrace us or read our memory: we run unfiltered.
    let _ = nix::sys::prctl::set_dumpable(false);
    let refuse = crate::seccomp::Refuse { unix_sockets: opts.block_unix_sockets, namespaces: !opts.allow_namespaces };
    let filters = match crate::seccomp::filters(refuse) {
        Ok(f) => f,
        Err(e) => return fail(&format!("cannot build the seccomp filter: {e}")),
    };

    // Block what we handle, so it is read from a signalfd instead of interrupting us.
    use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    for &s in FORWARDED {
        if let Ok(signal) = Signal::try_from(s) {
            set.add(signal);
        }
    }
    let mut old = SigSet::empty();
    if let Err(e) = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old)) {
        return fail(&format!("sigprocmask: {e}"));
    }
    let signals = match SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC) {
        Ok(fd) => fd,
        Err(e) => return fail(&format!("signalfd: {e}")),
    };
    // For the child, which may only make async-signal-safe calls.
    let (sfd, old): (libc::c_int, libc::sigset_t) = (std::os::fd::AsRawFd::as_raw_fd(&signals), *old.as_ref());

    // Files, directories and devices given as standard streams reach the
    // command through pipes (see stdio_relay); terminals, pipes and sockets
    // pass unchanged.
    let relays = match crate::stdio_relay::shield() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot relay the standard streams: {e}")),
    };

    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // Looked up as a shell would, before the fork (it allocates).
    let program = crate::program_lookup::resolve(&opts.command[0], std::env::var_os("PATH").as_deref());
    // A file that is no binary and has no `#!` runs with /bin/sh, as execvp does it.
    let sh_argv: Vec<*const libc::c_char> = match &program {
        Ok(path) => [c"/bin/sh".as_ptr(), path.as_ptr()]
            .into_iter()
            .chain(argv.iter().skip(1).map(|a| a.as_ptr()))
            .chain([std::ptr::null()])
            .collect(),
        Err(_) => Vec::new(),
    };
    let name = opts.command[0].to_string_lossy().into_owned();
    // Written before the fork: the relays' threads may hold the allocator's lock.
    let not_found = format!("srt: {name}: command not found\n");
    let denied = format!("srt: {name}: Permission denied\n");
    let cannot = format!("srt: {name}: cannot execute\n");
    // SAFETY: from the fork to the exec the child calls only async-signal-safe
    // functions on what was prepared above (no allocation, no lock).
    let child = unsafe { libc::fork() };
    if child < 0 {
        return fail(&format!("fork: {}", std::io::Error::last_os_error()));
    }
    if child == 0 {
        unsafe {
            if let Some(fd) = tty_fd {
                // The command gets its own process group, in the terminal's foreground,
                // so job control works and ^C reaches it rather than us.
                libc::setpgid(0, 0);
                // From a background group tcsetpgrp raises SIGTTOU: ignore it for the call.
                libc::signal(libc::SIGTTOU, libc::SIG_IGN);
                libc::tcsetpgrp(fd, libc::getpid());
                libc::signal(libc::SIGTTOU, libc::SIG_DFL);
            }
            libc::close(sfd);
            libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            // A session keyring of its own: the caller's keys stay out of reach
            // (the filter below refuses the keyring calls as well).
            libc::syscall(libc::SYS_keyctl, libc::KEYCTL_JOIN_SESSION_KEYRING, std::ptr::null::<libc::c_char>());
            for filter in &filters {
                if crate::seccomp::apply(filter).is_err() {
                    let msg = b"srt: sandbox helper: cannot apply the seccomp filter\n";
                    libc::write(2, msg.as_ptr().cast(), msg.len());
                    libc::_exit(1);
                }
            }
            let err = match &program {
                Ok(path) => {
                    libc::execv(path.as_ptr(), ptrs.as_ptr());
                    if *libc::__errno_location() == libc::ENOEXEC {
                        libc::execv(sh_argv[0], sh_argv.as_ptr());
                    }
                    *libc::__errno_location()
                }
                Err(e) => *e,
            };
            let (msg, code) = match err {
                libc::ENOENT => (&not_found, 127),
                libc::EACCES => (&denied, 126),
                _ => (&cannot, 126),
            };
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(code);
        }
    }
    let status = supervise(&signals, child, opts.tty);
    match relays.finish() {
        // Output lost (a full disk): not a success, as the command's own failed write would not be.
        Some(e) => {
            fail(&format!("the command's output could not all be written: {e}"));
            if status == 0 {
                1
            } else {
                status
            }
        }
        None => status,
    }
}

/// Waits for the command while forwarding signals and reaping orphans.
fn supervise(signals: &nix::sys::signalfd::SignalFd, child: libc::pid_t, tty: bool) -> i32 {
    use nix::sys::signal::{kill, Signal};
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    use nix::unistd::{getpgid, Pid};
    let send = |target: libc::pid_t, signo: libc::c_int| {
        if let Ok(signal) = Signal::try_from(signo) {
            let _ = kill(Pid::from_raw(target), signal);
        }
    };
    loop {
        let signo = match signals.read_signal() {
            Ok(Some(info)) => info.ssi_signo as libc::c_int,
            Ok(None) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return fail("reading signals failed"),
        };
        if signo != libc::SIGCHLD {
            // In terminal mode the command leads its own process group: signal the group,
            // as a terminal would. Otherwise signal the command itself.
            send(if tty { -child } else { child }, signo);
            continue;
        }
        loop {
            // Any child, without blocking, and seeing the command stop.
            let status = match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(status) => status,
            };
            match status {
                WaitStatus::Stopped(pid, sig) if pid.as_raw() == child => {
                    // Nothing outside can resume a command stopped in here (^Z,
                    // SIGSTOP), and srt would wait for it forever with the
                    // terminal raw: so it goes on at once. Job control inside
                    // the sandbox (a shell's own jobs) is unaffected.
                    let group = getpgid(Some(pid)).map_or(-1, Pid::as_raw);
                    // Its own group, in terminal mode: never ours (pid 1's, which
                    // as a target would mean every process in the sandbox).
                    let own_group = tty && group > 0 && Ok(group) != getpgid(None).map(Pid::as_raw);
                    if own_group && (sig == Signal::SIGTTIN || sig == Signal::SIGTTOU) {
                        // Stopped for touching the terminal from the background:
                        // continued as it is, it would only stop again. Its group
                        // gets the terminal first.
                        give_terminal_to(group);
                    }
                    send(if own_group { -group } else { child }, libc::SIGCONT);
                }
                WaitStatus::Exited(pid, code) if pid.as_raw() == child => return code,
                WaitStatus::Signaled(pid, sig, _) if pid.as_raw() == child => return 128 + sig as i32,
                _ => {}
            }
        }
    }
}

/// The standard descriptor that is a terminal, if one is.
fn standard_terminal() -> Option<libc::c_int> {
    (0..3).find(|fd| nix::unistd::isatty(crate::sys::standard(*fd)).unwrap_or(false))
}

/// Makes `group` the foreground process group of the sandbox's terminal.
fn give_terminal_to(group: libc::pid_t) {
    if let Some(fd) = standard_terminal() {
        crate::sys::set_foreground_group(crate::sys::standard(fd), group);
    }
}

/// Checks the sandbox against srt's plan (see `launch::mount_expectations`):
/// each planned mount point carries at least its planned mounts, and each
/// visible bind shows the identity its source had when srt planned it.
fn verify_mounts(fd: std::os::fd::OwnedFd) -> Result<(), String> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let mut bytes = Vec::new();
    std::fs::File::from(fd).read_to_end(&mut bytes).map_err(|e| format!("reading the plan: {e}"))?;
    let mounts = std::fs::read("/proc/self/mountinfo").map_err(|e| format!("reading mountinfo: {e}"))?;
    let counts = crate::sandbox::linux::mountinfo::mount_point_counts(&mounts);
    let seen = |path: &Path| {
        std::fs::symlink_metadata(path).map(|m| Seen { dev: m.dev(), ino: m.ino(), link: m.file_type().is_symlink() })
    };
    judge(&crate::helper_protocol::decode_checks(&bytes)?, &counts, &seen)
}

/// What the sandbox shows at a path.
struct Seen {
    dev: u64,
    ino: u64,
    link: bool,
}

/// Judges the checks against the sandbox: `counts`, its mounts by mount
/// point (from mountinfo); `seen`, what a path shows.
fn judge(
    checks: &[MountCheck],
    counts: &std::collections::BTreeMap<Vec<u8>, usize>,
    seen: &dyn Fn(&Path) -> std::io::Result<Seen>,
) -> Result<(), String> {
    for check in checks {
        match check {
            MountCheck::Mounts { at_least, path } => {
                let found = counts.get(path.as_os_str().as_bytes()).copied().unwrap_or(0) as u64;
                if found < *at_least {
                    return Err(format!("{} has {found} mount(s) where {at_least} were planned", path.display()));
                }
            }
            MountCheck::Identity { dev, ino, path } => {
                let now = seen(path).map_err(|e| format!("{}: {e}", path.display()))?;
                if now.link || now.dev != *dev || now.ino != *ino {
                    return Err(format!("{} does not show what was planned there", path.display()));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod judge_tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    #[test]
    fn a_sandbox_passes_only_with_every_planned_mount_and_the_planned_files() {
        let counts: BTreeMap<Vec<u8>, usize> = [(b"/w".to_vec(), 2), (b"/w/.git/hooks".to_vec(), 1)].into();
        let seen = |p: &Path| match p.to_str() {
            Some("/w/.git/hooks") => Ok(Seen { dev: 8, ino: 42, link: false }),
            Some("/w/.bashrc") => Ok(Seen { dev: 8, ino: 7, link: true }),
            _ => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
        };
        let mounts = |n, p: &str| MountCheck::Mounts { at_least: n, path: PathBuf::from(p) };
        let identity = |ino, p: &str| MountCheck::Identity { dev: 8, ino, path: PathBuf::from(p) };
        assert_eq!(
            judge(&[mounts(2, "/w"), mounts(1, "/w/.git/hooks"), identity(42, "/w/.git/hooks")], &counts, &seen),
            Ok(())
        );
        // A mount that did not happen, a bind that shows another file, a link
        // where a file was planned, a path gone: each refuses the command.
        for (check, why) in [
            (mounts(3, "/w"), "/w has 2 mount(s) where 3 were planned"),
            (mounts(1, "/w/.claude"), "/w/.claude has 0 mount(s)"),
            (identity(43, "/w/.git/hooks"), "does not show what was planned"),
            (identity(7, "/w/.bashrc"), "does not show what was planned"),
            (identity(1, "/w/gone"), "/w/gone: "),
        ] {
            let e = judge(&[check], &counts, &seen).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }
}

#[cfg(test)]
mod cwd_tests {
    use super::cwd_verdict;
    use std::path::Path;

    #[test]
    fn a_library_line_runs_where_planned_below_it_or_where_nothing_is_writable() {
        let planned = Path::new("/w/proj");
        assert!(cwd_verdict(Path::new("/w/proj"), planned, true).is_ok());
        assert!(cwd_verdict(Path::new("/w/proj/src"), planned, true).is_ok());
        assert!(cwd_verdict(Path::new("/etc"), planned, false).is_ok());
        let e = cwd_verdict(Path::new("/w/other"), planned, true).unwrap_err();
        assert!(e.contains("made for /w/proj and is run in /w/other"), "{e}");
        assert!(cwd_verdict(Path::new("/w/projection"), planned, true).is_err(), "a sibling with the same prefix");
    }
}
