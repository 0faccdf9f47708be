//! The mandatory write denies (reference §4.5): shell start-up files, git
//! hooks and config, editor and agent folders. Found by a native walk, never
//! hidden by ignore files; `node_modules` is not entered.

use std::path::{Path, PathBuf};

use super::paths::{DirEntry, FsView};

pub use crate::sandbox::protected_names::*;

/// Whether `lower` (a lower-cased name) is a protected file's.
fn is_protected_file(lower: &str) -> bool {
    STARTUP_FILES.contains(&lower) || PROJECT_FILES.contains(&lower)
}

/// What the scan found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MandatoryDenies {
    /// Existing paths to make read-only.
    pub existing: Vec<PathBuf>,
    /// Protected paths that do not exist yet: the command must not create them.
    /// At the scan's root every name; below it, the hooks and config of each repository.
    pub missing: Vec<PathBuf>,
    /// Directories the walk could not list: denied whole, since what is inside is unknown.
    pub unreadable: Vec<PathBuf>,
    /// Existing protected paths below the root's own level (`a/b/.bashrc`,
    /// a nested repository): no placeholders are made for what is missing
    /// around them.
    pub nested: Vec<PathBuf>,
}

/// Scans `root` to `depth` levels (reference: files down to `a/b/.bashrc`,
/// directories one level higher). Level 0 (the root itself) is always checked.
/// `at_root`: which protected names missing at the root to report, beyond
/// the missing hooks and config of repositories.
pub fn scan(fs: &dyn FsView, root: &Path, depth: usize, allow_git_config: bool, at_root: RootNames) -> MandatoryDenies {
    let mut found = MandatoryDenies::default();
    let opts = Walk { depth: depth.max(1), allow_git_config, at_root };
    let below = visit(fs, root, 0, &opts, &mut found);
    // A large tree is walked on two threads: listing directories is the
    // kernel's work, and each thread's share runs on a core of its own.
    if below.len() >= PARALLEL_FROM {
        let halves: Vec<MandatoryDenies> = std::thread::scope(|scope| {
            let threads: Vec<_> = [0, 1]
                .map(|half| {
                    let (below, opts) = (&below, &opts);
                    scope.spawn(move || {
                        let mut part = MandatoryDenies::default();
                        for dir in below.iter().skip(half).step_by(2) {
                            walk(fs, dir, 1, opts, &mut part);
                        }
                        part
                    })
                })
                .into_iter()
                .collect();
            // A walk that panicked must not quietly drop its half of the protections.
            threads.into_iter().map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
        });
        for part in halves {
            found.existing.extend(part.existing);
            found.missing.extend(part.missing);
            found.unreadable.extend(part.unreadable);
        }
    } else {
        for dir in &below {
            walk(fs, dir, 1, &opts, &mut found);
        }
    }
    found.unreadable.sort();
    for list in [&mut found.existing, &mut found.missing] {
        list.sort();
        list.dedup();
    }
    // What lies deeper than the root's own names (and its `.git` and `.claude`).
    let (shallow, nested): (Vec<PathBuf>, Vec<PathBuf>) = found.existing.into_iter().partition(|p| {
        let rel = p.strip_prefix(root).unwrap_or(p);
        let parts: Vec<_> = rel.components().collect();
        parts.len() == 1 || (parts.len() == 2 && [".git", ".claude", ".hg"].iter().any(|d| parts[0].as_os_str() == *d))
    });
    found.existing = shallow;
    found.nested = nested;
    found
}

