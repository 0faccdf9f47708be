//! What the planners' golden tests share: an in-memory filesystem, and
//! mounts rendered as bubblewrap-like words.

pub use crate::sandbox::fake_fs::{FakeFs, Node};

use super::plan::{mount_dest, Mount, Plan};

/// Renders mounts as bubblewrap-like words, one mount a line, for readable
/// goldens (the kernel files /proc masks are left out).
pub fn render(p: &Plan) -> Vec<String> {
    p.mounts
        .iter()
        .filter(|m| !matches!(m, Mount::RoBindTry(..)) && !mount_dest(m).to_string_lossy().starts_with("/proc/"))
        .map(|m| match m {
            Mount::Bind(s, d) => format!("bind {} {}", s.display(), d.display()),
            Mount::RoBind(s, d) => format!("ro-bind {} {}", s.display(), d.display()),
            Mount::RoBindTry(s, d) => format!("ro-bind-try {} {}", s.display(), d.display()),
            Mount::Tmpfs(d) => format!("tmpfs {}", d.display()),
            Mount::RemountRo(d) => format!("remount-ro {}", d.display()),
            Mount::Dev(d) => format!("dev {}", d.display()),
            Mount::Proc(d) => format!("proc {}", d.display()),
        })
        .collect()
}
