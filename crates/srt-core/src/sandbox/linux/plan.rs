//! From settings to an ordered list of mounts: a pure function of the
//! settings, the working directory, the home directory and what is on disk
//! (through [`FsView`]). Golden-tested without a sandbox; `bwrap` renders it.

use std::path::{Path, PathBuf};

use super::mandatory;
use super::paths::{absolute, depth, is_within, landing, normalize, FsView};
use super::startup_places::StartupPlaces;
use crate::config::{PathEntry, Settings};
use crate::sandbox::glob;

/// One mount operation, in bubblewrap's terms. Sources are host paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mount {
    /// Writable bind of `src` at `dest`.
    Bind(PathBuf, PathBuf),
    /// Read-only bind of `src` at `dest`.
    RoBind(PathBuf, PathBuf),
    /// Read-only bind of `src` at `dest` if `src` exists (kernel files that vary).
    RoBindTry(PathBuf, PathBuf),
    /// An empty tmpfs at the path (hides a directory's contents).
    Tmpfs(PathBuf),
    /// Make the mount at the path read-only (after its carve-outs are in place).
    RemountRo(PathBuf),
    /// A minimal /dev.
    Dev(PathBuf),
    /// A fresh /proc for the new pid namespace.
    Proc(PathBuf),
}

/// What the planner needs besides the settings.
#[derive(Clone, Debug)]
pub struct PlanInput<'a> {
    pub settings: &'a Settings,
    /// Working directory, resolved.
    pub cwd: PathBuf,
    /// Home directory, resolved.
    pub home: PathBuf,
    /// The sandbox's TMPDIR (a default write path), if usable.
    pub tmpdir: Option<PathBuf>,
    /// The temporary directory every sandbox is given (`/tmp/claude`) that
    /// `tmpdir` lies below: an empty tmpfs of the sandbox's own inside, so
    /// that no sandbox sees what another left there.
    pub shared_tmp: Option<PathBuf>,
    /// The in-sandbox helper binary, re-exposed last so no deny can hide it.
    pub helper: PathBuf,
    /// An empty read-only directory of ours, mounted over a missing directory
    /// on the way to protected paths (`.claude` for `.claude/commands`).
    pub empty_dir: PathBuf,
    /// A named pipe of ours, mounted over the bare-repository blockers.
    pub empty_pipe: PathBuf,
    /// Extra paths the command must not write (srt's own state).
    pub protect: Vec<PathBuf>,
    /// Other homes, and files the environment names, where start-up files take effect.
    pub startup: StartupPlaces,
}

/// The filesystem half of a sandbox.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub mounts: Vec<Mount>,
    /// Writable roots, resolved, shallow first.
    pub write_roots: Vec<PathBuf>,
    /// Variables set inside the sandbox.
    pub env: Vec<(String, String)>,
    /// Variables removed inside the sandbox.
    pub unset_env: Vec<String>,
    /// Remarks for stderr: rules that could not be applied as written.
    pub warnings: Vec<String>,
    /// Mount points bubblewrap will create on the host for protected paths
    /// that do not exist yet: empty files or directories to remove afterwards.
    pub placeholders: Vec<PathBuf>,
    /// Rules that cannot be applied at all: the run must be refused.
    pub errors: Vec<String>,
    /// Placeholders srt must create itself, with this content, before the
    /// sandbox starts (an empty one would confuse the host's own tools).
    pub prefilled: Vec<(PathBuf, &'static str)>,
    /// Placeholders whose mount points are named pipes (bare-repository blockers).
    pub pipes: Vec<PathBuf>,
}

/// A missing `.git/commondir` is stood in for by one naming the repository
/// itself: git on the host reads it while the sandbox runs, and an empty
/// one would break it.
pub const COMMONDIR_SELF: &str = ".\n";

/// Missing protected paths that tools on the host read as files while the
/// sandbox runs, with the content of their placeholder: empty where an empty
/// file means nothing to the tool (git and hg config), else the least that
/// does (`commondir` naming the repository itself, settings with no keys).
pub fn placeholder_file(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?;
    let dir = path.parent()?.file_name()?.to_str()?;
    match (dir, name) {
        (".git", "config" | "config.worktree") | (".hg", "hgrc") => Some(""),
        (".git", "commondir") => Some(COMMONDIR_SELF),
        (".claude", "settings.json" | "settings.local.json") => Some("{}\n"),
        _ => None,
    }
}

/// The reference's default write paths (§2.10) that exist as ordinary paths on Linux.
fn default_write_paths(input: &PlanInput<'_>) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = input.tmpdir.iter().cloned().collect();
    paths.extend(crate::config::HOME_WRITE_PATHS.iter().map(|p| input.home.join(p)));
    paths
}

/// Paths under the kernel's own filesystems are never bind targets: /dev and
/// /proc are fresh inside the sandbox.
fn is_virtual(path: &Path) -> bool {
    ["/dev", "/proc", "/sys"].iter().any(|v| is_within(path, Path::new(v)))
}

