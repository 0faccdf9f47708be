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
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::thread::JoinHandle;

/// What to do with one standard stream.
#[derive(Debug, PartialEq, Eq)]
enum Treatment {
    Keep,
    Null,
    Relay,
}

fn treatment(fd: RawFd) -> Treatment {
    // SAFETY: fstat into a zeroed struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Treatment::Keep; // closed: nothing to reopen
    }
    match st.st_mode & libc::S_IFMT {
        libc::S_IFIFO | libc::S_IFSOCK => Treatment::Keep,
        libc::S_IFDIR => Treatment::Null,
        // SAFETY: isatty on a descriptor we hold.
        libc::S_IFCHR if unsafe { libc::isatty(fd) } == 1 => Treatment::Keep,
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
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the array on success; both descriptors are ours.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A close-on-exec copy of `fd` (the original number is about to be reused).
fn keep_copy(fd: RawFd) -> io::Result<File> {
    // SAFETY: duplicating a descriptor we hold.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if copy < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { File::from_raw_fd(copy) })
}

fn put_at(from: &OwnedFd, to: RawFd) -> io::Result<()> {
    // SAFETY: dup2 onto a standard descriptor number.
    if unsafe { libc::dup2(from.as_raw_fd(), to) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Same file (device and inode) behind two descriptors: stdout and stderr
/// sent to one file share one pipe, which keeps their order.
fn same_file(a: RawFd, b: RawFd) -> bool {
    // SAFETY: fstat into zeroed structs.
    let mut x: libc::stat = unsafe { std::mem::zeroed() };
    let mut y: libc::stat = unsafe { std::mem::zeroed() };
    unsafe {
        libc::fstat(a, &mut x) == 0 && libc::fstat(b, &mut y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }
}

/// Puts a pipe in place of every standard stream that needs one and starts
/// its pump. Call before the command is started; it inherits the pipes.
pub fn shield() -> io::Result<Relays> {
    let mut relays = Relays { stop: None, outputs: Vec::new() };
    match treatment(0) {
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
        match treatment(fd) {
            Treatment::Keep => {}
            Treatment::Null => put_at(&OwnedFd::from(File::options().write(true).open("/dev/null")?), fd)?,
            Treatment::Relay => {
                if let Some((ref write, target)) = shared_with_stdout {
                    if fd == 2 && same_file(2, target) {
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
                let target_fd = target.as_raw_fd();
                relays.outputs.push(
                    std::thread::Builder::new()
                        .name("srt-output".into())
                        .spawn(move || pump_output(File::from(read), target, stop))?,
                );
                if fd == 1 {
                    shared_with_stdout = Some((write, target_fd));
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
            // SAFETY: a one-byte write to our own pipe.
            unsafe { libc::write(write.as_raw_fd(), b"x".as_ptr().cast(), 1) };
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
            let mut fds = [
                libc::pollfd { fd: pipe.as_raw_fd(), events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: stop.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            ];
            // SAFETY: poll on two descriptors we hold.
            if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
                continue;
            }
            if fds[1].revents != 0 {
                stopping = true;
                // From here on, read only what is already there.
                unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
            }
            if fds[0].revents == 0 {
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
        assert_eq!(treatment(file.as_raw_fd()), Treatment::Relay);
        let dir = File::open("/").unwrap();
        assert_eq!(treatment(dir.as_raw_fd()), Treatment::Null);
        let null = File::open("/dev/null").unwrap();
        assert_eq!(treatment(null.as_raw_fd()), Treatment::Keep);
        let zero = File::open("/dev/zero").unwrap();
        assert_eq!(treatment(zero.as_raw_fd()), Treatment::Relay);
        let (r, _w) = pipe().unwrap();
        assert_eq!(treatment(r.as_raw_fd()), Treatment::Keep);
    }
}
