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

pub use crate::helper_protocol::SUBCOMMAND;
use crate::helper_protocol::{Channel, HelperArgs, MountCheck};

/// Signals the helper passes on to the command.
pub const FORWARDED: &[libc::c_int] =
    &[libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGUSR1, libc::SIGUSR2];

/// Whether the command could write the working directory: its mount is not
/// read-only, and its mode allows it or the command could change the mode
/// (the directory is its own, or it runs as root). A mode alone proves
/// nothing: `chmod u+w .` undoes it.
fn cwd_may_be_written() -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: statvfs and access on a static path, into a local struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c".".as_ptr(), &mut st) } != 0 {
        return true;
    }
    if st.f_flag & libc::ST_RDONLY != 0 {
        return false;
    }
    // SAFETY: as above; geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    let owner = std::fs::metadata(".").map(|m| m.uid()).unwrap_or(euid);
    let mode_allows = unsafe { libc::access(c".".as_ptr(), libc::W_OK) } == 0;
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
        let limit = libc::rlimit { rlim_cur: n as libc::rlim_t, rlim_max: n as libc::rlim_t };
        // SAFETY: setrlimit with a local struct.
        if unsafe { libc::setrlimit(libc::RLIMIT_NPROC, &limit) } != 0 {
            return fail(&format!("cannot limit processes: {}", std::io::Error::last_os_error()));
        }
    }
    // The standard stream that is the sandbox's terminal, when it has one.
    // SAFETY: isatty on the standard descriptors.
    let tty_fd = if opts.tty { (0..3).find(|fd| unsafe { libc::isatty(*fd) } == 1) } else { None };
    if let Some(fd) = tty_fd {
        // bwrap's --new-session made us a session leader: take the pty as our terminal.
        // SAFETY: plain ioctl on a standard descriptor.
        if unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) } != 0 {
            return fail(&format!("cannot take the terminal: {}", std::io::Error::last_os_error()));
        }
    }
    // Each bind must show what srt planned: a path swapped for a symlink
    // between planning and mounting would have moved a mount elsewhere.
    let checks = match &opts.channel {
        Some(Channel::Descriptors) => Some(Ok(crate::helper_protocol::EXPECT_FD)),
        Some(Channel::Paths { checks, .. }) => Some(
            std::fs::File::open(checks)
                .map(std::os::fd::IntoRawFd::into_raw_fd)
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
        // SAFETY: a one-byte write to a descriptor we were given.
        unsafe { libc::write(crate::helper_protocol::READY_FD, b"r".as_ptr().cast(), 1) };
    }
    close_inherited_descriptors();
    // Nothing inside may ptrace us or read our memory: we run unfiltered.
    // SAFETY: prctl on ourselves.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    let refuse = crate::seccomp::Refuse { unix_sockets: opts.block_unix_sockets, namespaces: !opts.allow_namespaces };
    let filters = match crate::seccomp::filters(refuse) {
        Ok(f) => f,
        Err(e) => return fail(&format!("cannot build the seccomp filter: {e}")),
    };

    // Block what we handle, so it is read from a signalfd instead of interrupting us.
    // SAFETY: sigset manipulation on a local set.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        for &s in FORWARDED {
            libc::sigaddset(&mut set, s);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old);
    }
    // SAFETY: creating a signalfd for the blocked set.
    let sfd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC) };
    if sfd < 0 {
        return fail(&format!("signalfd: {}", std::io::Error::last_os_error()));
    }

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
    // SAFETY: the child only calls async-signal-safe functions before exec.
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
    let status = supervise(sfd, child, opts.tty);
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
fn supervise(sfd: libc::c_int, child: libc::pid_t, tty: bool) -> i32 {
    loop {
        // SAFETY: reading one signalfd_siginfo into a zeroed buffer.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        let n = unsafe { libc::read(sfd, (&mut info as *mut libc::signalfd_siginfo).cast(), size) };
        if n != size as isize {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return fail("reading signals failed");
        }
        let signo = info.ssi_signo as libc::c_int;
        if signo != libc::SIGCHLD {
            // In terminal mode the command leads its own process group: signal the group,
            // as a terminal would. Otherwise signal the command itself.
            let target = if tty { -child } else { child };
            unsafe { libc::kill(target, signo) };
            continue;
        }
        loop {
            let mut status = 0;
            // SAFETY: reaping any child without blocking (and seeing the command stop).
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG | libc::WUNTRACED) };
            if pid <= 0 {
                break;
            }
            if pid == child && libc::WIFSTOPPED(status) {
                // Nothing outside can resume a command stopped in here (^Z,
                // SIGSTOP), and srt would wait for it forever with the
                // terminal raw: so it goes on at once. Job control inside
                // the sandbox (a shell's own jobs) is unaffected.
                // SAFETY: getpgid/kill on our own child (or its current group).
                let group = unsafe { libc::getpgid(child) };
                // Its own group, in terminal mode: never ours (pid 1's, which
                // as a target would mean every process in the sandbox).
                let own_group = tty && group > 0 && group != unsafe { libc::getpgid(0) };
                let sig = libc::WSTOPSIG(status);
                if own_group && (sig == libc::SIGTTIN || sig == libc::SIGTTOU) {
                    // Stopped for touching the terminal from the background:
                    // continued as it is, it would only stop again. Its group
                    // gets the terminal first.
                    give_terminal_to(group);
                }
                let target = if own_group { -group } else { child };
                unsafe { libc::kill(target, libc::SIGCONT) };
                continue;
            }
            if pid == child {
                if libc::WIFEXITED(status) {
                    return libc::WEXITSTATUS(status);
                }
                if libc::WIFSIGNALED(status) {
                    return 128 + libc::WTERMSIG(status);
                }
            }
        }
    }
}