/// Resolves a settings list to paths: `~`, relative paths and a trailing
/// `/**` as written; a glob expanded against the disk (at its real
/// locations). `deny` lists deny an unlistable directory on the way whole,
/// and also take a glob's spelling literally when that path exists.
fn resolve_all(
    key: &str,
    entries: Option<&Vec<PathEntry>>,
    deny: bool,
    input: &PlanInput<'_>,
    fs: &dyn FsView,
    out: &mut Plan,
) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for (i, entry) in entries.into_iter().flatten().enumerate() {
        let path = absolute(entry, &input.cwd, &input.home);
        if entry.is_literal() || !glob::is_glob(&path.to_string_lossy()) {
            paths.push(path);
            continue;
        }
        let shown = entry.text();
        let pattern = glob::Glob::new(&path);
        if pattern.walks_from_root() {
            out.errors.push(format!(
                "{key}[{i}]: the glob {shown:?} would walk the whole disk from /: begin it with the directory to search"
            ));
            continue;
        }
        let found = glob::expand(&pattern, fs);
        if found.truncated {
            let links = if found.links.is_empty() {
                String::new()
            } else {
                let names: Vec<String> = found.links.iter().map(|l| l.display().to_string()).collect();
                format!(
                    " (it went through the symbolic links {}: remove any that should not be there)",
                    names.join(", ")
                )
            };
            out.errors.push(format!(
                "{key}[{i}]: the glob {shown:?} looks at more than {} entries{links}: narrow it",
                glob::WALK_LIMIT
            ));
            continue;
        }
        let literal_too = fs.exists_no_follow(&path) && (deny || fs.real_path(&path).as_ref() == Some(&path));
        if deny {
            out.warnings.push(format!(
                "{key}[{i}]: the glob {shown:?} covers the {} existing path(s) it matches now; paths created while the command runs are not covered",
                found.matches.len() + usize::from(literal_too)
            ));
            paths.extend(found.unlistable);
        }
        if literal_too {
            paths.push(path);
        }
        paths.extend(found.matches);
    }
    paths
}

/// Builds the mount plan, in phases: the read lists, the write region, the
/// protections inside it, the placeholders for what is missing, the mounts.
pub fn plan(input: &PlanInput<'_>, fs: &dyn FsView) -> Plan {
    let s = &input.settings.filesystem;
    let mut out = Plan::default();
    let disabled = s.disabled == Some(true);
    out.mounts.push(if disabled { Mount::Bind("/".into(), "/".into()) } else { Mount::RoBind("/".into(), "/".into()) });
    out.mounts.push(Mount::Dev("/dev".into()));
    if input.settings.enable_weaker_nested_sandbox == Some(true) {
        out.mounts.push(Mount::Bind("/proc".into(), "/proc".into()));
    } else {
        out.mounts.push(Mount::Proc("/proc".into()));
    }
    harden_proc(&mut out.mounts, fs);
    if disabled {
        out.write_roots.push("/".into());
        finish(input, &mut out);
        return out;
    }
    let cx = Context { input, fs };
    let (reads, allow_write) = read_lists(&cx, &mut out);
    let mut region = write_region(&cx, &reads, allow_write, &mut out);
    let mut protections = protections(&cx, &mut region, &mut out);
    let missing_reads = missing_reads(&cx, &reads);
    let placeholders = placeholder_mounts(&cx, &region.roots, &mut protections, &missing_reads, &reads, &mut out);
    mounts(&cx, &reads, region, protections, &placeholders, &mut out);
    out
}

/// What every phase reads.
struct Context<'a, 'p> {
    input: &'a PlanInput<'p>,
    fs: &'a dyn FsView,
}

/// The read lists, resolved (allowRead without the entries it may not re-open).
struct Reads {
    deny: Vec<PathBuf>,
    allow: Vec<PathBuf>,
}

impl Reads {
    /// Whether the command may not read `p`.
    fn denied(&self, p: &Path) -> bool {
        self.deny.iter().any(|d| is_within(p, d)) && !self.allow.iter().any(|a| is_within(p, a))
    }
}

/// Where the command may write.
struct WriteRegion {
    /// Every writable root, resolved (shallow first once protections are known).
    roots: Vec<PathBuf>,
    /// The roots allowWrite names (not the defaults): each may be a project.
    user_roots: Vec<PathBuf>,
}

/// What stays as it is inside the write region.
struct Protections {
    /// Existing paths to keep read-only.
    write_denies: Vec<PathBuf>,
    /// Protected paths that do not exist yet: the command must not create them.
    missing: Vec<PathBuf>,
}