/// What keeps a directory from becoming a bare repository, which git on the
/// host would take it for (running its `config`) before looking further up:
/// git needs a `HEAD` file there and `objects` and `refs` directories where
/// its `commondir` file points (else there too). So `commondir` must not be
/// made, and one of the others must not either: `refs` (else `objects`) as a
/// named pipe, which git and `git add` ignore, and no name a command line
/// uses (a `HEAD` in the working directory makes `git log HEAD` ambiguous);
/// `HEAD` only where both names are taken already.
#[derive(Debug, PartialEq, Eq)]
pub enum Blocker {
    /// Keep this entry as it is (read-only): it already blocks.
    Existing(&'static str),
    /// Make this one (a placeholder): see [`BLOCKER_PIPES`].
    Missing(&'static str),
}

/// The blockers made as named pipes.
pub const BLOCKER_PIPES: &[&str] = &["refs", "objects"];

/// What keeps `dir` (its `entries` listed) from becoming a repository that
/// tools on the host would use, beyond its `.git`: a Mercurial one, or a
/// bare git one (see [`Blocker`]).
pub fn repository_blockers(fs: &dyn FsView, dir: &Path, entries: &[DirEntry]) -> Vec<Blocker> {
    let mut blockers = Vec::new();
    // Mercurial runs a repository's hooks too.
    if !has(entries, ".hg") {
        blockers.push(Blocker::Missing(".hg"));
    }
    // git reads `objects` and `refs` from where a `commondir` file points:
    // that must not be made either (a missing one gets an empty directory,
    // which git never reads unless a HEAD is there too, and then fails on).
    blockers.push(if has(entries, "commondir") {
        Blocker::Existing("commondir")
    } else {
        Blocker::Missing("commondir")
    });
    for name in BLOCKER_PIPES {
        match entries.iter().find(|e| e.0 == **name) {
            None => {
                blockers.push(Blocker::Missing(name));
                return blockers;
            }
            // A pipe with no execute bit (srt's, of another live run) blocks,
            // kept read-only. Anything else may have one, which is all git's
            // test asks of `refs`.
            Some(_) if fs.is_closed_pipe(&dir.join(name)) => {
                blockers.push(Blocker::Existing(name));
                return blockers;
            }
            Some(_) => {}
        }
    }
    blockers.push(if has(entries, "HEAD") { Blocker::Existing("HEAD") } else { Blocker::Missing("HEAD") });
    blockers
}

/// Entries whose name is `name` in any case: all protected (protecting a
/// `.BashRC` too costs nothing).
fn variants<'a>(entries: &'a [DirEntry], name: &'a str) -> impl Iterator<Item = &'a DirEntry> + 'a {
    entries.iter().filter(move |e| e.0.to_string_lossy().to_lowercase() == name)
}

/// Whether the name itself is there. Only this says a protected name exists:
/// Linux names are case-sensitive, and a `.GIT` left by one run must not
/// stand in for the `.git` the next run would otherwise keep from being made.
fn has(entries: &[DirEntry], name: &str) -> bool {
    entries.iter().any(|e| e.0 == *name)
}

/// The protected names a scan reports missing at its root: each kind only
/// where it takes effect, so that a directory holds as few placeholders as
/// its protection needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RootNames {
    /// What a project holds ([`PROJECT_FILES`], [`PROTECTED_DIRS`], `.claude`,
    /// a repository): where people open projects (the working directory, home).
    pub project: bool,
    /// [`STARTUP_FILES`]: where shells and tools read them (homes).
    pub startup: bool,
}

impl RootNames {
    pub const NONE: RootNames = RootNames { project: false, startup: false };
    pub const ALL: RootNames = RootNames { project: true, startup: true };
}

struct Walk {
    depth: usize,
    allow_git_config: bool,
    at_root: RootNames,
}

/// From this many subdirectories of the root on, the walk uses two threads.
const PARALLEL_FROM: usize = 16;

fn walk(fs: &dyn FsView, dir: &Path, level: usize, opts: &Walk, found: &mut MandatoryDenies) {
    for below in visit(fs, dir, level, opts, found) {
        walk(fs, &below, level + 1, opts, found);
    }
}

