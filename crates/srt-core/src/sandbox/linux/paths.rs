//! Settings paths to absolute paths: `~`, relative paths, a trailing `/**`,
//! and where a path really lands after symlinks.

use std::path::{Component, Path, PathBuf};

use crate::config::PathEntry;

/// What the planner needs to know about the disk. The real one asks the
/// kernel; tests use a map, so the plan stays a pure function.
pub trait FsView {
    /// The path with every symlink resolved, if it exists.
    fn real_path(&self, path: &Path) -> Option<PathBuf>;
    /// Whether the (resolved) path is a directory.
    fn is_dir(&self, path: &Path) -> bool;
    /// The entries of a directory: (name, is_dir, is_symlink). `None` if unreadable.
    fn list_dir(&self, path: &Path) -> Option<Vec<(String, bool, bool)>>;
    /// Whether anything (even a dangling symlink) is at this path.
    fn exists_no_follow(&self, path: &Path) -> bool;
}

/// The real filesystem.
pub struct HostFs;

impl FsView for HostFs {
    fn real_path(&self, path: &Path) -> Option<PathBuf> {
        std::fs::canonicalize(path).ok()
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn list_dir(&self, path: &Path) -> Option<Vec<(String, bool, bool)>> {
        if !sandbox_can_list(path) {
            return None;
        }
        let entries = std::fs::read_dir(path).ok()?;
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.ok()?;
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            out.push((entry.file_name().to_string_lossy().into_owned(), kind.is_dir(), kind.is_symlink()));
        }
        Some(out)
    }
    fn exists_no_follow(&self, path: &Path) -> bool {
        std::fs::symlink_metadata(path).is_ok()
    }
}

/// Whether bubblewrap, inside its user namespace, could look into `path`.
/// A caller running as root can list anything, but inside the sandbox root
/// has no privilege over files of users the namespace does not map (all but
/// root): a directory of another user closed to others must count as
/// unreadable, or a mount planned inside it fails (or, worse, is skipped).
fn sandbox_can_list(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return true;
    }
    std::fs::metadata(path).is_ok_and(|m| m.uid() == 0 || m.mode() & 0o005 == 0o005)
}

/// Expands `~` and makes the path absolute against `cwd`, without touching the disk.
/// A trailing `/**` means the directory itself (pattern entries only).
pub fn absolute(entry: &PathEntry, cwd: &Path, home: &Path) -> PathBuf {
    let text = entry.text();
    let text = if entry.is_literal() { text } else { text.strip_suffix("/**").unwrap_or(text) };
    let joined = if text == "~" {
        home.to_path_buf()
    } else if let Some(rest) = text.strip_prefix("~/") {
        home.join(rest)
    } else {
        cwd.join(text)
    };
    normalize(&joined)
}

/// Collapses `.`, `//` and `..` lexically. Used only for paths that do not
/// exist (existing ones are resolved by the kernel).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for part in path.components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Where a path lands: the resolved path if it exists, else its deepest
/// existing ancestor resolved, with the missing rest appended.
pub fn landing(fs: &dyn FsView, path: &Path) -> PathBuf {
    if let Some(real) = fs.real_path(path) {
        return real;
    }
    let mut missing = Vec::new();
    let mut cursor = path.to_path_buf();
    while let Some(parent) = cursor.parent().map(Path::to_path_buf) {
        if let Some(name) = cursor.file_name() {
            missing.push(name.to_os_string());
        }
        if let Some(real) = fs.real_path(&parent) {
            let mut out = real;
            out.extend(missing.iter().rev());
            return normalize(&out);
        }
        cursor = parent;
    }
    path.to_path_buf()
}

/// Whether `inner` is `outer` or lies beneath it.
pub fn is_within(inner: &Path, outer: &Path) -> bool {
    inner.starts_with(outer)
}

/// How deep a path is, for shallow-first ordering.
pub fn depth(path: &Path) -> usize {
    path.components().count()
}