/// Phase 1: denyRead, allowWrite (as listed) and allowRead; returns allowWrite too.
fn read_lists(cx: &Context<'_, '_>, out: &mut Plan) -> (Reads, Vec<PathBuf>) {
    let (input, fs) = (cx.input, cx.fs);
    let s = &input.settings.filesystem;
    let deny_read = resolve_all("filesystem.denyRead", Some(&s.deny_read), true, input, fs, out);
    if deny_read.iter().any(|p| p == Path::new("/") || fs.real_path(p).as_deref() == Some(Path::new("/"))) {
        // Hiding everything leaves no shell, no libraries, no srt helper to run.
        out.errors.push(
            "filesystem.denyRead: denying reads of / (or /**) is not supported: deny the directories you mean (/home, /root, /etc, ...)".into(),
        );
    }
    let allow_write = resolve_all("filesystem.allowWrite", Some(&s.allow_write), false, input, fs, out);
    // Every directory this run could make writable, before any is dropped:
    // a link found there may have been planted by a sandbox.
    let could_write: Vec<PathBuf> =
        default_write_paths(input).iter().chain(&allow_write).filter_map(|p| fs.real_path(p)).collect();
    let allow_read: Vec<PathBuf> = resolve_all("filesystem.allowRead", s.allow_read.as_ref(), false, input, fs, out)
        .into_iter()
        .filter(|a| match allow_read_refusal(fs, a, &deny_read, &could_write) {
            Some(why) => {
                out.warnings.push(why);
                false
            }
            None => true,
        })
        .collect();
    (Reads { deny: deny_read, allow: allow_read }, allow_write)
}

/// Phase 2: the write roots, the defaults (unless a read deny hides them) and allowWrite.
fn write_region(cx: &Context<'_, '_>, reads: &Reads, allow_write: Vec<PathBuf>, out: &mut Plan) -> WriteRegion {
    let (input, fs) = (cx.input, cx.fs);
    let mut wanted: Vec<(PathBuf, bool)> =
        default_write_paths(input).into_iter().filter(|p| !reads.denied(p)).map(|p| (p, true)).collect();
    wanted.extend(allow_write.into_iter().map(|p| (p, false)));
    let (mut roots, mut user_roots): (Vec<PathBuf>, Vec<PathBuf>) = (Vec::new(), Vec::new());
    for (lexical, is_default) in wanted {
        if is_virtual(&lexical) {
            continue;
        }
        let Some(real) = fs.real_path(&lexical) else {
            if !is_default {
                tracing::debug!("allowWrite {} does not exist; not bound", lexical.display());
            }
            continue;
        };
        if real != lexical && !is_within(&real, &lexical) {
            out.warnings.push(format!(
                "allowWrite {} resolves through a symlink to {}; it is not made writable (name {} itself if that is meant)",
                lexical.display(),
                real.display(),
                real.display()
            ));
            continue;
        }
        if !is_virtual(&real) && !roots.contains(&real) {
            if !is_default {
                user_roots.push(real.clone());
            }
            roots.push(real);
        }
    }
    WriteRegion { roots, user_roots }
}

