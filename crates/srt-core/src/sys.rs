//! The calls into the C library that no safe wrapper covers (nix covers the
//! rest), each behind a safe function with its SAFETY note. Outside this
//! module `unsafe` appears only in code that runs between `fork` and `exec`,
//! or in the helper's own pid-1 loop, where only async-signal-safe calls may
//! be made and each block says why it is sound.

use std::io;
#[cfg(target_os = "linux")]
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::fd::{BorrowedFd, RawFd};

/// The effective user id.
pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Fills `buf` with random bytes from the kernel.
#[cfg(not(target_os = "linux"))]
pub fn random_bytes(buf: &mut [u8]) -> io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

/// Fills `buf` with random bytes from the kernel.
#[cfg(target_os = "linux")]
pub fn random_bytes(buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: getrandom writes at most `rest.len()` bytes into `rest`, which we own.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        filled += n as usize;
    }
    Ok(())
}

/// `bytes` random bytes from the kernel, in hex (names and secrets).
pub fn random_hex(bytes: usize) -> io::Result<String> {
    let mut buf = vec![0u8; bytes];
    random_bytes(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(target_os = "linux")]
/// Reads directory entries (`getdents64` records) from `dir` into `buf`;
/// returns the bytes filled, 0 at the end.
pub fn getdents64(dir: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: getdents64 fills at most `buf.len()` bytes of the buffer we own,
    // from a descriptor the borrow keeps open.
    let n = unsafe { libc::syscall(libc::SYS_getdents64, dir.as_raw_fd(), buf.as_mut_ptr(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

#[cfg(target_os = "linux")]
/// A pidfd of this process; `None` where the kernel has none (before 5.3).
pub fn pidfd_of_self() -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    // SAFETY: a new descriptor pidfd_open just made, owned by no one else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

#[cfg(target_os = "linux")]
/// Takes ownership of descriptors a `recvmsg` just installed (`SCM_RIGHTS`).
/// Only for those: the kernel made them for this call, and nothing else holds them.
pub fn own_received(fds: Vec<RawFd>) -> Vec<OwnedFd> {
    // SAFETY: see above: each number is a fresh descriptor of ours alone.
    fds.into_iter().map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }).collect()
}

#[cfg(target_os = "linux")]
/// `fd` registered with the current tokio reactor for readiness to read.
pub fn watch_readable(fd: OwnedFd) -> io::Result<tokio::io::unix::AsyncFd<OwnedFd>> {
    use tokio::io::{unix::AsyncFd, Interest};
    // SAFETY: an OwnedFd keeps its descriptor open, and its number unchanged,
    // for as long as the AsyncFd holds it (until it is dropped).
    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(|e| e.into_parts().1)
}

#[cfg(target_os = "linux")]
/// Whether the next byte to read from `socket` is its urgent (out-of-band) mark.
pub fn at_urgent_mark(socket: BorrowedFd<'_>) -> bool {
    // The request's type is glibc's `unsigned long` and musl's `int`.
    const SIOCATMARK: libc::Ioctl = 0x8905;
    let mut at: libc::c_int = 0;
    // SAFETY: SIOCATMARK writes one int into `at`.
    unsafe { libc::ioctl(socket.as_raw_fd(), SIOCATMARK, &mut at) == 0 && at != 0 }
}

/// Waits until child `pid` has ended, without reaping it (`waitid` with
/// `WNOWAIT`): its pid stays this process's child until it is reaped.
pub fn wait_ended_unreaped(pid: libc::pid_t) -> io::Result<()> {
    loop {
        // SAFETY: `info` is a plain C struct waitid fills in; zeroed is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid writes only into `info`, which lives across the call.
        let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if r == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// The window size of the terminal at `fd`.
pub fn window_size(fd: RawFd) -> Option<libc::winsize> {
    // SAFETY: TIOCGWINSZ writes one winsize into our zeroed local. The number
    // is only looked up by the kernel: a stale one fails, or sizes the wrong
    // file; memory is never at stake.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(fd, libc::TIOCGWINSZ as _, &mut ws) == 0).then_some(ws)
    }
}

/// Sets the window size of the terminal at `fd`.
pub fn set_window_size(fd: RawFd, ws: &libc::winsize) {
    // SAFETY: TIOCSWINSZ reads one winsize from `ws` (see `window_size`).
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ as _, ws) };
}

#[cfg(target_os = "linux")]
/// Makes the terminal at `fd` the controlling terminal of this session's leader.
pub fn take_controlling_terminal(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument and touches no memory of ours.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(target_os = "linux")]
/// Makes `group` the foreground process group of the terminal at `fd`. A
/// caller in a background group would get SIGTTOU for it: ignored for the call.
pub fn set_foreground_group(fd: BorrowedFd<'_>, group: libc::pid_t) {
    // SAFETY: signal() swaps a disposition and puts the old one back; the
    // helper's threads (the relays) neither use SIGTTOU nor change it.
    unsafe {
        let old = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        let _ = nix::unistd::tcsetpgrp(fd, nix::unistd::Pid::from_raw(group));
        libc::signal(libc::SIGTTOU, old);
    }
}

#[cfg(target_os = "linux")]
/// A descriptor srt handed the helper at a number the protocol fixes (see
/// `helper_protocol`), borrowed; open until [`close_from`] closes it.
pub fn handed(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: srt opened this number for the helper before bubblewrap started
    // it, and nothing in the helper closes it before `close_from`.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

#[cfg(target_os = "linux")]
/// A descriptor srt handed the helper, taken over: the helper alone uses it.
pub fn take_handed(fd: RawFd) -> OwnedFd {
    // SAFETY: as for `handed`; taken over once, so closed once.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

#[cfg(target_os = "linux")]
/// Closes every descriptor from `lowest` up: the command gets nothing it was
/// not given, whatever the caller of srt leaked (the helper keeps nothing
/// open there that it still uses when it calls this).
pub fn close_from(lowest: u32) {
    // SAFETY: close_range takes integers; the descriptors it closes are no
    // longer used (see above).
    if unsafe { libc::syscall(libc::SYS_close_range, lowest, u32::MAX, 0u32) } == 0 {
        return;
    }
    // Kernels before 5.9: close what /proc lists.
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    for fd in fds.into_iter().filter(|fd| *fd >= lowest as RawFd) {
        // SAFETY: as above.
        unsafe { libc::close(fd) };
    }
}

/// One of the standard descriptors (0, 1, 2), borrowed for a call.
pub fn standard(fd: RawFd) -> BorrowedFd<'static> {
    assert!((0..3).contains(&fd), "not a standard descriptor: {fd}");
    // SAFETY: the standard descriptor numbers belong to the process for its
    // whole life; a closed one makes the call fail with EBADF, no more.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// The file the shared object holding the code at `address` (a function's
/// address, as a number) was loaded from (`dladdr`, which only looks the
/// address up).
pub fn object_file_of(address: usize) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: dladdr fills a zeroed Dl_info for an address in a loaded object;
    // dli_fname then points to a NUL-terminated string the loader keeps.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        if libc::dladdr(address as *const libc::c_void, &mut info) == 0 || info.dli_fname.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr(info.dli_fname);
        Some(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes())))
    }
}
