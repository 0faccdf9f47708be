//! Relaying between two TCP sockets with `splice`: the bytes move from one
//! socket's receive queue into a pipe and from the pipe into the other
//! socket's send queue, by page reference (less CPU than copying through a
//! buffer, measured on loopback). Linux only.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Mutex;

use tokio::io::Interest;
use tokio::net::TcpStream;

/// At most this much moves per splice call.
const SPLICE_CHUNK: usize = 1 << 20;

pub async fn relay_tcp(a: TcpStream, b: TcpStream) {
    let there = one_way(&a, &b);
    let back = one_way(&b, &a);
    tokio::pin!(there, back);
    let (mut there_done, mut back_done) = (false, false);
    while !(there_done && back_done) {
        tokio::select! {
            r = &mut there, if !there_done => {
                if r.is_err() { return; }
                there_done = true;
            }
            r = &mut back, if !back_done => {
                if r.is_err() { return; }
                back_done = true;
            }
        }
    }
}

/// A pipe: read end, write end, and whether it was enlarged.
struct Pipe(OwnedFd, OwnedFd, bool);

/// A few pipes are enlarged to 1 MiB (fewer, larger splices: faster bulk
/// transfers). Only a few: the pages count against the user's pipe budget
/// (`fs.pipe-user-pages-soft`), and past it every new pipe of the user's,
/// in the sandbox too, would shrink to one page.
const LARGE_PIPE: libc::c_int = 1 << 20;
const LARGE_PIPES: usize = 8;
static LARGE_LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// All pipes at once, idle or holding a stalled tunnel's bytes: beyond this,
/// tunnels copy instead (a command holding thousands of stalled tunnels
/// must not spend the user's pipe budget, shrinking every pipe of theirs).
const MAX_PIPES: usize = 128;
static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Drop for Pipe {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        if self.2 {
            LARGE_LIVE.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Empty pipes, shared by all tunnels: a tunnel holds one only while bytes
/// are in flight, so thousands of idle tunnels cost no pipes (a user's
/// pipes are limited: past `fs.pipe-user-pages-soft` new ones shrink).
static POOL: Mutex<Vec<Pipe>> = Mutex::new(Vec::new());
const POOL_KEPT: usize = 32;

fn take_pipe() -> io::Result<Pipe> {
    if let Some(p) = POOL.lock().unwrap_or_else(|e| e.into_inner()).pop() {
        return Ok(p);
    }
    use std::sync::atomic::Ordering;
    if LIVE.fetch_add(1, Ordering::Relaxed) >= MAX_PIPES {
        LIVE.fetch_sub(1, Ordering::Relaxed);
        return Err(io::Error::other("all pipes in use"));
    }
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let (read, write) = match nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK) {
        Ok(ends) => ends,
        Err(e) => {
            LIVE.fetch_sub(1, Ordering::Relaxed);
            return Err(e.into());
        }
    };
    let large = LARGE_LIVE.fetch_add(1, Ordering::Relaxed) < LARGE_PIPES
        && fcntl(&write, FcntlArg::F_SETPIPE_SZ(LARGE_PIPE)).is_ok_and(|size| size >= LARGE_PIPE);
    if !large {
        LARGE_LIVE.fetch_sub(1, Ordering::Relaxed);
    }
    Ok(Pipe(read, write, large))
}

/// Returns an empty pipe to the pool.
fn give_back(pipe: Pipe) {
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if pool.len() < POOL_KEPT {
        pool.push(pipe);
    }
}

fn splice(from: BorrowedFd<'_>, to: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
    use nix::fcntl::SpliceFFlags;
    let flags = SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_NONBLOCK;
    Ok(nix::fcntl::splice(from, None, to, None, len, flags)?)
}

/// Moves `from`'s bytes to `to` until `from` ends, then half-closes `to`.
async fn one_way(from: &TcpStream, to: &TcpStream) -> io::Result<()> {
    loop {
        from.readable().await?;
        let pipe = match take_pipe() {
            Ok(p) => p,
            // Out of descriptors: copy this chunk instead.
            Err(_) => match copy_chunk(from, to).await? {
                0 => return finish(to),
                _ => continue,
            },
        };
        let moved = from.try_io(Interest::READABLE, || splice(from.as_fd(), pipe.1.as_fd(), SPLICE_CHUNK));
        let stalled = matches!(&moved, Ok(0)) || matches!(&moved, Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        if stalled && at_urgent_mark(from) {
            // splice stops at TCP urgent data (and then looks like the end):
            // step over the mark with an ordinary read, then splice on.
            give_back(pipe);
            match copy_chunk(from, to).await? {
                0 => return finish(to),
                _ => continue,
            }
        }
        let mut queued = match moved {
            Ok(0) => {
                give_back(pipe);
                return finish(to);
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                give_back(pipe);
                continue;
            }
            Err(e) => return Err(e),
        };
        // Bytes in the pipe: on an error the pipe is dropped with them.
        while queued > 0 {
            to.writable().await?;
            match to.try_io(Interest::WRITABLE, || splice(pipe.0.as_fd(), to.as_fd(), queued)) {
                Ok(n) => queued -= n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        give_back(pipe);
    }
}

/// Whether the next byte to read is the TCP urgent mark.
fn at_urgent_mark(socket: &TcpStream) -> bool {
    crate::sys::at_urgent_mark(socket.as_fd())
}

/// Passes the end of one direction on as a half-close.
fn finish(to: &TcpStream) -> io::Result<()> {
    let _ = nix::sys::socket::shutdown(to.as_raw_fd(), nix::sys::socket::Shutdown::Write);
    Ok(())
}

/// One read and its write, through a buffer; returns the bytes moved.
async fn copy_chunk(from: &TcpStream, to: &TcpStream) -> io::Result<usize> {
    let mut buf = vec![0u8; 64 * 1024];
    let n = loop {
        match from.try_read(&mut buf) {
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => from.readable().await?,
            Err(e) => return Err(e),
        }
    };
    let mut sent = 0;
    while sent < n {
        to.writable().await?;
        match to.try_write(&buf[sent..n]) {
            Ok(k) => sent += k,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
