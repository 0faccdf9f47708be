//! Each sandbox's own temporary directory, below the shared one (`/tmp/claude`
//! or `$CLAUDE_CODE_TMPDIR`). The shared directory is one place for every
//! sandbox whatever its policy: one that may read a secret could leave it
//! there for one that may send it. So inside each sandbox the shared
//! directory is an empty tmpfs of its own, and `TMPDIR` is this directory:
//! one per run (CLI) or per session (library), removed when that ends.

use std::path::{Path, PathBuf};

use super::placeholders::{is_alive, run_id};

/// Names of our directories: `srt-tmp-<pid>-<start time>-<random>`. The
/// owner's pid and start time tell a leftover of a killed run from a live one.
const PREFIX: &str = "srt-tmp-";

/// A private temporary directory, removed (with what is in it) when dropped.
#[derive(Debug)]
pub struct PrivateTmp {
    path: PathBuf,
}

impl PrivateTmp {
    /// Makes a fresh directory (mode 0700) below `shared`, after removing
    /// those whose owner is gone.
    pub fn create(shared: &Path) -> std::io::Result<PrivateTmp> {
        use std::os::unix::fs::DirBuilderExt;
        sweep(shared);
        let owner = run_id(std::process::id()).ok_or_else(|| std::io::Error::other("cannot read /proc/self/stat"))?;
        let path = shared.join(format!("{PREFIX}{owner}-{}", random_suffix()?));
        // Never an existing directory (create, not create_all): a planted
        // one could hold a link.
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(PrivateTmp { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateTmp {
    fn drop(&mut self) {
        remove_tree(&self.path);
    }
}

/// Removes a directory and everything in it, whatever modes the command
/// left on the directories inside (`chmod 000` would keep them on disk), and
/// never through a link it left there (remove_dir_all follows none).
fn remove_tree(path: &Path) {
    if let Ok(handle) = nix::fcntl::openat(nix::fcntl::AT_FDCWD, path, path_only(), nix::sys::stat::Mode::empty()) {
        open_up(handle, 0);
    }
    let _ = std::fs::remove_dir_all(path);
}

/// A directory by handle only: no permission needed, no link followed.
fn path_only() -> nix::fcntl::OFlag {
    use nix::fcntl::OFlag;
    OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

/// Gives the owner full access to the directory held by `handle` (an O_PATH
/// handle) and to every directory beneath it. The mode is changed through
/// the handle's /proc entry, which is that directory whatever its name
/// leads to now.
fn open_up(handle: std::os::fd::OwnedFd, depth: usize) {
    use nix::fcntl::OFlag;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::PermissionsExt;
    let Ok(st) = nix::sys::stat::fstat(&handle) else { return };
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR || depth > 256 {
        return;
    }
    let proc_path = format!("/proc/self/fd/{}", handle.as_raw_fd());
    let mode = (st.st_mode & 0o7777) | 0o700;
    let _ = std::fs::set_permissions(&proc_path, std::fs::Permissions::from_mode(mode));
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let Ok(listing) = nix::fcntl::open(proc_path.as_str(), flags, nix::sys::stat::Mode::empty()) else { return };
    drop(handle);
    let Ok(mut dir) = nix::dir::Dir::from_fd(listing) else { return };
    let names: Vec<std::ffi::CString> = dir
        .iter()
        .flatten()
        .filter(|e| !matches!(e.file_name().to_bytes(), b"." | b".."))
        .filter(|e| matches!(e.file_type(), Some(nix::dir::Type::Directory) | None))
        .map(|e| e.file_name().to_owned())
        .collect();
    for name in names {
        if let Ok(child) = nix::fcntl::openat(&dir, name.as_c_str(), path_only(), nix::sys::stat::Mode::empty()) {
            open_up(child, depth + 1);
        }
    }
}

/// Removes directories of ours whose owner no longer runs.
fn sweep(shared: &Path) {
    let Ok(entries) = std::fs::read_dir(shared) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(owner_of) else { continue };
        if !is_alive(owner) && entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&entry.path());
        }
    }
}

/// The owner (`<pid>-<start time>`, as the registry names runs) of one of our names.
fn owner_of(name: &str) -> Option<&str> {
    let (owner, random) = name.strip_prefix(PREFIX)?.rsplit_once('-')?;
    let (pid, start) = owner.split_once('-')?;
    let numeric = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    (numeric(pid) && numeric(start) && !random.is_empty()).then_some(owner)
}

fn random_suffix() -> std::io::Result<String> {
    crate::sys::random_hex(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_private_removed_on_drop_and_leftovers_of_dead_owners_swept() {
        use std::os::unix::fs::PermissionsExt;
        let shared = std::env::temp_dir().join(format!("srt-ptmp-{}", std::process::id()));
        std::fs::create_dir_all(&shared).unwrap();
        let tmp = PrivateTmp::create(&shared).unwrap();
        let path = tmp.path().to_path_buf();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o700);
        std::fs::create_dir(path.join("sub")).unwrap();
        std::os::unix::fs::symlink(&shared, path.join("sub/link")).unwrap();
        // Directories the command closed, even to their owner.
        std::fs::create_dir_all(path.join("closed/inner")).unwrap();
        std::fs::write(path.join("closed/inner/data"), b"x").unwrap();
        std::fs::set_permissions(path.join("closed/inner"), std::fs::Permissions::from_mode(0o000)).unwrap();
        std::fs::set_permissions(path.join("closed"), std::fs::Permissions::from_mode(0o000)).unwrap();
        // A killed run's (no such start time), and a stranger's directory.
        let dead = shared.join(format!("{PREFIX}{}-1-abc", std::process::id()));
        std::fs::create_dir(&dead).unwrap();
        std::fs::create_dir(shared.join("keep-me")).unwrap();
        let second = PrivateTmp::create(&shared).unwrap();
        assert!(!dead.exists(), "the leftover is swept");
        assert!(path.exists(), "a live owner's directory is kept");
        assert!(shared.join("keep-me").exists());
        drop(tmp);
        assert!(!path.exists());
        assert!(shared.exists(), "the link inside was not followed");
        drop(second);
        std::fs::remove_dir_all(&shared).unwrap();
    }

    #[test]
    fn names_parse_back_to_their_owner() {
        assert_eq!(owner_of("srt-tmp-42-1234-ab12"), Some("42-1234"));
        assert_eq!(owner_of("srt-tmp-42-1234"), None);
        assert_eq!(owner_of("claude-xyz"), None);
        assert!(is_alive(&run_id(std::process::id()).unwrap()));
    }
}
