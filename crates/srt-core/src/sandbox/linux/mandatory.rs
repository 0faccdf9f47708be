//! The mandatory write denies (reference §4.5): shell start-up files, git
//! hooks and config, editor and agent folders. Found by a native walk, never
//! hidden by ignore files; `node_modules` is not entered.

use std::path::{Path, PathBuf};

use super::paths::FsView;

/// Files that run code or configure tools when a person next opens a shell or repository.
pub const PROTECTED_FILES: &[&str] = &[
    ".gitconfig",
    ".gitmodules",
    ".bashrc",
    ".bash_profile",
    ".zshrc",
    ".zprofile",
    ".profile",
    ".ripgreprc",
    ".mcp.json",
];

/// Directories protected whole.
pub const PROTECTED_DIRS: &[&str] = &[".vscode", ".idea"];

/// Directories protected whole inside `.claude`.
pub const PROTECTED_CLAUDE_DIRS: &[&str] = &["commands", "agents"];

/// What the scan found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MandatoryDenies {
    /// Existing paths to make read-only.
    pub existing: Vec<PathBuf>,
    /// Directories the walk could not list: denied whole, since what is inside is unknown.
    pub unreadable: Vec<PathBuf>,
}

/// Scans `root` to `depth` levels (reference: files down to `a/b/.bashrc`,
/// directories one level higher). Level 0 (the root itself) is always checked.
pub fn scan(fs: &dyn FsView, root: &Path, depth: usize, allow_git_config: bool) -> MandatoryDenies {
    let mut found = MandatoryDenies::default();
    walk(fs, root, 0, depth.max(1), allow_git_config, &mut found);
    found.existing.sort();
    found.existing.dedup();
    found
}

fn walk(
    fs: &dyn FsView,
    dir: &Path,
    level: usize,
    depth: usize,
    allow_git_config: bool,
    found: &mut MandatoryDenies,
) {
    let Some(entries) = fs.list_dir(dir) else {
        found.unreadable.push(dir.to_path_buf());
        return;
    };
    // A protected directory counts one level higher than a protected file.
    let dirs_here = level == 0 || level + 2 <= depth;
    for (name, is_dir, is_symlink) in entries {
        let lower = name.to_lowercase();
        let path = dir.join(&name);
        if PROTECTED_FILES.contains(&lower.as_str()) && level < depth {
            found.existing.push(path);
            continue;
        }
        if !dirs_here {
            continue;
        }
        if PROTECTED_DIRS.contains(&lower.as_str()) {
            found.existing.push(path);
        } else if lower == ".claude" && is_dir {
            for sub in fs.list_dir(&path).unwrap_or_default() {
                if PROTECTED_CLAUDE_DIRS.contains(&sub.0.to_lowercase().as_str()) {
                    found.existing.push(path.join(&sub.0));
                }
            }
        } else if lower == ".git" {
            if is_dir && !is_symlink {
                for sub in fs.list_dir(&path).unwrap_or_default() {
                    let sub_lower = sub.0.to_lowercase();
                    if sub_lower == "hooks" || (sub_lower == "config" && !allow_git_config) {
                        found.existing.push(path.join(&sub.0));
                    }
                }
            } else {
                // A worktree or submodule pointer: it names where the repository is.
                found.existing.push(path);
            }
        }
    }
    if level + 1 >= depth {
        return;
    }
    for (name, is_dir, is_symlink) in fs.list_dir(dir).unwrap_or_default() {
        if is_dir && !is_symlink && name != "node_modules" && name != ".git" {
            walk(
                fs,
                &dir.join(&name),
                level + 1,
                depth,
                allow_git_config,
                found,
            );
        }
    }
}