/// Checks one directory's entries; returns its subdirectories still to walk.
fn visit(fs: &dyn FsView, dir: &Path, level: usize, opts: &Walk, found: &mut MandatoryDenies) -> Vec<PathBuf> {
    let (depth, allow_git_config) = (opts.depth, opts.allow_git_config);
    let Some(entries) = fs.list_dir(dir) else {
        found.unreadable.push(dir.to_path_buf());
        return Vec::new();
    };
    // A protected directory counts one level higher than a protected file.
    let dirs_here = level == 0 || level + 2 <= depth;
    let (project_names, startup_names) = (level == 0 && opts.at_root.project, level == 0 && opts.at_root.startup);
    if startup_names {
        found.missing.extend(STARTUP_FILES.iter().filter(|n| !has(&entries, n)).map(|n| dir.join(n)));
    }
    if project_names {
        // `.gitmodules` counts only beside a repository's `.git` (one cannot be made here).
        let in_repository = has(&entries, ".git");
        for name in PROJECT_FILES.iter().chain(PROTECTED_DIRS) {
            if !has(&entries, name) && (in_repository || *name != ".gitmodules") {
                found.missing.push(dir.join(name));
            }
        }
        if !has(&entries, ".claude") {
            found.missing.extend(PROTECTED_CLAUDE.iter().map(|d| dir.join(".claude").join(d)));
        }
        // No repository yet: none may be made here, since git on the host (a
        // shell prompt runs it on every cd) would run its config and hooks.
        if !has(&entries, ".git") {
            found.missing.push(dir.join(".git"));
        }
        // Nor a Mercurial one, nor may the directory itself become a bare repository.
        for blocker in repository_blockers(fs, dir, &entries) {
            match blocker {
                Blocker::Existing(name) => found.existing.push(dir.join(name)),
                Blocker::Missing(name) => found.missing.push(dir.join(name)),
            }
        }
    }
    for (name, is_dir, is_symlink) in &entries {
        let lower = name.to_string_lossy().to_lowercase();
        let path = dir.join(name);
        if is_protected_file(&lower) && level < depth {
            found.existing.push(path);
            continue;
        }
        if !dirs_here {
            continue;
        }
        let exact = |n: &str| *name == *n;
        if PROTECTED_DIRS.contains(&lower.as_str()) {
            found.existing.push(path);
        } else if lower == ".claude" && (!*is_dir || !exact(".claude")) {
            // A file or a link where the folder would be, or a folder of
            // another case: kept as it is (a link in a writable directory is
            // refused by the planner).
            found.existing.push(path);
        } else if lower == ".claude" {
            let Some(inner) = fs.list_dir(&path) else {
                found.unreadable.push(path);
                continue;
            };
            for sub in PROTECTED_CLAUDE {
                found.existing.extend(variants(&inner, sub).map(|e| path.join(&e.0)));
                if !has(&inner, sub) && project_names {
                    found.missing.push(path.join(sub));
                }
            }
        } else if lower == ".hg" && *is_dir && !*is_symlink && exact(".hg") {
            let Some(inner) = fs.list_dir(&path) else {
                found.unreadable.push(path);
                continue;
            };
            for sub in PROTECTED_HG {
                found.existing.extend(variants(&inner, sub).map(|e| path.join(&e.0)));
                if !has(&inner, sub) && level == 0 {
                    found.missing.push(path.join(sub));
                }
            }
        } else if lower == ".git" {
            if *is_dir && !*is_symlink && exact(".git") && level == 0 {
                // A repository: its hooks (and config) are protected even before they exist.
                let Some(inner) = fs.list_dir(&path) else {
                    found.unreadable.push(path);
                    continue;
                };
                let config: &[&str] = if allow_git_config { &[] } else { PROTECTED_GIT_CONFIG };
                for sub in PROTECTED_GIT.iter().chain(config) {
                    found.existing.extend(variants(&inner, sub).map(|e| path.join(&e.0)));
                    if !has(&inner, sub) {
                        found.missing.push(path.join(sub));
                    }
                }
            } else {
                // A nested repository (read-only whole: one mount, where its
                // hooks, config and the rest would be six each), a worktree or
                // submodule pointer (it names where the repository is), or a
                // `.git` of another case: kept as it is.
                found.existing.push(path);
            }
        }
    }
    if level + 1 >= depth {
        return Vec::new();
    }
    entries
        .iter()
        .filter(|(name, is_dir, is_symlink)| *is_dir && !*is_symlink && *name != *"node_modules" && *name != *".git")
        .map(|(name, _, _)| dir.join(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A directory listing by path: (name, is_dir, is_symlink).
    struct Listing(BTreeMap<PathBuf, Vec<DirEntry>>);

    impl FsView for Listing {
        fn real_path(&self, path: &Path) -> Option<PathBuf> {
            Some(path.to_path_buf())
        }
        fn is_dir(&self, path: &Path) -> bool {
            self.0.contains_key(path)
        }
        fn list_dir(&self, path: &Path) -> Option<Vec<DirEntry>> {
            Some(self.0.get(path).cloned().unwrap_or_default())
        }
        fn exists_no_follow(&self, _: &Path) -> bool {
            true
        }
    }

    #[test]
    fn a_wide_tree_walked_on_two_threads_finds_everything_once() {
        let mut dirs = BTreeMap::new();
        let subs: Vec<DirEntry> = (0..40).map(|i| (format!("d{i}").into(), true, false)).collect();
        dirs.insert(PathBuf::from("/p"), subs);
        for i in 0..40 {
            dirs.insert(PathBuf::from(format!("/p/d{i}")), vec![(".bashrc".into(), false, false)]);
        }
        let found = scan(&Listing(dirs), Path::new("/p"), 3, false, RootNames::NONE);
        let mut expected: Vec<PathBuf> = (0..40).map(|i| PathBuf::from(format!("/p/d{i}/.bashrc"))).collect();
        expected.sort();
        assert_eq!(found.nested, expected);
    }

    #[test]
    fn a_name_of_another_case_is_protected_and_stands_in_for_nothing() {
        let mut dirs = BTreeMap::new();
        let at_root: Vec<DirEntry> = [(".GIT", true), (".BASHRC", false), ("Head", false), (".CLAUDE", true)]
            .map(|(n, d)| (n.into(), d, false))
            .into();
        dirs.insert(PathBuf::from("/p"), at_root);
        dirs.insert(PathBuf::from("/p/.git"), Vec::new());
        let found = scan(&Listing(dirs.clone()), Path::new("/p"), 3, false, RootNames::ALL);
        for made in ["/p/.git", "/p/.bashrc", "/p/refs", "/p/.claude/commands"] {
            assert!(found.missing.contains(&PathBuf::from(made)), "{made} must stay impossible to make: {found:?}");
        }
        for kept in ["/p/.GIT", "/p/.BASHRC", "/p/.CLAUDE"] {
            assert!(found.existing.contains(&PathBuf::from(kept)), "{kept}: {found:?}");
        }
        // Inside a repository: a HOOKS does not stand in for hooks.
        dirs.insert(PathBuf::from("/p"), vec![(".git".into(), true, false)]);
        dirs.insert(PathBuf::from("/p/.git"), vec![("HOOKS".into(), true, false)]);
        let found = scan(&Listing(dirs), Path::new("/p"), 3, false, RootNames::ALL);
        assert!(found.missing.contains(&PathBuf::from("/p/.git/hooks")), "{found:?}");
        assert!(found.existing.contains(&PathBuf::from("/p/.git/HOOKS")), "{found:?}");
    }

    #[test]
    fn a_claude_that_is_a_file_or_a_link_is_kept_as_it_is() {
        for (is_dir, is_link) in [(false, false), (false, true)] {
            let mut dirs = BTreeMap::new();
            dirs.insert(PathBuf::from("/p"), vec![(".claude".into(), is_dir, is_link)]);
            let found = scan(&Listing(dirs), Path::new("/p"), 3, false, RootNames::ALL);
            assert!(found.existing.contains(&PathBuf::from("/p/.claude")), "{found:?}");
            assert!(!found.missing.iter().any(|m| m.starts_with("/p/.claude")), "{found:?}");
        }
    }
}