/// Makes `group` the foreground process group of the sandbox's terminal.
fn give_terminal_to(group: libc::pid_t) {
    // SAFETY: isatty/tcsetpgrp on the standard descriptors; SIGTTOU, which a
    // background caller of tcsetpgrp gets, is ignored for the call.
    unsafe {
        if let Some(fd) = (0..3).find(|fd| libc::isatty(*fd) == 1) {
            let old = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
            libc::tcsetpgrp(fd, group);
            libc::signal(libc::SIGTTOU, old);
        }
    }
}

/// The command gets nothing it was not given: close every descriptor above 2,
/// whatever the caller of srt leaked into it.
fn close_inherited_descriptors() {
    // SAFETY: close_range on descriptors we do not use.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    if rc == 0 {
        return;
    }
    // Kernels before 5.9: close what /proc lists.
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    for fd in fds.into_iter().filter(|&fd| fd > 2) {
        unsafe { libc::close(fd) };
    }
}

/// Checks the sandbox against srt's plan (see `launch::mount_expectations`):
/// each planned mount point carries at least its planned mounts, and each
/// visible bind shows the identity its source had when srt planned it.
fn verify_mounts(fd: libc::c_int) -> Result<(), String> {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    use std::os::unix::fs::MetadataExt;
    // SAFETY: the descriptor was handed to us for this; we own it from here.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(|e| format!("reading the plan: {e}"))?;
    let mounts = std::fs::read("/proc/self/mountinfo").map_err(|e| format!("reading mountinfo: {e}"))?;
    let here = crate::sandbox::linux::mountinfo::mount_point_counts(&mounts);
    for check in crate::helper_protocol::decode_checks(&bytes)? {
        match check {
            MountCheck::Mounts { at_least, path } => {
                let found = here.get(path.as_os_str().as_bytes()).copied().unwrap_or(0) as u64;
                if found < at_least {
                    return Err(format!("{} has {found} mount(s) where {at_least} were planned", path.display()));
                }
            }
            MountCheck::Identity { dev, ino, path } => {
                let meta = std::fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                if meta.file_type().is_symlink() || meta.dev() != dev || meta.ino() != ino {
                    return Err(format!("{} does not show what was planned there", path.display()));
                }
            }
        }
    }
    Ok(())
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
