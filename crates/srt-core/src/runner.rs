//! Host side of one sandboxed run: start bubblewrap with the caller's
//! standard streams (or a pseudo-terminal when the caller is interactive),
//! learn the helper's pid, forward signals to it, and return the exit status.
//!
//! Everything here blocks: call it from a thread that lives until it returns,
//! because bubblewrap's --die-with-parent watches the thread that spawned it.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::Arc;

use nix::sys::termios::Termios;

pub use crate::run_control::{HostStdio, RunControl};

/// How a run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// The command's status: its exit code, or 128+N for death by signal N.
    Exited(i32),
    /// bubblewrap ended without starting the sandbox (its message is on stderr).
    SetupFailed(i32),
}

/// The descriptors srt hands bubblewrap and the helper (see `helper_protocol`).
pub use crate::helper_protocol::{BRIDGE_FD, EXPECT_FD, INFO_FD, READY_FD};

/// The descriptor bubblewrap reads its options from, when they are too many
/// for a command line (`--args`).
pub const ARGS_FD: RawFd = 4;

/// Above this many bytes the options go through `--args`: the kernel's
/// limit for arguments and environment together is a quarter of the stack
/// limit (2 MiB by default); half of it, at most 256 KiB, leaves room for
/// any environment.
pub fn command_line_budget() -> usize {
    let arg_max = nix::unistd::sysconf(nix::unistd::SysconfVar::ARG_MAX).ok().flatten();
    let arg_max = arg_max.filter(|m| *m > 0).map_or(128 * 1024, |m| m as usize);
    (arg_max / 2).min(256 * 1024)
}

/// Splits a bubblewrap command line that would be too long: the options
/// before `--` go NUL-separated into a payload read through `--args`.
pub fn fit_command_line(argv: &[OsString], budget: usize) -> (Vec<OsString>, Option<Vec<u8>>) {
    use std::os::unix::ffi::OsStrExt;
    let size: usize = argv.iter().map(|a| a.len() + 1).sum();
    let Some(split) = argv.iter().position(|a| a == "--") else { return (argv.to_vec(), None) };
    if size <= budget || split < 2 {
        return (argv.to_vec(), None);
    }
    let mut payload = Vec::with_capacity(size);
    for option in &argv[1..split] {
        payload.extend_from_slice(option.as_bytes());
        payload.push(0);
    }
    let mut line = vec![argv[0].clone(), "--args".into(), ARGS_FD.to_string().into()];
    line.extend(argv[split..].iter().cloned());
    (line, Some(payload))
}

/// An unnamed in-memory file holding `bytes`, read from the start.
fn sealed_file(bytes: &[u8]) -> io::Result<OwnedFd> {
    use nix::sys::memfd::{memfd_create, MFdFlags};
    let mut file = std::fs::File::from(memfd_create(c"srt-bwrap-args", MFdFlags::MFD_CLOEXEC)?);
    std::io::Write::write_all(&mut file, bytes)?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0))?;
    Ok(OwnedFd::from(file))
}

/// Whether the run gets a pseudo-terminal: any of the caller's streams is a
/// terminal. The command then never touches the caller's terminal itself
/// (its settings, or keystrokes pushed into it).
pub fn wants_tty(stdio: &HostStdio) -> bool {
    [&stdio.stdin, &stdio.stdout, &stdio.stderr].into_iter().any(isatty)
}

/// What puts bubblewrap, and so the whole sandbox, under its limits
/// before it can start anything (see `limits`).
#[derive(Default)]
pub struct Confinement {
    /// `cgroup.procs` files bubblewrap writes itself into before its exec.
    pub procs: Vec<OwnedFd>,
    /// A command that starts bubblewrap in a limited scope (systemd-run).
    pub prefix: Vec<OsString>,
}

/// The sandbox to start: bubblewrap's argv, what its helper checks, and
/// what limits it.
pub struct Start<'a> {
    pub argv: &'a [OsString],
    pub expectations: &'a [u8],
    pub confinement: &'a Confinement,
}