/// Phase 3: denyWrite, srt's own paths, the mandatory denies and the
/// repository blockers, where they fall inside the write region; a write
/// root inside a deny is dropped (deny beats allow).
fn protections(cx: &Context<'_, '_>, region: &mut WriteRegion, out: &mut Plan) -> Protections {
    let (input, fs) = (cx.input, cx.fs);
    let s = &input.settings.filesystem;
    let (roots, user_roots) = (&mut region.roots, &region.user_roots);
    let mut write_denies: Vec<PathBuf> = Vec::new();
    let mut missing: Vec<PathBuf> = Vec::new();
    let deny_write = resolve_all("filesystem.denyWrite", Some(&s.deny_write), true, input, fs, out);
    let home_writable = roots.iter().any(|r| is_within(&input.home, r));
    if home_writable {
        out.warnings.push(format!(
            "allowWrite makes your home directory {} writable: srt keeps what it knows read-only (shell start-up files, git and ssh config, editor and agent folders), but a command can still leave files that run later, such as programs in ~/.local/bin or a shell's own config directory",
            input.home.display()
        ));
    }
    // What ssh and git read from home runs code too, wherever a write root
    // puts it; so do the start-up files the environment names.
    let mut home_extras: Vec<PathBuf> = mandatory::HOME_PROTECTED.iter().map(|p| input.home.join(p)).collect();
    home_extras.extend(input.startup.files.iter().cloned());
    // denyWrite (as listed or matched by a glob), srt's own paths, the
    // settings file, ssh's and git's config at home and the start-up files
    // the environment names: a link anywhere on the way, in a writable
    // directory, could be pointed elsewhere (an earlier run may have planted
    // it), and the tool reads through the link. (A path that resolves to
    // itself has none.)
    let named = deny_write.iter().chain(&input.protect).chain(&home_extras);
    for lexical in named.filter(|p| fs.real_path(p).as_deref() != Some(p.as_path())) {
        refuse_replaceable_link(fs, lexical, roots, out);
    }
    for lexical in deny_write.into_iter().chain(input.protect.iter().cloned()).chain(home_extras) {
        let land = landing(fs, &lexical);
        if fs.real_path(&land).is_some() {
            write_denies.push(land);
        } else {
            missing.push(land);
        }
    }
    let scan_depth = input.settings.mandatory_deny_search_depth.unwrap_or(3).clamp(1, 10) as usize;
    let allow_git_config = s.allow_git_config == Some(true);
    let mut scan_roots = vec![input.cwd.clone()];
    scan_roots.extend(roots.iter().cloned());
    if home_writable {
        scan_roots.push(input.home.clone());
    }
    // Where shells read start-up files: home, and the other homes inside a write root.
    let mut homes: Vec<PathBuf> = input.startup.homes.iter().filter_map(|h| fs.real_path(h)).collect();
    homes.push(input.home.clone());
    scan_roots.extend(homes.iter().filter(|h| roots.iter().any(|r| is_within(h, r))).cloned());
    // A file allowWrite names has nothing to scan (and is no unreadable directory).
    scan_roots.retain(|r| fs.is_dir(r));
    scan_roots.sort();
    scan_roots.dedup();
    for root in scan_roots.iter().filter(|r| roots.iter().any(|w| is_within(r, w))) {
        // Protected names, even missing ones, where they take effect: a
        // project's where people open projects (the working directory and
        // home), start-up files where shells start.
        let names =
            mandatory::RootNames { project: *root == input.cwd || *root == input.home, startup: homes.contains(root) };
        let found = mandatory::scan(fs, root, scan_depth, allow_git_config, names);
        for path in &found.existing {
            refuse_replaceable_link(fs, path, roots, out);
        }
        // Below the root's own names, a protected name that is a link (a
        // dangling one left by an earlier run, say) is no reason to refuse
        // every later run: its directory is kept read-only whole instead.
        for path in &found.nested {
            let refusals = replaceable_links(fs, path, roots);
            if refusals.is_empty() {
                continue;
            }
            match path.parent().and_then(|dir| fs.real_path(dir)) {
                Some(dir) if dir != *root => {
                    out.warnings.push(format!(
                        "{} is a symbolic link: {} is kept read-only whole (remove the link with: rm {})",
                        path.display(),
                        dir.display(),
                        shell_word(path)
                    ));
                    write_denies.push(dir);
                }
                _ => out.errors.extend(refusals),
            }
        }
        for path in found.existing.into_iter().chain(found.unreadable) {
            write_denies.push(fs.real_path(&path).unwrap_or(path));
        }
        // Deeper finds are pinned too, as the original pins them: a rename
        // of a directory on the way would carry a protected file (a nested
        // repository's hooks) away and let a fresh one take its name.
        for path in found.nested {
            write_denies.push(fs.real_path(&path).unwrap_or(path));
        }
        missing.extend(found.missing);
    }
    write_denies.retain(|p| fs.real_path(p).is_some() && roots.iter().any(|r| is_within(p, r)) && !is_virtual(p));
    write_denies.sort_by_key(|p| (depth(p), p.clone()));
    write_denies.dedup();
    // Deny beats allow: a write root inside a write deny stays read-only.
    roots.retain(|r| !write_denies.iter().any(|d| is_within(r, d)));
    roots.sort_by_key(|p| (depth(p), p.clone()));

    // No repository may be made, nor a bare one (see `Blocker`), where git
    // on the host would find it: in the directories
    // above the working directory (git looks upwards) and at the top of every
    // directory allowWrite names. An existing repository there keeps its hooks
    // and config, as the scan keeps those of the roots'.
    let mut repo_homes: Vec<PathBuf> = input
        .cwd
        .ancestors()
        .skip(1)
        .filter(|a| roots.iter().any(|r| is_within(a, r)))
        .map(Path::to_path_buf)
        .collect();
    repo_homes.extend(user_roots.iter().filter(|r| **r != input.cwd && **r != input.home).cloned());
    // A single file allowWrite names holds no repository.
    repo_homes.retain(|d| fs.is_dir(d));
    repo_homes.sort();
    repo_homes.dedup();
    for dir in &repo_homes {
        for blocker in mandatory::repository_blockers(fs, dir, &fs.list_dir(dir).unwrap_or_default()) {
            match blocker {
                mandatory::Blocker::Existing(name) => {
                    write_denies.push(fs.real_path(&dir.join(name)).unwrap_or(dir.join(name)))
                }
                mandatory::Blocker::Missing(name) => missing.push(dir.join(name)),
            }
        }
        let git = dir.join(".git");
        if !fs.exists_no_follow(&git) {
            missing.push(git);
        } else if !scan_roots.contains(dir) {
            let found = mandatory::scan(fs, dir, 1, allow_git_config, mandatory::RootNames::NONE);
            for path in found.existing.iter() {
                refuse_replaceable_link(fs, path, roots, out);
            }
            write_denies.extend(found.existing.into_iter().map(|p| fs.real_path(&p).unwrap_or(p)));
            missing.extend(found.missing);
        }
    }
    Protections { write_denies, missing }
}

