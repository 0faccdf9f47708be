//! Host-side bookkeeping of placeholder mount points.
//!
//! To keep a protected path that does not exist yet from being created,
//! bubblewrap mounts over it, and in doing so creates an empty file or
//! directory on the host. Each run records the paths it relies on in a
//! private registry; when it ends it removes those still empty that no live
//! run relies on. A run killed before it could do so is cleaned up by the
//! next one.
//!
//! Deleting a mount point on the host undoes the mount inside the sandbox,
//! so no run may remove a placeholder another one relies on: there is one
//! registry per user (whatever the environment says), and an exclusive lock
//! on it is held from a run's planning until its sandbox has its mounts, and
//! while a run cleans up.

use std::collections::BTreeSet;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::Mode;

/// The registry directory: private to this user.
pub struct Registry {
    dir: PathBuf,
}

/// One run's claim on placeholder paths; released (and cleaned) on drop.
pub struct Claim {
    registry: PathBuf,
    record: PathBuf,
    paths: Vec<PathBuf>,
    /// Sandboxes this claim lives on with (see `tie_to_sandbox`).
    sandboxes: Vec<String>,
    /// The registry lock, while the run is starting.
    held: Option<RegistryLock>,
}

impl Claim {
    /// The registry lock, to be released once the sandbox is set up.
    pub fn take_lock(&mut self) -> Option<RegistryLock> {
        self.held.take()
    }

    /// Ties the claim to the sandbox whose pid 1 (on the host) is `pid`:
    /// released while that sandbox still runs (the library was reset, or its
    /// process exited), the placeholders stay, and a later run sweeps them
    /// once the sandbox has ended.
    pub fn tie_to_sandbox(&mut self, pid: u32) {
        use std::io::Write;
        let Some(id) = run_id(pid) else { return };
        if self.paths.is_empty() {
            return;
        }
        let mut entry = SANDBOX_TAG.to_vec();
        entry.extend_from_slice(id.as_bytes());
        entry.push(0);
        if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(&self.record) {
            let _ = f.write_all(&entry);
        }
        self.sandboxes.push(id);
    }
}

/// This process, as `<pid>-<start time>`, so a reused pid is not taken for us.
pub(crate) fn run_id(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let start = rest.split_whitespace().nth(19)?;
    Some(format!("{pid}-{start}"))
}

/// Whether the process of a record id (`<pid>-<start>`, with an optional
/// `.<n>` for one of several wraps of that process) still runs.
pub(crate) fn is_alive(id: &str) -> bool {
    let id = id.split('.').next().unwrap_or(id);
    let Some(pid) = id.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { return false };
    run_id(pid).as_deref() == Some(id)
}

fn ours(meta: &std::fs::Metadata) -> bool {
    meta.uid() == crate::sys::euid()
}

/// Makes `dir` (mode 0700) if missing; accepts it only if it is a real directory of ours.
fn private_dir(dir: &Path) -> Option<PathBuf> {
    let _ = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir);
    let meta = std::fs::symlink_metadata(dir).ok()?;
    (meta.is_dir() && ours(&meta) && meta.mode() & 0o022 == 0).then(|| dir.to_path_buf())
}

impl Registry {
    /// `/tmp/srt-<uid>`: the same for every run of this user, made private;
    /// refused if someone else holds the name.
    pub fn open() -> Result<Self, String> {
        let dir = Registry::path();
        private_dir(&dir).map(|dir| Self { dir: dir.clone() }).ok_or_else(|| match std::fs::symlink_metadata(&dir) {
            // Not there even after trying to make it: say why it could not be made.
            Err(e) => format!("cannot make {}: {e}", dir.display()),
            Ok(_) => format!(
                "{} must be a directory of yours that only you can write; remove it or fix its owner and mode",
                dir.display()
            ),
        })
    }

    /// Where this user's registry is, whether or not it exists yet.
    pub fn path() -> PathBuf {
        PathBuf::from(format!("/tmp/srt-{}", crate::sys::euid()))
    }

    /// Where the sources of placeholders are in the registry at `dir`: the
    /// empty directory and the named pipe.
    pub fn sources(dir: &Path) -> (PathBuf, PathBuf) {
        (dir.join("empty"), dir.join("empty-pipe"))
    }

