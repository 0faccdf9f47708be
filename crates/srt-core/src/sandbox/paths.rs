//! Settings paths to absolute paths (`~`, relative paths, a trailing
//! `/**`), where a path really lands after symlinks, and the view of the
//! disk the planners see. Shared by every backend; the real view of the disk
//! is each platform's.

use std::path::{Component, Path, PathBuf};

use crate::config::PathEntry;

/// A directory entry: its name, whether it is a directory, whether a symlink.
pub type DirEntry = (std::ffi::OsString, bool, bool);

/// What the planner needs to know about the disk. The real one asks the
/// kernel; tests use a map, so the plan stays a pure function.
pub trait FsView: Sync {
    /// The path with every symlink resolved, if it exists.
    fn real_path(&self, path: &Path) -> Option<PathBuf>;
    /// Whether the (resolved) path is a directory.
    fn is_dir(&self, path: &Path) -> bool;
    /// The entries of a directory. `None` if it cannot be listed, or its
    /// entries cannot be reached (no search permission).
    fn list_dir(&self, path: &Path) -> Option<Vec<DirEntry>>;
    /// Whether anything (even a dangling symlink) is at this path.
    fn exists_no_follow(&self, path: &Path) -> bool;
    /// Whether a named pipe with no execute bit is at this path (not
    /// following a link): what git's test for a repository's `refs` fails on.
    fn is_closed_pipe(&self, _path: &Path) -> bool {
        false
    }
}

/// Expands `~` and makes the path absolute against `cwd`, without touching the disk.
/// A trailing `/**` means the directory itself (pattern entries only).
pub fn absolute(entry: &PathEntry, cwd: &Path, home: &Path) -> PathBuf {
    let text = entry.text();
    let text = match text.strip_suffix("/**") {
        // `/**` is the root itself, not the working directory.
        Some("") if !entry.is_literal() => "/",
        Some(dir) if !entry.is_literal() => dir,
        _ => text,
    };
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

/// The disk through the standard library, on any OS (the Linux planner has
/// its own, faster view).
pub struct StdFs;

impl FsView for StdFs {
    fn real_path(&self, path: &Path) -> Option<PathBuf> {
        std::fs::canonicalize(path).ok()
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn list_dir(&self, path: &Path) -> Option<Vec<DirEntry>> {
        let entries = std::fs::read_dir(path).ok()?;
        Some(
            entries
                .flatten()
                .filter_map(|e| {
                    let kind = e.file_type().ok()?;
                    Some((e.file_name(), kind.is_dir(), kind.is_symlink()))
                })
                .collect(),
        )
    }
    fn exists_no_follow(&self, path: &Path) -> bool {
        std::fs::symlink_metadata(path).is_ok()
    }
}