/// Phase 4a: denied reads that do not exist yet.
fn missing_reads(cx: &Context<'_, '_>, reads: &Reads) -> Vec<PathBuf> {
    let fs = cx.fs;
    let deny_read = &reads.deny;
    // A denied read that does not exist yet must not be created either
    // (`~/.ssh/authorized_keys` under a missing, denied `~/.ssh`).
    let hidden_dirs: Vec<PathBuf> = deny_read.iter().filter_map(|p| fs.real_path(p)).filter(|p| fs.is_dir(p)).collect();
    let missing_reads: Vec<PathBuf> = deny_read
        .iter()
        .filter(|p| fs.real_path(p).is_none())
        .map(|p| landing(fs, p))
        .filter(|p| !hidden_dirs.iter().any(|h| is_within(p, h)))
        .collect();
    missing_reads
}

/// Phase 5: the mounts, in order: the write region shallow first with its
/// pins, denies and placeholders, then the read section, then what every
/// sandbox gets.
fn mounts(
    cx: &Context<'_, '_>,
    reads: &Reads,
    region: WriteRegion,
    protections: Protections,
    placeholders: &[(PathBuf, PathBuf)],
    out: &mut Plan,
) {
    let (input, fs) = (cx.input, cx.fs);
    let (deny_read, allow_read) = (&reads.deny, &reads.allow);
    let WriteRegion { roots, user_roots } = region;
    let mut write_denies = protections.write_denies;
    write_denies.sort_by_key(|p| (depth(p), p.clone()));
    write_denies.dedup();
    out.placeholders = placeholders.iter().map(|(dest, _)| dest.clone()).collect();

    // Where read denies land (directories hidden, files masked).
    let read_landings: Vec<PathBuf> =
        deny_read.iter().filter_map(|lexical| fs.real_path(lexical)).filter(|real| !is_virtual(real)).collect();

    let pins = pins(&roots, write_denies.iter().chain(&read_landings).chain(&out.placeholders), &write_denies);

    // Every bind is a fresh copy of the host path, hiding what was mounted
    // beneath it before: so the write region goes shallow first.
    let mut write_ops: Vec<(usize, u8, Mount)> = Vec::new();
    write_ops.extend(roots.iter().map(|r| (depth(r), 0, Mount::Bind(r.clone(), r.clone()))));
    if let Some(shared) = hidden_shared_tmp(input, &roots, &user_roots) {
        write_ops.push((depth(&shared), 0, Mount::Tmpfs(shared)));
    }
    write_ops.extend(pins.iter().map(|p| (depth(p), 1, Mount::Bind(p.clone(), p.clone()))));
    write_ops.extend(write_denies.iter().map(|d| (depth(d), 2, Mount::RoBind(d.clone(), d.clone()))));
    write_ops.extend(placeholders.iter().map(|(d, src)| (depth(d), 2, Mount::RoBind(src.clone(), d.clone()))));
    write_ops.sort_by(|a, b| (a.0, a.1, mount_dest(&a.2)).cmp(&(b.0, b.1, mount_dest(&b.2))));
    let write_ops: Vec<Mount> = write_ops.into_iter().map(|(_, _, m)| m).collect();
    out.mounts.extend(write_ops.iter().cloned());

    read_section(fs, deny_read, allow_read, &roots, &write_ops, &mut out.mounts);
    out.write_roots = roots;
    finish(input, out);
}

/// The shared temporary directory to replace by an empty tmpfs: when this
/// sandbox's TMPDIR (below it) is writable, and unless allowWrite names a
/// path inside it (then its content is what the settings ask for).
fn hidden_shared_tmp(input: &PlanInput<'_>, roots: &[PathBuf], user_roots: &[PathBuf]) -> Option<PathBuf> {
    let shared = input.shared_tmp.as_ref()?;
    let tmpdir = input.tmpdir.as_ref()?;
    let usable = roots.contains(tmpdir) && is_within(tmpdir, shared) && tmpdir != shared;
    (usable && !user_roots.iter().any(|r| is_within(r, shared))).then(|| shared.clone())
}

/// The kernel lets uid 0 write `/proc/sys` whatever its capabilities, and a
/// caller running as root is uid 0 inside too: `kernel.core_pattern` alone
/// would run a program of the command's choosing as host root. So the kernel
/// knobs are read-only, and the files that trigger or expose kernel state are
/// masked, as container runtimes do.
const PROC_READ_ONLY: &[&str] = &["/proc/sys", "/proc/irq", "/proc/bus", "/proc/fs", "/proc/acpi", "/proc/scsi"];
const PROC_MASKED: &[&str] = &[
    "/proc/sysrq-trigger",
    "/proc/kcore",
    "/proc/kmsg",
    "/proc/kpageflags",
    "/proc/kpagecount",
    "/proc/kpagecgroup",
    "/proc/keys",
    "/proc/key-users",
    "/proc/timer_list",
    "/proc/sched_debug",
    "/proc/latency_stats",
];