    /// Holds the registry's lock until the guard is dropped.
    pub fn lock(&self) -> std::io::Result<RegistryLock> {
        lock_dir(&self.dir)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// An empty directory of ours, the source of directory placeholders.
    pub fn empty_dir(&self) -> io::Result<PathBuf> {
        let empty = Registry::sources(&self.dir).0;
        let _ = std::fs::DirBuilder::new().mode(0o500).create(&empty);
        let meta = std::fs::symlink_metadata(&empty)?;
        let is_empty = std::fs::read_dir(&empty)?.next().is_none();
        if meta.is_dir() && ours(&meta) && is_empty {
            Ok(empty)
        } else {
            Err(io::Error::other(format!("{} must be an empty directory of yours", empty.display())))
        }
    }

    /// A named pipe of ours: the source of placeholders that are pipes.
    pub fn empty_pipe(&self) -> io::Result<PathBuf> {
        use std::os::unix::fs::FileTypeExt;
        let pipe = Registry::sources(&self.dir).1;
        // One there already (EEXIST) is checked below like a new one.
        let _ = nix::unistd::mkfifo(&pipe, Mode::from_bits_truncate(0o400));
        let meta = std::fs::symlink_metadata(&pipe)?;
        if meta.file_type().is_fifo() && ours(&meta) {
            Ok(pipe)
        } else {
            Err(io::Error::other(format!("{} must be a named pipe of yours", pipe.display())))
        }
    }

    /// Each record: its id, the ids of the sandboxes it was tied to, its paths.
    fn records(&self) -> Vec<Record> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        entries
            .filter_map(|e| {
                let e = e.ok()?;
                let name = e.file_name().to_str()?.strip_prefix("run-")?.to_string();
                let meta = e.metadata().ok()?;
                // Only records this user wrote (the directory is private anyway).
                if !meta.is_file() || !ours(&meta) {
                    return None;
                }
                let bytes = std::fs::read(e.path()).ok()?;
                let mut record = Record { id: name, sandboxes: Vec::new(), paths: Vec::new(), released: false };
                for entry in bytes.split(|b| *b == 0).filter(|p| !p.is_empty()) {
                    if entry == RELEASED_TAG {
                        record.released = true;
                        continue;
                    }
                    match entry.strip_prefix(SANDBOX_TAG) {
                        Some(id) => record.sandboxes.push(String::from_utf8_lossy(id).into_owned()),
                        None => record.paths.push(PathBuf::from(std::ffi::OsStr::from_bytes(entry))),
                    }
                }
                Some(record)
            })
            .collect()
    }

    /// Paths that live runs (or their live sandboxes) rely on.
    #[cfg(test)]
    pub fn live_claims(&self) -> BTreeSet<PathBuf> {
        self.records().into_iter().filter(Record::alive).flat_map(|r| r.paths).collect()
    }

    /// Cleans up after runs that ended without doing it (srt was killed, or a
    /// library's process exited), once their sandboxes have ended too.
    /// Returns what live runs rely on.
    pub fn sweep(&self) -> BTreeSet<PathBuf> {
        let records = self.records();
        let live: BTreeSet<PathBuf> =
            records.iter().filter(|r| r.alive()).flat_map(|r| r.paths.iter().cloned()).collect();
        for record in records.iter().filter(|r| !r.alive()) {
            for path in record.paths.iter().filter(|p| !live.contains(*p)) {
                remove_placeholder(path);
            }
            let _ = std::fs::remove_file(self.dir.join(format!("run-{}", record.id)));
        }
        live
    }

