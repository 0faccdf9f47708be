//! What a run shares with whoever delivers signals to it, and the caller's
//! standard streams it starts from: the part of running a command that is
//! the same on every OS.

use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::sync::{Arc, Mutex};

/// Shared between the run and whoever delivers signals to it (a signal thread
/// in the native binary, JavaScript in the Node shim).
#[derive(Default)]
pub struct RunControl {
    state: Mutex<ControlState>,
}

#[derive(Default)]
struct ControlState {
    /// Host pid of the sandbox helper, once bubblewrap reports it.
    helper: Option<i32>,
    /// Signals that arrived before the helper was known.
    pending: Vec<i32>,
    /// Pty master, to follow window size changes.
    pty_master: Option<RawFd>,
    finished: bool,
}

impl RunControl {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Passes a signal to the command. SIGWINCH resizes the pseudo-terminal instead.
    pub fn signal(&self, signo: i32) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.finished {
            return;
        }
        if signo == libc::SIGWINCH {
            if let Some(master) = st.pty_master {
                copy_window_size(master);
            }
            return;
        }
        match st.helper {
            // The helper's pid stays ours until bwrap is reaped.
            Some(pid) => send_signal(pid, signo),
            None => st.pending.push(signo),
        }
    }

    pub(crate) fn set_helper(&self, pid: i32) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.helper = Some(pid);
        for signo in std::mem::take(&mut st.pending) {
            send_signal(pid, signo);
        }
    }

    /// Window size changes go to this pseudo-terminal from now on.
    pub(crate) fn follow_window_of(&self, master: RawFd) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).pty_master = Some(master);
    }

    /// The run is over: signals go nowhere any more.
    pub(crate) fn finish(&self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.finished = true;
        st.pty_master = None;
    }

    pub(crate) fn helper_known(&self) -> bool {
        self.state.lock().map(|s| s.helper.is_some()).unwrap_or(false)
    }
}

/// The caller's standard streams, as descriptors this run owns (duplicates).
pub struct HostStdio {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

impl HostStdio {
    /// Duplicates of this process's descriptors 0, 1 and 2. Duplicates, because
    /// Node marks its own close-on-exec, and a child given those gets none.
    pub fn dup_process_stdio() -> io::Result<Self> {
        // Copies numbered 3 or above, close-on-exec (F_DUPFD_CLOEXEC).
        let dup = |fd: RawFd| crate::sys::standard(fd).try_clone_to_owned();
        Ok(Self { stdin: dup(0)?, stdout: dup(1)?, stderr: dup(2)? })
    }
}

/// Delivers `signo` to `pid` (a signal nix does not know is dropped: the
/// forwarded ones are all standard).
fn send_signal(pid: i32, signo: i32) {
    if let Ok(signal) = nix::sys::signal::Signal::try_from(signo) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
    }
}

fn copy_window_size(master: RawFd) {
    if let Some(ws) = (0..3).find_map(crate::sys::window_size) {
        crate::sys::set_window_size(master, &ws);
    }
}