fn harden_proc(mounts: &mut Vec<Mount>, fs: &dyn FsView) {
    for p in PROC_READ_ONLY {
        mounts.push(Mount::RoBindTry(p.into(), p.into()));
    }
    // A mask needs its mount point: only files this kernel has (the fresh /proc has the host's set).
    for p in PROC_MASKED.iter().filter(|p| fs.exists_no_follow(Path::new(p))) {
        mounts.push(Mount::RoBind("/dev/null".into(), p.into()));
    }
}

/// The symbolic links met on the way to `path` (its last component
/// included), each where it really sits: its directory resolved, its own name.
fn links_on_the_way(fs: &dyn FsView, path: &Path) -> Vec<PathBuf> {
    let mut links = Vec::new();
    let mut shown = PathBuf::from("/");
    for part in path.components().skip(1) {
        let Some(dir) = fs.real_path(&shown) else { break };
        shown.push(part);
        let at = dir.join(part);
        if fs.exists_no_follow(&at) && fs.real_path(&at).as_ref() != Some(&at) {
            links.push(at);
        }
    }
    links
}

/// A protected path reached through a symlink in a directory the command
/// may write cannot be protected: a mount lands on the link's target, and
/// the command could replace the link (with a file of its own making, or a
/// directory holding one). Refused.
fn refuse_replaceable_link(fs: &dyn FsView, path: &Path, roots: &[PathBuf], out: &mut Plan) {
    for line in replaceable_links(fs, path, roots) {
        if !out.errors.contains(&line) {
            out.errors.push(line);
        }
    }
}

/// Why `path` cannot be protected, one line per replaceable link on its way.
fn replaceable_links(fs: &dyn FsView, path: &Path, roots: &[PathBuf]) -> Vec<String> {
    let mut lines = Vec::new();
    for at in links_on_the_way(fs, path) {
        if !roots.iter().any(|r| is_within(&at, r) && *r != at) {
            continue;
        }
        lines.push(if at == landing_of_name(fs, path) {
            format!(
                "{} is a symbolic link in a directory the command may write: it could be replaced, and a protected file cannot sit on a link; replace the link by the file it points to (or remove it: rm {}), or keep its directory out of allowWrite (or in denyWrite)",
                at.display(),
                shell_word(&at)
            )
        } else {
            format!(
                "{} is reached through the symbolic link {}, in a directory the command may write: the link could be replaced, and the protection would stay on its old target; replace the link by the directory it points to, or keep its directory out of allowWrite (or in denyWrite)",
                path.display(),
                at.display()
            )
        });
    }
    lines
}

/// A path as one word for a shell command people copy.
fn shell_word(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', "'\\''"))
}