    /// Records the paths a run relies on, before the sandbox starts, under
    /// the lock the caller took (the claim keeps it until handed on). `tag`
    /// tells apart the several sandboxes one process starts (the library's
    /// wraps); a claim lives as long as its process at most.
    pub fn claim_tagged(&self, paths: Vec<PathBuf>, lock: RegistryLock, tag: Option<&str>) -> io::Result<Claim> {
        let id = run_id(std::process::id()).ok_or_else(|| io::Error::other("cannot read /proc/self/stat"))?;
        let record = match tag {
            Some(t) => self.dir.join(format!("run-{id}.{t}")),
            None => self.dir.join(format!("run-{id}")),
        };
        let mut bytes = Vec::new();
        for p in &paths {
            bytes.extend_from_slice(p.as_os_str().as_bytes());
            bytes.push(0);
        }
        if !paths.is_empty() {
            // A new record only: two claims must never share one (the first
            // released would drop the other's protection with it).
            use std::io::Write;
            std::fs::OpenOptions::new().write(true).create_new(true).open(&record)?.write_all(&bytes)?;
        }
        Ok(Claim { registry: self.dir.clone(), record, paths, sandboxes: Vec::new(), held: Some(lock) })
    }
}

/// A record entry naming a sandbox the claim lives on with (not a path: paths are absolute).
const SANDBOX_TAG: &[u8] = b"sandbox:";

/// A record entry saying its run let go of it (only its sandboxes keep it).
const RELEASED_TAG: &[u8] = b"released";

/// A run's record in the registry.
struct Record {
    id: String,
    /// Sandboxes (`<pid>-<start>` of their pid 1) the claim was tied to.
    sandboxes: Vec<String>,
    /// The run let go of it while a sandbox still ran.
    released: bool,
    paths: Vec<PathBuf>,
}

impl Record {
    /// Whether a placeholder of the record may still be relied on: while the
    /// run that wrote it lives and holds it (a library session holds a line's
    /// placeholders while it lives, for every run of the line), and while a
    /// sandbox tied to it lives (whatever became of the run: a library
    /// session reset, or its process gone).
    fn alive(&self) -> bool {
        (!self.released && is_alive(&self.id)) || self.sandboxes.iter().any(|s| is_alive(s))
    }
}

/// An exclusive lock on the registry (released on drop).
pub struct RegistryLock {
    _file: std::fs::File,
}

fn lock_dir(dir: &Path) -> io::Result<RegistryLock> {
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join("lock"))?;
    loop {
        // flock(LOCK_EX): held until the file is closed.
        match file.lock() {
            Ok(()) => return Ok(RegistryLock { _file: file }),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.paths.is_empty() {
            return;
        }
        // Still holding the lock (the run never started): no second lock, it would wait on ours.
        if self.sandboxes.iter().any(|s| is_alive(s)) {
            // The sandbox still relies on these mounts: the record stays for
            // a later sweep, kept alive by the sandbox alone from now on.
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(&self.record) {
                let mut entry = RELEASED_TAG.to_vec();
                entry.push(0);
                let _ = f.write_all(&entry);
            }
            return;
        }
        let _lock = match self.held.take() {
            Some(lock) => Ok(lock),
            None => lock_dir(&self.registry),
        };
        let registry = Registry { dir: self.registry.clone() };
        let mine =
            self.record.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_prefix("run-")).map(str::to_string);
        let others: BTreeSet<PathBuf> = registry
            .records()
            .into_iter()
            .filter(|r| Some(&r.id) != mine.as_ref() && r.alive())
            .flat_map(|r| r.paths)
            .collect();
        // Deepest first, so a directory placeholder is empty when its turn comes.
        let mut paths = self.paths.clone();
        paths.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for path in paths.iter().filter(|p| !others.contains(*p)) {
            remove_placeholder(path);
        }
        // The record goes last: a process that dies halfway leaves it, and the
        // next run's sweep finishes the job.
        let _ = std::fs::remove_file(&self.record);
    }
}

/// Opens the directory at `path` without following a symlink anywhere on
/// the way: a path whose parent was swapped for a link to elsewhere is not
/// the path that was planned, and nothing is done there.
fn open_dir_nofollow(path: &Path) -> io::Result<OwnedFd> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mut dir = nix::fcntl::open("/", flags, Mode::empty())?;
    for part in path.components() {
        if let std::path::Component::Normal(name) = part {
            dir = nix::fcntl::openat(&dir, name, flags, Mode::empty())?;
        }
    }
    Ok(dir)
}

