//! The process's limit on open descriptors: srt raises it for its tunnels
//! (each holds two descriptors, and thousands of them need more than the
//! usual soft limit of 1024), and gives the command the limit srt started
//! with, since the raise is for srt and not for what it runs.

/// The descriptor limit srt was started with, before it raised its own.
static STARTED_WITH: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();

/// The soft and hard limits the command gets: those srt was started with.
pub fn for_the_command() -> Option<(u64, u64)> {
    STARTED_WITH.get().copied()
}

/// Raises srt's soft limit to the hard one, before the sandbox is spawned.
pub fn raise() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = STARTED_WITH.set((soft, hard));
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}