/// Where the entry a path names sits: its directory resolved, its own name.
fn landing_of_name(fs: &dyn FsView, path: &Path) -> PathBuf {
    match (path.parent().and_then(|p| fs.real_path(p)), path.file_name()) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// Why an allowRead path is not re-opened, if it is not. It must not be
/// reached through a link a sandbox could have planted (in a directory this
/// run could write), and it re-opens only what it names: a link elsewhere
/// that leads into a denied region does not lift that region's deny.
fn allow_read_refusal(fs: &dyn FsView, path: &Path, deny_read: &[PathBuf], could_write: &[PathBuf]) -> Option<String> {
    let real = fs.real_path(path)?;
    if real == path {
        return None;
    }
    if let Some(link) =
        links_on_the_way(fs, path).into_iter().find(|at| could_write.iter().any(|w| is_within(at, w) && *w != *at))
    {
        return Some(format!(
            "allowRead {} is reached through the symbolic link {}, in a directory a sandbox may write: it is not re-opened (name {} itself if that is meant)",
            path.display(),
            link.display(),
            real.display()
        ));
    }
    let denied_elsewhere =
        deny_read.iter().find(|d| fs.real_path(d).is_some_and(|rd| is_within(&real, &rd)) && !is_within(path, d))?;
    Some(format!(
        "allowRead {} resolves through a symlink to {}, inside denyRead {} which it does not name: it is not re-opened (name {} itself if that is meant)",
        path.display(),
        real.display(),
        denied_elsewhere.display(),
        real.display()
    ))
}

/// Mounts for protected paths that do not exist yet, where the command
/// could create them: a read-only mount on the first missing component.
/// Returns (destination, source) pairs; files in the way join the denies.
fn placeholder_mounts(
    cx: &Context<'_, '_>,
    roots: &[PathBuf],
    protections: &mut Protections,
    missing_reads: &[PathBuf],
    reads: &Reads,
    out: &mut Plan,
) -> Vec<(PathBuf, PathBuf)> {
    let (input, fs) = (cx.input, cx.fs);
    let (write_denies, missing) = (&mut protections.write_denies, &protections.missing);
    let mut placeholders: Vec<(PathBuf, PathBuf)> = Vec::new();
    for (path, is_read_deny) in missing.iter().map(|p| (p, false)).chain(missing_reads.iter().map(|p| (p, true))) {
        let creatable = roots.iter().any(|r| is_within(path, r) && r != path)
            && !write_denies.iter().any(|d| is_within(path, d))
            && (is_read_deny || !reads.denied(path))
            && !is_virtual(path);
        if !creatable {
            continue;
        }
        let mut first = path.clone();
        while let Some(parent) = first.parent() {
            if fs.real_path(parent).is_some() {
                break;
            }
            first = parent.to_path_buf();
        }
        let Some(parent) = first.parent().map(Path::to_path_buf) else { continue };
        if !fs.is_dir(&parent) {
            // A file sits where a directory would have to be made: keep that file as it is.
            write_denies.push(parent);
            continue;
        }
        // An empty directory, as a rule: git ignores empty directories, so a
        // placeholder shows up neither in `git status` nor in `git add -A`,
        // inside or on the host. What tools read as files is a file.
        // (Only the bare-repository blockers are missing under these names
        // outside `.git`; a missing denyWrite of the same name is kept from
        // being made just as well.)
        let pipe = first == *path
            && first.file_name().is_some_and(|n| mandatory::BLOCKER_PIPES.iter().any(|b| n == *b))
            && parent.file_name().is_none_or(|n| n != ".git");
        let source: PathBuf = match placeholder_file(&first).filter(|_| first == *path) {
            _ if pipe => {
                out.pipes.push(first.clone());
                input.empty_pipe.clone()
            }
            Some("") => "/dev/null".into(),
            Some(content) => {
                out.prefilled.push((first.clone(), content));
                first.clone()
            }
            None => input.empty_dir.clone(),
        };
        match placeholders.iter_mut().find(|(dest, _)| *dest == first) {
            // A file placeholder already blocks everything beneath it.
            Some((_, existing)) if first == *path => *existing = source,
            Some(_) => {}
            None => placeholders.push((first, source)),
        }
    }
    placeholders
}

/// Pins: every directory strictly between a protected path and its write
/// root becomes a mount point of its own (a writable bind onto itself), so
/// it cannot be renamed or removed from inside, which would carry the
/// protected path away and let a fresh one be made in its place.
fn pins<'a>(roots: &[PathBuf], protected: impl Iterator<Item = &'a PathBuf>, write_denies: &[PathBuf]) -> Vec<PathBuf> {
    let mut pins: Vec<PathBuf> = Vec::new();
    for protected in protected {
        for root in roots.iter().filter(|r| is_within(protected, r)) {
            for ancestor in protected.ancestors().skip(1) {
                if ancestor == root.as_path() || !is_within(ancestor, root) {
                    break;
                }
                pins.push(ancestor.to_path_buf());
            }
        }
    }
    pins.retain(|p| !roots.contains(p) && !write_denies.iter().any(|d| is_within(p, d)));
    pins.sort_by_key(|p| (depth(p), p.clone()));
    pins.dedup();
    pins
}

/// Read denies, shallow first; each hidden directory gets its carve-outs
/// (write roots and allowRead paths beneath it) and is then made read-only.
fn read_section(
    fs: &dyn FsView,
    deny_read: &[PathBuf],
    allow_read: &[PathBuf],
    roots: &[PathBuf],
    write_ops: &[Mount],
    mounts: &mut Vec<Mount>,
) {
    let mut read_ops: Vec<(PathBuf, bool)> = Vec::new();
    for lexical in deny_read {
        if let Some(real) = fs.real_path(lexical) {
            if !is_virtual(&real) {
                read_ops.push((real, true));
            }
        }
    }
    for lexical in allow_read {
        if let Some(real) = fs.real_path(lexical) {
            read_ops.push((real, false));
        }
    }
    read_ops.sort_by_key(|(p, deny)| (depth(p), !*deny, p.clone()));
    read_ops.dedup();
    let mut hidden: Vec<PathBuf> = Vec::new();
    let mut remounts: Vec<PathBuf> = Vec::new();
    for (path, deny) in &read_ops {
        let under_hidden = hidden.iter().any(|h| is_within(path, h) && h != path);
        if *deny {
            if fs.is_dir(path) {
                mounts.push(Mount::Tmpfs(path.clone()));
                remounts.push(path.clone());
                hidden.push(path.clone());
                // Write roots beneath stay writable, as allowWrite asked.
                for root in roots.iter().filter(|r| is_within(r, path) && *r != path) {
                    mounts.push(Mount::Bind(root.clone(), root.clone()));
                    reapply_beneath(mounts, write_ops, root);
                }
            } else if !allow_read.iter().any(|a| fs.real_path(a).as_deref() == Some(path)) {
                // A file deny is lifted only by an allowRead of that same file.
                mounts.push(Mount::RoBind("/dev/null".into(), path.clone()));
            }
        } else if under_hidden {
            let writable = roots.iter().any(|r| is_within(path, r));
            if writable {
                mounts.push(Mount::Bind(path.clone(), path.clone()));
            } else {
                mounts.push(Mount::RoBind(path.clone(), path.clone()));
            }
            reapply_beneath(mounts, write_ops, path);
        }
    }
    for path in remounts {
        mounts.push(Mount::RemountRo(path));
    }
}