fn split(path: &Path) -> Option<(OwnedFd, std::ffi::CString)> {
    let parent = open_dir_nofollow(path.parent()?).ok()?;
    let name = std::ffi::CString::new(path.file_name()?.as_bytes()).ok()?;
    Some((parent, name))
}

/// Creates `path` with `content`, only as a new file, without following symlinks.
pub fn create_new_nofollow(path: &Path, content: &[u8]) -> io::Result<()> {
    let (parent, name) = split(path).ok_or_else(|| io::Error::other("not a plain path"))?;
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let file = nix::fcntl::openat(&parent, name.as_c_str(), flags, Mode::from_bits_truncate(0o644))?;
    std::io::Write::write_all(&mut std::fs::File::from(file), content)
}

/// What a placeholder's mount point is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountPoint {
    Dir,
    File,
    Pipe,
}

/// Makes the mount point of a placeholder, an empty directory, file or pipe, with
/// no link followed on the way: made by bubblewrap instead, it would be made
/// wherever a directory swapped for a link meanwhile points, a place no
/// sandbox may write. One of the right kind already there (another live run's
/// placeholder) will do; anything else is an error.
pub fn make_mount_point(path: &Path, kind: MountPoint) -> io::Result<()> {
    use nix::sys::stat::{fstatat, mkdirat, mknodat, SFlag};
    let (parent, name) =
        split(path).ok_or_else(|| io::Error::other("a directory on the way is gone or has become a symbolic link"))?;
    let name = name.as_c_str();
    let made = match kind {
        MountPoint::Dir => mkdirat(&parent, name, Mode::from_bits_truncate(0o755)),
        // No execute bit: git's test for a repository directory fails on it, even for root.
        MountPoint::Pipe => mknodat(&parent, name, SFlag::S_IFIFO, Mode::from_bits_truncate(0o444), 0),
        MountPoint::File => {
            let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            nix::fcntl::openat(&parent, name, flags, Mode::from_bits_truncate(0o644)).map(drop)
        }
    };
    match made {
        Ok(()) => return Ok(()),
        Err(Errno::EEXIST) => {}
        Err(e) => return Err(e.into()),
    }
    let st = fstatat(&parent, name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
    let wanted = match kind {
        MountPoint::Dir => libc::S_IFDIR,
        MountPoint::File => libc::S_IFREG,
        MountPoint::Pipe => libc::S_IFIFO,
    };
    if st.st_mode & libc::S_IFMT == wanted {
        Ok(())
    } else {
        Err(io::Error::other("something else has appeared there"))
    }
}

/// Removes `path` if it is still what was made for the run: an empty regular
/// file or directory (bubblewrap's), or a commondir naming its own repository
/// (ours). Never through a symlink, in the name or on the way to it.
fn remove_placeholder(path: &Path) {
    use nix::unistd::{unlinkat, UnlinkatFlags};
    let Some((parent, name)) = split(path) else { return };
    let name = name.as_c_str();
    let Ok(st) = nix::sys::stat::fstatat(&parent, name, AtFlags::AT_SYMLINK_NOFOLLOW) else { return };
    match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => {
            let _ = unlinkat(&parent, name, UnlinkatFlags::RemoveDir);
        }
        // Only srt makes named pipes where protected names go.
        libc::S_IFIFO => {
            let _ = unlinkat(&parent, name, UnlinkatFlags::NoRemoveDir);
        }
        libc::S_IFREG => {
            let ours = st.st_size == 0 || {
                let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
                let mut content = Vec::new();
                if let Ok(fd) = nix::fcntl::openat(&parent, name, flags, Mode::empty()) {
                    let _ = std::io::Read::read_to_end(&mut std::fs::File::from(fd), &mut content);
                }
                super::plan::placeholder_file(path).is_some_and(|ours| content == ours.as_bytes())
            };
            if ours {
                let _ = unlinkat(&parent, name, UnlinkatFlags::NoRemoveDir);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("srt-ph-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn rand_suffix() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    }

    #[test]
    fn claims_are_cleaned_on_release_and_after_a_dead_run() {
        let base = temp();
        let registry = Registry { dir: private_dir(&base.join("reg")).unwrap() };
        let file = base.join(".bashrc");
        let dir = base.join(".claude");
        let kept = base.join("kept");
        std::fs::write(&file, b"").unwrap();
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(&kept, b"real content").unwrap();
        let claim = registry
            .claim_tagged(vec![file.clone(), dir.clone(), kept.clone()], registry.lock().unwrap(), None)
            .unwrap();
        assert!(registry.live_claims().contains(&file));
        drop(claim);
        assert!(!file.exists() && !dir.exists(), "empty placeholders removed");
        assert!(kept.exists(), "a file with content is never removed");

        // A record left by a run that no longer exists is swept.
        std::fs::write(&file, b"").unwrap();
        std::fs::write(registry.dir().join("run-999999999-1"), [file.as_os_str().as_bytes(), b"\0"].concat()).unwrap();
        registry.sweep();
        assert!(!file.exists());
        assert!(registry.records().is_empty());
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// A scratch directory with a registry and an empty `.bashrc` placeholder in it.
    fn registry_with_placeholder() -> (PathBuf, Registry, PathBuf) {
        let base = temp();
        let registry = Registry { dir: private_dir(&base.join("reg")).unwrap() };
        let file = base.join(".bashrc");
        std::fs::write(&file, b"").unwrap();
        (base, registry, file)
    }

    /// A claim on one path, recorded at `record`, not holding the lock.
    fn unlocked_claim(registry: &Registry, record: PathBuf, path: &Path) -> Claim {
        let registry = registry.dir().to_path_buf();
        Claim { registry, record, paths: vec![path.to_path_buf()], sandboxes: Vec::new(), held: None }
    }

    #[test]
    fn a_path_a_live_run_relies_on_is_left_alone() {
        let (base, registry, file) = registry_with_placeholder();
        // Another live run (this very process, under its real id) claims it too.
        let id = run_id(std::process::id()).unwrap();
        std::fs::write(registry.dir().join(format!("run-{id}")), [file.as_os_str().as_bytes(), b"\0"].concat())
            .unwrap();
        let other = unlocked_claim(&registry, base.join("none"), &file);
        drop(other);
        assert!(file.exists(), "still claimed by a live run");
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_claim_tied_to_a_live_sandbox_outlives_its_run() {
        let (base, registry, file) = registry_with_placeholder();
        // A record of a run that has ended (a dead id), tied to a sandbox that still runs (a child of ours).
        let mut sandbox = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let sandbox_id = run_id(sandbox.id()).unwrap();
        let record = registry.dir().join("run-999999999-1");
        std::fs::write(&record, [file.as_os_str().as_bytes(), b"\0sandbox:", sandbox_id.as_bytes(), b"\0"].concat())
            .unwrap();
        registry.sweep();
        assert!(file.exists() && record.exists(), "the sandbox still relies on it");
        // Released while the sandbox runs: nothing is removed either.
        let mut claim = unlocked_claim(&registry, registry.dir().join("run-999999999-2"), &file);
        std::fs::write(&claim.record, [file.as_os_str().as_bytes(), b"\0"].concat()).unwrap();
        claim.tie_to_sandbox(sandbox.id());
        let second = claim.record.clone();
        drop(claim);
        assert!(file.exists() && second.exists());
        sandbox.kill().unwrap();
        sandbox.wait().unwrap();
        // Once the sandbox has ended, a sweep cleans both up.
        registry.sweep();
        assert!(!file.exists() && !record.exists() && !second.exists());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn run_ids_identify_live_processes() {
        let me = run_id(std::process::id()).unwrap();
        assert!(is_alive(&me));
        assert!(!is_alive("999999999-1"));
        let (pid, start) = me.split_once('-').unwrap();
        assert!(!is_alive(&format!("{pid}-{}", start.parse::<u64>().unwrap() + 1)), "a reused pid is not us");
    }
}

#[cfg(test)]
mod liveness_tests {
    use super::*;

    #[test]
    fn a_record_lives_while_its_run_holds_it_or_a_sandbox_of_it_runs() {
        let me = run_id(std::process::id()).unwrap();
        let ended = "1-1".to_string(); // pid 1 did not start at tick 1
        let record =
            |sandboxes: Vec<String>, released| Record { id: me.clone(), sandboxes, paths: Vec::new(), released };
        // A library line whose sandbox ended: its session still holds it (it may run again).
        assert!(record(vec![ended.clone()], false).alive());
        // Let go of (reset) while that sandbox ran, which has ended since.
        assert!(!record(vec![ended.clone()], true).alive());
        // Let go of while a sandbox of it still runs: kept for that sandbox.
        assert!(record(vec![ended, me.clone()], true).alive());
    }
}

#[cfg(test)]
mod nofollow_tests {
    use super::*;

    #[test]
    fn mount_points_are_made_where_planned_or_not_at_all() {
        let base = std::env::temp_dir().join(format!("srt-mp-{}-{}", std::process::id(), line!()));
        let real = base.join("real");
        let elsewhere = base.join("elsewhere");
        std::fs::create_dir_all(&real).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        make_mount_point(&real.join(".bashrc"), MountPoint::File).unwrap();
        make_mount_point(&real.join(".vscode"), MountPoint::Dir).unwrap();
        make_mount_point(&real.join("refs"), MountPoint::Pipe).unwrap();
        assert!(real.join(".bashrc").is_file() && real.join(".vscode").is_dir());
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::symlink_metadata(real.join("refs")).unwrap().file_type().is_fifo());
        // Again (another run's, still there): fine. Of the other kind: refused.
        make_mount_point(&real.join(".vscode"), MountPoint::Dir).unwrap();
        make_mount_point(&real.join("refs"), MountPoint::Pipe).unwrap();
        assert!(make_mount_point(&real.join(".vscode"), MountPoint::File).is_err());
        assert!(make_mount_point(&real.join("refs"), MountPoint::Dir).is_err());
        remove_placeholder(&real.join("refs"));
        assert!(!real.join("refs").exists(), "srt's pipe is removed");
        // A directory on the way swapped for a link: nothing made at its target.
        std::os::unix::fs::symlink(&elsewhere, base.join("swapped")).unwrap();
        assert!(make_mount_point(&base.join("swapped/.git"), MountPoint::Dir).is_err());
        assert!(make_mount_point(&base.join("swapped/refs"), MountPoint::Pipe).is_err());
        std::os::unix::fs::symlink(&elsewhere, real.join(".idea")).unwrap();
        assert!(make_mount_point(&real.join(".idea"), MountPoint::Dir).is_err());
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn removal_never_goes_through_a_symlinked_parent() {
        let base = std::env::temp_dir().join(format!("srt-nf-{}-{}", std::process::id(), line!()));
        let real = base.join("real");
        std::fs::create_dir_all(&real).unwrap();
        std::fs::write(real.join(".bashrc"), b"").unwrap();
        std::os::unix::fs::symlink(&real, base.join("link")).unwrap();
        remove_placeholder(&base.join("link/.bashrc"));
        assert!(real.join(".bashrc").exists(), "not removed through the link");
        remove_placeholder(&real.join(".bashrc"));
        assert!(!real.join(".bashrc").exists());
        assert!(create_new_nofollow(&base.join("link/commondir"), b".\n").is_err(), "not created through the link");
        std::fs::create_dir_all(real.join(".git")).unwrap();
        create_new_nofollow(&real.join(".git/commondir"), b".\n").unwrap();
        remove_placeholder(&real.join(".git/commondir"));
        assert!(!real.join(".git/commondir").exists(), "our own commondir is removed");
        // A placeholder's content changed on the host meanwhile is the user's: kept.
        std::fs::create_dir_all(real.join(".claude")).unwrap();
        create_new_nofollow(&real.join(".claude/settings.local.json"), b"{}\n").unwrap();
        remove_placeholder(&real.join(".claude/settings.local.json"));
        assert!(!real.join(".claude/settings.local.json").exists(), "our own settings stand-in is removed");
        std::fs::write(real.join(".claude/settings.local.json"), b"{\"permissions\": {}}\n").unwrap();
        remove_placeholder(&real.join(".claude/settings.local.json"));
        assert!(real.join(".claude/settings.local.json").exists(), "the user's settings are kept");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