/// Runs bubblewrap with its arguments and waits for it.
/// `until_started` is dropped once the sandbox is set up (its helper says so
/// on the ready descriptor) or bubblewrap ended without getting there.
pub fn run(
    start: Start<'_>,
    stdio: HostStdio,
    tty: bool,
    control: &Arc<RunControl>,
    until_started: Box<dyn Send>,
    bridge: Option<OwnedFd>,
) -> io::Result<RunOutcome> {
    let (info_read, info_write) = pipe()?;
    let (ready_read, ready_write) = pipe()?;
    let (argv, payload) = fit_command_line(start.argv, command_line_budget());
    let args_file = payload.map(|bytes| sealed_file(&bytes)).transpose()?;
    // bubblewrap, or what starts it in a limited scope and then bubblewrap.
    let line: Vec<&OsString> = start.confinement.prefix.iter().chain(&argv).collect();
    let mut cmd = Command::new(line[0]);
    cmd.args(&line[1..]);
    // Its own process group: a ^C typed at the caller's terminal reaches srt,
    // which forwards it to the command, instead of killing bubblewrap.
    cmd.process_group(0);
    let mut terminal = None;
    if tty {
        let t = Terminal::open(&stdio)?;
        let slave = || t.slave.try_clone();
        cmd.stdin(Stdio::from(if isatty(&stdio.stdin) { slave()? } else { stdio.stdin.try_clone()? }));
        cmd.stdout(Stdio::from(if isatty(&stdio.stdout) { slave()? } else { stdio.stdout.try_clone()? }));
        cmd.stderr(Stdio::from(if isatty(&stdio.stderr) { slave()? } else { stdio.stderr.try_clone()? }));
        terminal = Some(t);
    } else {
        cmd.stdin(Stdio::from(stdio.stdin.try_clone()?));
        cmd.stdout(Stdio::from(stdio.stdout.try_clone()?));
        cmd.stderr(Stdio::from(stdio.stderr.try_clone()?));
    }
    let expect_file = sealed_file(start.expectations)?;
    let mut passed = vec![
        (info_write.as_raw_fd(), INFO_FD),
        (ready_write.as_raw_fd(), READY_FD),
        (expect_file.as_raw_fd(), EXPECT_FD),
    ];
    if let Some(file) = &args_file {
        passed.push((file.as_raw_fd(), ARGS_FD));
    }
    if let Some(channel) = &bridge {
        passed.push((channel.as_raw_fd(), BRIDGE_FD));
    }
    let parent = nix::unistd::getpid().as_raw();
    let descriptor_limit = crate::descriptor_limit::for_the_command();
    let cgroups: Vec<RawFd> = start.confinement.procs.iter().map(AsRawFd::as_raw_fd).collect();
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Into the sandbox's cgroups first, before anything it starts, and
            // before the moves below can close these descriptors.
            for fd in &cgroups {
                if libc::write(*fd, b"0".as_ptr().cast(), 1) != 1 {
                    return Err(io::Error::last_os_error());
                }
            }
            // Each passed descriptor to its number, by way of a copy above
            // them all, so one move cannot overwrite the next one's source.
            let mut high = [0; 5];
            for (i, (from, _)) in passed.iter().enumerate() {
                high[i] = libc::fcntl(*from, libc::F_DUPFD_CLOEXEC, 16);
                if high[i] < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            for (i, (_, to)) in passed.iter().enumerate() {
                if libc::dup2(high[i], *to) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            // A clean signal state: nothing blocked, SIGPIPE back to default
            // (Rust and Node both ignore it, and ignoring survives exec).
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            // The command's descriptor limit is the one srt was given, not the
            // one srt raised for its tunnels.
            if let Some((soft, hard)) = descriptor_limit {
                let limit = libc::rlimit { rlim_cur: soft, rlim_max: hard };
                libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            }
            // bubblewrap dies with us even if we die before it could arrange that itself.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let raw_mode = match &terminal {
        Some(t) if isatty(&stdio.stdin) => RawMode::enter(stdio.stdin.try_clone()?).map(|(mode, early)| {
            // What the caller's terminal held before it went raw, on to the
            // sandbox's terminal (where the command will read it).
            let _ = std::fs::File::from(t.master.try_clone()?).write_all(&early);
            Ok::<_, io::Error>(mode)
        }),
        _ => None,
    }
    .transpose()?;
    let mut child = cmd.spawn()?;
    drop(cmd);
    drop(info_write);
    drop(ready_write);
    // Only bubblewrap's copy stays open: srt sees the end when the sandbox ends.
    drop(bridge);
    let started = std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        let _ = std::fs::File::from(ready_read).read(&mut byte);
        drop(until_started);
    });
    if let Some(t) = &terminal {
        control.follow_window_of(t.master.as_raw_fd());
    }
    let reader = {
        let control = Arc::clone(control);
        std::thread::spawn(move || read_info(info_read, &control))
    };
    let relay = match terminal {
        Some(t) => Some(t.start_relay(&stdio)?),
        None => None,
    };
    let status = loop {
        match child.wait() {
            Ok(s) => break s,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    {
        control.finish();
    }
    if let Some(r) = relay {
        r.finish();
    }
    drop(raw_mode);
    let _ = reader.join();
    let _ = started.join();
    let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    if control.helper_known() {
        Ok(RunOutcome::Exited(code))
    } else {
        Ok(RunOutcome::SetupFailed(code))
    }
}

/// Reads bubblewrap's `--info-fd` JSON, and reports the sandbox's first
/// process as soon as it is named. Reads on to the end: closing early would
/// kill bubblewrap with SIGPIPE on its next write there.
fn read_info(pipe: OwnedFd, control: &RunControl) {
    let mut file = std::fs::File::from(pipe);
    let mut text = String::new();
    let mut buf = [0u8; 512];
    let mut reported = false;
    loop {
        match file.read(&mut buf) {
            Ok(0) => return,
            Ok(n) if !reported => text.push_str(&String::from_utf8_lossy(&buf[..n])),
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
        if let Some(pid) = parse_child_pid(&text) {
            control.set_helper(pid);
            reported = true;
        }
    }
}

/// `{ "child-pid": 1234 ... }` -> 1234, once the number is complete.
pub fn parse_child_pid(text: &str) -> Option<i32> {
    let after = &text[text.find("\"child-pid\"")? + "\"child-pid\"".len()..];
    let after = after.trim_start().strip_prefix(':')?.trim_start();
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    let complete = after.len() > digits.len();
    if digits.is_empty() || !complete {
        return None;
    }
    digits.parse().ok()
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

fn isatty(fd: &OwnedFd) -> bool {
    nix::unistd::isatty(fd).unwrap_or(false)
}

/// The caller's terminal in raw mode for the length of the run, so every key
/// (^C, ^Z included) goes to the sandbox's own terminal.
struct RawMode {
    fd: OwnedFd,
    saved: Termios,
}

impl RawMode {
    /// Also returns the input the terminal held ready before: in canonical
    /// mode, an end-of-file (the caller's ^D, or `script` when its own input
    /// ends) waits in the line as a marker that raw mode would turn into a
    /// NUL byte. So complete lines are read out first, and an end-of-file
    /// becomes the sandbox terminal's own end-of-file character.
    fn enter(fd: OwnedFd) -> Option<(Self, Vec<u8>)> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, LocalFlags, SetArg, SpecialCharacterIndices};
        let saved = tcgetattr(&fd).ok()?;
        let mut early = Vec::new();
        if saved.local_flags.contains(LocalFlags::ICANON) {
            let eof = saved.control_chars[SpecialCharacterIndices::VEOF as usize];
            let mut buf = [0u8; 4096];
            loop {
                let mut pfd = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
                let ready = poll(&mut pfd, PollTimeout::ZERO) == Ok(1)
                    && pfd[0].revents().is_some_and(|r| r.contains(PollFlags::POLLIN));
                if !ready {
                    break;
                }
                match nix::unistd::read(&fd, &mut buf) {
                    Err(_) => break,
                    Ok(0) => {
                        early.push(if eof == 0 { 4 } else { eof });
                        break;
                    }
                    Ok(n) => early.extend_from_slice(&buf[..n]),
                }
            }
        }
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(&fd, SetArg::TCSADRAIN, &raw).ok()?;
        Some((Self { fd, saved }, early))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = nix::sys::termios::tcsetattr(&self.fd, nix::sys::termios::SetArg::TCSADRAIN, &self.saved);
    }
}

/// A pseudo-terminal for the sandbox: the command gets a real terminal with
/// job control, and cannot inject keystrokes into the caller's (TIOCSTI).
struct Terminal {
    master: OwnedFd,
    slave: OwnedFd,
}

impl Terminal {
    fn open(stdio: &HostStdio) -> io::Result<Self> {
        use nix::fcntl::{fcntl, FcntlArg, FdFlag};
        let host =
            [&stdio.stdin, &stdio.stdout, &stdio.stderr].into_iter().find(|fd| isatty(fd)).unwrap_or(&stdio.stdin);
        // The caller's terminal settings and size, where it has them.
        let term = nix::sys::termios::tcgetattr(host).ok();
        let ws = crate::sys::window_size(host.as_raw_fd());
        let pty = nix::pty::openpty(ws.as_ref(), term.as_ref())?;
        for end in [&pty.master, &pty.slave] {
            fcntl(end, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        }
        Ok(Self { master: pty.master, slave: pty.slave })
    }

    /// Copies keys to the sandbox and its output back, until told to finish.
    fn start_relay(self, stdio: &HostStdio) -> io::Result<Relay> {
        let (wake_read, wake_write) = pipe()?;
        // Keys come from stdin if it is the terminal; output goes back to the terminal.
        let input = if isatty(&stdio.stdin) { Some(stdio.stdin.try_clone()?) } else { None };
        let output = if isatty(&stdio.stdout) { stdio.stdout.try_clone()? } else { stdio.stderr.try_clone()? };
        drop(self.slave);
        let master = self.master;
        let handle = std::thread::spawn(move || relay_loop(&master, &input, &output, &wake_read));
        Ok(Relay { wake: wake_write, handle })
    }
}

struct Relay {
    wake: OwnedFd,
    handle: std::thread::JoinHandle<()>,
}

impl Relay {
    /// Drains what the sandbox still wrote, then stops.
    fn finish(self) {
        let _ = nix::unistd::write(&self.wake, b"x");
        let _ = self.handle.join();
    }
}

/// Writes all of `data`; false when the other side is gone.
fn write_all(fd: &OwnedFd, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
    true
}

fn relay_loop(master: &OwnedFd, input: &Option<OwnedFd>, output: &OwnedFd, wake: &OwnedFd) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut buf = vec![0u8; 16 * 1024];
    let mut input_open = input.is_some();
    let mut finishing = false;
    let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
    loop {
        let mut fds =
            vec![PollFd::new(master.as_fd(), PollFlags::POLLIN), PollFd::new(wake.as_fd(), PollFlags::POLLIN)];
        if let (true, Some(input)) = (input_open, input) {
            fds.push(PollFd::new(input.as_fd(), PollFlags::POLLIN));
        }
        // After the command ended, only drain what is already buffered.
        let timeout = if finishing { PollTimeout::ZERO } else { PollTimeout::NONE };
        let n = match poll(&mut fds, timeout) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        };
        if n == 0 && finishing {
            return;
        }
        let (from_sandbox, woken, keys) = (ready(&fds[0]), ready(&fds[1]), fds.get(2).is_some_and(ready));
        drop(fds);
        if from_sandbox {
            match nix::unistd::read(master, &mut buf) {
                // EIO: every holder of the other side is gone.
                Ok(0) | Err(_) => return,
                Ok(r) => {
                    if !write_all(output, &buf[..r]) {
                        return;
                    }
                }
            }
        }
        if woken {
            finishing = true;
        }
        if let (true, Some(input)) = (keys, input) {
            match nix::unistd::read(input, &mut buf) {
                Ok(0) | Err(_) => input_open = false,
                Ok(r) => {
                    if !write_all(master, &buf[..r]) {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_child_pid;

    #[test]
    fn long_command_lines_move_their_options_to_an_args_file() {
        use std::ffi::OsString;
        let short: Vec<OsString> = ["bwrap", "--ro-bind", "/", "/", "--", "sh"].iter().map(OsString::from).collect();
        assert_eq!(super::fit_command_line(&short, 1024), (short.clone(), None));
        let mut long: Vec<OsString> = vec!["bwrap".into()];
        for i in 0..20_000 {
            long.extend(["--ro-bind".into(), "/dev/null".into(), OsString::from(format!("/some/long/path/{i}"))]);
        }
        long.extend(["--".into(), "helper".into(), "arg".into()]);
        let (line, payload) = super::fit_command_line(&long, 256 * 1024);
        let shown: Vec<String> = line.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(shown, ["bwrap", "--args", "4", "--", "helper", "arg"]);
        let payload = payload.expect("a payload");
        assert!(payload.starts_with(b"--ro-bind\0/dev/null\0/some/long/path/0\0"));
        assert!(payload.ends_with(b"/some/long/path/19999\0"));
    }

    #[test]
    fn child_pid_from_info_json() {
        assert_eq!(parse_child_pid("{\n    \"child-pid\": 4242,\n    \"ns\": 1\n}"), Some(4242));
        assert_eq!(parse_child_pid("{\"child-pid\":7}"), Some(7));
        assert_eq!(parse_child_pid("{\"child-pid\": 42"), None, "the number may continue");
        assert_eq!(parse_child_pid("{\"other\": 1}"), None);
    }
}
