//! The real filesystem for the Linux planner: directories read with
//! `getdents64`, as bubblewrap will see them inside its user namespace.

use std::path::{Path, PathBuf};

pub use crate::sandbox::paths::*;

/// The real filesystem.
pub struct HostFs;

impl FsView for HostFs {
    fn real_path(&self, path: &Path) -> Option<PathBuf> {
        std::fs::canonicalize(path).ok()
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn list_dir(&self, path: &Path) -> Option<Vec<DirEntry>> {
        list_directory(path)
    }
    fn exists_no_follow(&self, path: &Path) -> bool {
        std::fs::symlink_metadata(path).is_ok()
    }
    fn is_closed_pipe(&self, path: &Path) -> bool {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo() && m.permissions().mode() & 0o111 == 0)
    }
}

/// Whether bubblewrap, inside its user namespace, could look into the open
/// directory. A caller running as root can list anything, but inside the
/// sandbox root has no privilege over files of users the namespace does not
/// map (all but root): a directory of another user closed to others must
/// count as unreadable, or a mount planned inside it fails (or, worse, is
/// skipped).
///
/// Either way the directory must be searchable, not only readable: the
/// protected paths found in it must resolve, or their protection is lost (a
/// command may leave a directory listable but closed, `chmod 644 .git`).
fn sandbox_can_list(dir: &std::fs::File) -> bool {
    use nix::unistd::{faccessat, AccessFlags};
    use std::os::unix::fs::MetadataExt;
    if crate::sys::euid() != 0 {
        return faccessat(dir, c".", AccessFlags::X_OK, nix::fcntl::AtFlags::AT_EACCESS).is_ok();
    }
    dir.metadata().is_ok_and(|m| m.uid() == 0 || m.mode() & 0o005 == 0o005)
}

/// A directory's entries (name, is a directory, is a symlink), read with
/// `getdents64` straight from one descriptor: the scan lists thousands of
/// directories, and this is half the system calls of `read_dir`.
fn list_directory(path: &Path) -> Option<Vec<DirEntry>> {
    use std::os::fd::AsFd;
    use std::os::unix::ffi::OsStringExt;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY).open(path).ok()?;
    if !sandbox_can_list(&dir) {
        return None;
    }
    let mut out = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = crate::sys::getdents64(dir.as_fd(), &mut buf).ok()?;
        if n == 0 {
            return Some(out);
        }
        // Records: d_ino (8), d_off (8), d_reclen (2), d_type (1), then the NUL-terminated name.
        let mut at = 0usize;
        while at + 19 <= n {
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            if reclen == 0 {
                return None;
            }
            let kind = buf[at + 18];
            let name_bytes = &buf[at + 19..at + reclen];
            let name_bytes = &name_bytes[..name_bytes.iter().position(|b| *b == 0).unwrap_or(name_bytes.len())];
            at += reclen;
            if name_bytes == b"." || name_bytes == b".." {
                continue;
            }
            let (is_dir, is_link) = match kind {
                libc::DT_DIR => (true, false),
                libc::DT_LNK => (false, true),
                libc::DT_UNKNOWN => match type_at(&dir, name_bytes) {
                    Some(t) => t,
                    None => continue,
                },
                _ => (false, false),
            };
            // Names as they are, bytes and all: a lossy one would name another path.
            out.push((std::ffi::OsString::from_vec(name_bytes.to_vec()), is_dir, is_link));
        }
    }
}

/// The type of an entry whose directory did not say (some filesystems).
fn type_at(dir: &std::fs::File, name: &[u8]) -> Option<(bool, bool)> {
    let st = nix::sys::stat::fstatat(dir, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW).ok()?;
    let fmt = st.st_mode & libc::S_IFMT;
    Some((fmt == libc::S_IFDIR, fmt == libc::S_IFLNK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_a_directory_gives_names_and_kinds_as_read_dir_does() {
        let dir = std::env::temp_dir().join(format!("srt-list-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("file"), b"x").unwrap();
        std::os::unix::fs::symlink("sub", dir.join("link")).unwrap();
        for i in 0..600 {
            // More than one getdents64 buffer's worth of entries.
            std::fs::write(dir.join(format!("n{i:04}-{}", "x".repeat(40))), b"").unwrap();
        }
        let mut ours = list_directory(&dir).unwrap();
        ours.sort();
        let mut theirs: Vec<DirEntry> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let t = e.file_type().unwrap();
                (e.file_name(), t.is_dir(), t.is_symlink())
            })
            .collect();
        theirs.sort();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(ours.len(), 603);
        assert_eq!(ours, theirs);
        assert!(ours.contains(&("sub".into(), true, false)));
        assert!(ours.contains(&("link".into(), false, true)));
        assert!(list_directory(Path::new("/nonexistent-srt-dir")).is_none());
    }

    #[test]
    fn names_that_are_not_utf8_come_back_as_they_are() {
        use std::os::unix::ffi::OsStrExt;
        let dir = std::env::temp_dir().join(format!("srt-list-bytes-{}", std::process::id()));
        let odd = std::ffi::OsStr::from_bytes(b"bad\xff");
        std::fs::create_dir_all(dir.join(odd)).unwrap();
        let listed = list_directory(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(listed, vec![(odd.to_os_string(), true, false)]);
    }
}
