//! The command's standard streams, made safe to hand over.
//!
//! A standard stream that is a file, a directory or a device is an open file
//! on the host's mounts, not the sandbox's: through `/proc/self/fd/N` the
//! command could reopen it with other rights (write to a file given as
//! input) or walk a directory from it, past every mount of the sandbox. So
//! such a stream reaches the command through a pipe instead, pumped by a
//! thread of the helper (pid 1, not dumpable: the command cannot reach its
//! descriptors), and a directory is replaced by `/dev/null` (reading one
//! fails anyway). Pipes, sockets, terminals and `/dev/null` pass unchanged:
//! reopening them gives nothing new.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::thread::JoinHandle;

/// What to do with one standard stream.
#[derive(Debug, PartialEq, Eq)]
enum Treatment {
    Keep,
    Null,
    Relay,
}

fn treatment(fd: BorrowedFd<'_>) -> Treatment {
    let Ok(st) = nix::sys::stat::fstat(fd) else {
        return Treatment::Keep; // closed: nothing to reopen
    };
    match st.st_mode & libc::S_IFMT {
        libc::S_IFIFO | libc::S_IFSOCK => Treatment::Keep,
        libc::S_IFDIR => Treatment::Null,
        libc::S_IFCHR if nix::unistd::isatty(fd).unwrap_or(false) => Treatment::Keep,
        libc::S_IFCHR if st.st_rdev == libc::makedev(1, 3) => Treatment::Keep,
        _ => Treatment::Relay,
    }
}

/// The pumps of the relayed streams; [`Relays::finish`] flushes them.
pub struct Relays {
    /// Written to when the command has ended: the output pumps drain and stop.
    stop: Option<(OwnedFd, OwnedFd)>,
    outputs: Vec<JoinHandle<Option<io::Error>>>,
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

/// A close-on-exec copy of a standard stream (its number is about to be reused).
fn keep_copy(fd: RawFd) -> io::Result<File> {
    Ok(File::from(crate::sys::standard(fd).try_clone_to_owned()?))
}

/// Puts `from` at the standard descriptor `to`.
fn put_at(from: &OwnedFd, to: RawFd) -> io::Result<()> {
    let put = match to {
        0 => nix::unistd::dup2_stdin(from),
        1 => nix::unistd::dup2_stdout(from),
        _ => nix::unistd::dup2_stderr(from),
    };
    Ok(put?)
}

/// The file (device and inode) behind a descriptor: stdout and stderr sent
/// to one file share one pipe, which keeps their order.
fn identity(fd: BorrowedFd<'_>) -> Option<(u64, u64)> {
    nix::sys::stat::fstat(fd).ok().map(|st| (st.st_dev, st.st_ino))
}

/// Puts a pipe in place of every standard stream that needs one and starts
/// its pump. Call before the command is started; it inherits the pipes.
pub fn shield() -> io::Result<Relays> {
    let mut relays = Relays { stop: None, outputs: Vec::new() };
    match treatment(crate::sys::standard(0)) {
        Treatment::Keep => {}
        Treatment::Null => put_at(&OwnedFd::from(File::options().read(true).write(true).open("/dev/null")?), 0)?,
        Treatment::Relay => {
            let source = keep_copy(0)?;
            let (read, write) = pipe()?;
            put_at(&read, 0)?;
            let sink = File::from(write);
            std::thread::Builder::new().name("srt-stdin".into()).spawn(move || pump_input(source, sink))?;
        }
    }
    let mut shared_with_stdout = None;
    for fd in [1, 2] {
        match treatment(crate::sys::standard(fd)) {
            Treatment::Keep => {}
            Treatment::Null => put_at(&OwnedFd::from(File::options().write(true).open("/dev/null")?), fd)?,
            Treatment::Relay => {
                if let Some((ref write, target)) = shared_with_stdout {
                    if fd == 2 && identity(crate::sys::standard(2)).is_some_and(|id| Some(id) == target) {
                        put_at(write, 2)?;
                        continue;
                    }
                }
                if relays.stop.is_none() {
                    relays.stop = Some(pipe()?);
                }
                let target = keep_copy(fd)?;
                let (read, write) = pipe()?;
                put_at(&write, fd)?;
                let stop = relays.stop.as_ref().map(|(r, _)| r.try_clone()).transpose()?.expect("made above");
                let target_id = identity(target.as_fd());
                relays.outputs.push(
                    std::thread::Builder::new()
                        .name("srt-output".into())
                        .spawn(move || pump_output(File::from(read), target, stop))?,
                );
                if fd == 1 {
                    shared_with_stdout = Some((write, target_id));
                }
            }
        }
    }
    Ok(relays)
}

impl Relays {
    /// The command has ended: pass on what it wrote, then stop. Returns why
    /// some of its output could not be written, if it could not.
    pub fn finish(self) -> Option<io::Error> {
        if let Some((_, write)) = &self.stop {
            let _ = nix::unistd::write(write, b"x");
        }
        let mut failed = None;
        for pump in self.outputs {
            if let Ok(Some(e)) = pump.join() {
                failed.get_or_insert(e);
            }
        }
        failed
    }
}

fn pump_input(mut source: File, mut sink: File) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match source.read(&mut buf) {
            Ok(0) => return, // end of input: dropping the sink ends the command's stdin
            Ok(n) => {
                if sink.write_all(&buf[..n]).is_err() {
                    return; // the command closed its stdin
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Copies the pipe to the file until every writer is gone, or until told to
/// stop, then drains what is left. On a write error (a full disk) it stops
/// reading: the command's next writes fail (EPIPE) as the file's would have,
/// and the error is returned for the helper to report.
fn pump_output(mut pipe: File, mut target: File, stop: OwnedFd) -> Option<io::Error> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut stopping = false;
    loop {
        if !stopping {
            use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
            let mut fds = [PollFd::new(pipe.as_fd(), PollFlags::POLLIN), PollFd::new(stop.as_fd(), PollFlags::POLLIN)];
            if poll(&mut fds, PollTimeout::NONE).is_err() {
                continue;
            }
            let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
            let (data, stop_now) = (ready(&fds[0]), ready(&fds[1]));
            if stop_now {
                stopping = true;
                // From here on, read only what is already there.
                let _ = nix::fcntl::fcntl(&pipe, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK));
            }
            if !data {
                continue;
            }
        }
        match pipe.read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => {
                if let Err(e) = target.write_all(&buf[..n]) {
                    return Some(e);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None, // drained (or broken)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_relayed() {
        let file = File::open("/etc/hostname").or_else(|_| File::open("/etc/passwd")).unwrap();
        assert_eq!(treatment(file.as_fd()), Treatment::Relay);
        let dir = File::open("/").unwrap();
        assert_eq!(treatment(dir.as_fd()), Treatment::Null);
        let null = File::open("/dev/null").unwrap();
        assert_eq!(treatment(null.as_fd()), Treatment::Keep);
        let zero = File::open("/dev/zero").unwrap();
        assert_eq!(treatment(zero.as_fd()), Treatment::Relay);
        let (r, _w) = pipe().unwrap();
        assert_eq!(treatment(r.as_fd()), Treatment::Keep);
    }
}