/// A fresh bind from the host brings back what earlier mounts covered beneath
/// it: put the write region's pins and denies under it back on top, in order.
fn reapply_beneath(mounts: &mut Vec<Mount>, write_ops: &[Mount], under: &Path) {
    for op in write_ops {
        let dest = mount_dest(op);
        if dest != under && is_within(dest, under) {
            mounts.push(op.clone());
        }
    }
}

/// The binds whose result the helper checks from inside: (destination,
/// source) for each destination that still shows its bind once every mount
/// is made (a later tmpfs over an ancestor hides it; a later bind replaces
/// it). A path swapped for a symlink between planning and mounting would
/// move a mount elsewhere: the check catches that before the command runs.
pub fn visible_binds(plan: &Plan) -> Vec<(PathBuf, PathBuf)> {
    let mut visible: Vec<(PathBuf, PathBuf)> = Vec::new();
    for m in &plan.mounts {
        match m {
            Mount::Bind(src, dest) | Mount::RoBind(src, dest) => {
                visible.retain(|(d, _)| !is_within(d, dest));
                if dest != Path::new("/") && !is_virtual(dest) {
                    visible.push((dest.clone(), src.clone()));
                }
            }
            Mount::Tmpfs(dest) | Mount::Dev(dest) | Mount::Proc(dest) => visible.retain(|(d, _)| !is_within(d, dest)),
            Mount::RoBindTry(..) | Mount::RemountRo(_) => {}
        }
    }
    visible
}

/// How many mounts each planned destination must carry once bubblewrap is
/// done (before the host's own mounts there are added). A mount that a
/// symlink swapped in mid-setup led elsewhere leaves its destination short.
pub fn mount_point_counts(plan: &Plan) -> std::collections::BTreeMap<PathBuf, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for m in &plan.mounts {
        if let Mount::Bind(_, dest) | Mount::RoBind(_, dest) | Mount::Tmpfs(dest) = m {
            if dest != Path::new("/") && !is_virtual(dest) {
                *counts.entry(dest.clone()).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// Where a mount lands.
pub fn mount_dest(m: &Mount) -> &Path {
    match m {
        Mount::Bind(_, d) | Mount::RoBind(_, d) | Mount::RoBindTry(_, d) => d,
        Mount::Tmpfs(d) | Mount::RemountRo(d) | Mount::Dev(d) | Mount::Proc(d) => d,
    }
}

fn finish(input: &PlanInput<'_>, out: &mut Plan) {
    // The helper must stay executable whatever the read denies hide.
    let helper = normalize(&input.helper);
    out.mounts.push(Mount::RoBind(helper.clone(), helper));
    out.env.push(("SANDBOX_RUNTIME".into(), "1".into()));
    if let Some(tmp) = input.tmpdir.as_ref().filter(|t| out.write_roots.iter().any(|r| is_within(t, r))) {
        out.env.push(("TMPDIR".into(), tmp.display().to_string()));
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

#[cfg(test)]
mod visible_tests {
    use super::*;

    #[test]
    fn later_mounts_hide_or_replace_earlier_binds() {
        let plan = Plan {
            mounts: vec![
                Mount::RoBind("/".into(), "/".into()),
                Mount::Bind("/w".into(), "/w".into()),
                Mount::RoBind("/w/.git/hooks".into(), "/w/.git/hooks".into()),
                Mount::Bind("/h/a".into(), "/h/a".into()),
                Mount::Tmpfs("/h".into()),
                Mount::Bind("/h/a".into(), "/h/a".into()),
                Mount::RoBind("/dev/null".into(), "/w/.bashrc".into()),
                Mount::RoBind("/dev/null".into(), "/proc/kcore".into()),
            ],
            ..Default::default()
        };
        let shown: Vec<String> =
            visible_binds(&plan).iter().map(|(d, s)| format!("{} <- {}", d.display(), s.display())).collect();
        assert_eq!(shown, ["/w <- /w", "/w/.git/hooks <- /w/.git/hooks", "/h/a <- /h/a", "/w/.bashrc <- /dev/null"]);
    }
}
