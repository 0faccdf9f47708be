//! Finding the command's program as a shell does, before the helper forks:
//! a directory on PATH that cannot be searched is skipped (execvp would give
//! up with "Permission denied" at the first one, where bash goes on), and
//! only a file that is there but cannot be run is "Permission denied".

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// Where the program is, or the errno a shell would report (ENOENT: not
/// found, 127; EACCES: found but not executable, 126).
pub fn resolve(name: &OsStr, path_var: Option<&OsStr>) -> Result<CString, i32> {
    if name.is_empty() {
        return Err(libc::ENOENT);
    }
    if name.as_bytes().contains(&b'/') {
        return CString::new(name.as_bytes()).map_err(|_| libc::ENOENT);
    }
    // glibc's execvp uses this when PATH is unset.
    let path_var = path_var.unwrap_or(OsStr::new("/bin:/usr/bin"));
    let mut denied = false;
    for dir in path_var.as_bytes().split(|b| *b == b':') {
        // An empty entry is the working directory, as for execvp.
        let dir: &Path = if dir.is_empty() { Path::new(".") } else { Path::new(OsStr::from_bytes(dir)) };
        let candidate = dir.join(name);
        let Ok(meta) = std::fs::metadata(&candidate) else { continue };
        if !meta.is_file() {
            continue;
        }
        let Ok(c) = CString::new(OsString::from(candidate).into_vec()) else { continue };
        if nix::unistd::access(c.as_c_str(), nix::unistd::AccessFlags::X_OK).is_ok() {
            return Ok(c);
        }
        denied = true;
    }
    Err(if denied { libc::EACCES } else { libc::ENOENT })
}

/// A regular file someone may execute.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The shell a wrapped line runs (`binShell`): as given if absolute, else
/// looked up on PATH's absolute directories.
pub fn find_shell(name: &str) -> Result<PathBuf, String> {
    let not_found = || format!("Shell '{name}' not found in PATH");
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_absolute().then_some(p).ok_or_else(not_found);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
        .ok_or_else(not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_skipping_unsearchable_directories_as_a_shell_does() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("srt-lookup-{}", std::process::id()));
        let (closed, plain, bin) = (base.join("closed"), base.join("plain"), base.join("bin"));
        for d in [&closed, &plain, &bin] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(bin.join("tool"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(bin.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(plain.join("tool"), "").unwrap();
        std::fs::set_permissions(plain.join("tool"), std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o000)).unwrap();
        let path = |dirs: &[&Path]| std::env::join_paths(dirs.iter().map(|d| d.to_path_buf())).unwrap();
        let found = resolve(OsStr::new("tool"), Some(&path(&[&closed, &plain, &bin]))).unwrap();
        assert_eq!(found.as_bytes(), bin.join("tool").as_os_str().as_bytes());
        if !nix::unistd::geteuid().is_root() {
            // (root searches any directory.)
            assert_eq!(resolve(OsStr::new("tool"), Some(&path(&[&closed]))), Err(libc::ENOENT));
        }
        assert_eq!(resolve(OsStr::new("tool"), Some(&path(&[&plain]))), Err(libc::EACCES));
        assert_eq!(resolve(OsStr::new("nope"), Some(&path(&[&plain, &bin]))), Err(libc::ENOENT));
        assert_eq!(resolve(OsStr::new("./x/y"), None).unwrap().as_bytes(), b"./x/y");
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::remove_dir_all(&base).unwrap();
    }
}
