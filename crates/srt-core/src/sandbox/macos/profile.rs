//! The Seatbelt profile (SBPL) that macOS's `sandbox-exec -p` runs a command
//! under: a pure function of the settings, the working and home
//! directories, the proxy ports and the log tag, over the same view of the
//! disk as the Linux plan. Compiled and golden-tested on every OS.
//!
//! Seatbelt takes the last rule that matches, so each section allows first
//! and denies after. Unlike bubblewrap's mounts, its rules name paths that
//! do not exist yet, so no placeholders are needed: a protected name is
//! denied by a pattern wherever it would take effect.

use std::path::{Component, Path, PathBuf};

use crate::config::{PathEntry, Settings};
use crate::sandbox::glob::{is_glob, literal_regex, Glob};
use crate::sandbox::paths::{absolute, is_within, landing, FsView};
use crate::sandbox::protected_names as names;

/// What the profile depends on besides the settings.
#[derive(Clone, Debug)]
pub struct ProfileInput<'a> {
    pub settings: &'a Settings,
    /// Working directory and home, resolved.
    pub cwd: PathBuf,
    pub home: PathBuf,
    /// The sandbox's TMPDIR (a default write path), if it has one.
    pub tmpdir: Option<PathBuf>,
    /// The host's loopback ports the command may reach (the proxies).
    pub http_port: u16,
    pub socks_port: u16,
    /// The text every denial carries, which the log monitor looks for.
    pub log_tag: String,
    /// Extra paths the command must not write (srt's own files, the settings file).
    pub protect: Vec<PathBuf>,
}

/// The profile, and what could not be applied as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub text: String,
    pub warnings: Vec<String>,
}

/// A path filter of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Filter {
    /// The path and everything beneath it.
    Subpath(PathBuf),
    /// The path alone.
    Literal(PathBuf),
    /// Whole paths matching an anchored regular expression.
    Regex(String),
    /// Matching the first expression, unless matching the second.
    RegexUnless(String, String),
    /// Matching the first filter, unless matching one of the others.
    Except(Box<Filter>, Vec<Filter>),
}

/// A string as SBPL reads it: quoted, `"` and `\` escaped (control
/// characters as JSON writes them, which SBPL's reader shares).
fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

fn render(filter: &Filter) -> String {
    let path = |p: &Path| quote(&p.to_string_lossy());
    match filter {
        Filter::Subpath(p) => format!("(subpath {})", path(p)),
        Filter::Literal(p) => format!("(literal {})", path(p)),
        Filter::Regex(r) => format!("(regex {})", quote(r)),
        Filter::RegexUnless(r, not) => {
            format!("(require-all (regex {}) (require-not (regex {})))", quote(r), quote(not))
        }
        Filter::Except(filter, carved) if carved.is_empty() => render(filter),
        Filter::Except(filter, carved) => {
            let nots: Vec<String> = carved.iter().map(|c| format!("(require-not {})", render(c))).collect();
            format!("(require-all {} {})", render(filter), nots.join(" "))
        }
    }
}

/// The spelling macOS gives a path: `/tmp`, `/var` and `/etc` are links into `/private`.
fn private_spelling(path: &Path) -> PathBuf {
    let mut parts = path.components();
    if let (Some(Component::RootDir), Some(Component::Normal(first))) = (parts.next(), parts.next()) {
        if ["tmp", "var", "etc"].iter().any(|d| first == *d) {
            return Path::new("/private").join(path.strip_prefix("/").unwrap_or(path));
        }
    }
    path.to_path_buf()
}

/// One settings entry as the profile uses it.
struct Entry {
    filter: Filter,
    /// The directory it names, or a pattern's resolved base.
    base: PathBuf,
    /// The pattern, if it is one (matched under `base`).
    glob: Option<Glob>,
}

impl Entry {
    /// Whether it denies `path` itself (a pattern: with what is beneath a match).
    fn covers(&self, path: &Path) -> bool {
        match &self.glob {
            Some(glob) => glob.matches(&self.base, path, true),
            None => is_within(path, &self.base),
        }
    }
}

/// One settings entry as a filter: a glob as a regular expression over its
/// resolved base, anything else as the path it lands on. `subtree`: a glob
/// match covers what is beneath it too (for denies).
fn entry_filter(entry: &PathEntry, input: &ProfileInput<'_>, fs: &dyn FsView, subtree: bool) -> Entry {
    // A deny written as `**/name` means that name wherever it is: matched
    // at any depth of the whole disk (the original anchors it at the working
    // directory, so `~/other/.env` stays readable). Seatbelt matches
    // patterns as paths are used, so this costs no walk.
    if let (false, true, Some(rest)) = (entry.is_literal(), subtree, entry.text().strip_prefix("**/")) {
        let glob = Glob::new(&Path::new("/**").join(rest));
        let base = PathBuf::from("/");
        return Entry { filter: Filter::Regex(glob.to_regex(&base, subtree)), base, glob: Some(glob) };
    }
    let path = absolute(entry, &input.cwd, &input.home);
    if !entry.is_literal() && is_glob(&path.to_string_lossy()) {
        let glob = Glob::new(&path);
        let base = private_spelling(&landing(fs, &glob.base));
        return Entry { filter: Filter::Regex(glob.to_regex(&base, subtree)), base, glob: Some(glob) };
    }
    let landed = private_spelling(&landing(fs, &path));
    Entry { filter: Filter::Subpath(landed.clone()), base: landed, glob: None }
}

/// Builds the profile; refuses one `sandbox-exec` would not load.
pub fn profile(input: &ProfileInput<'_>, fs: &dyn FsView) -> Result<Profile, String> {
    let planned = plan(input, fs);
    match unusable_string(&planned.text) {
        Some(why) => Err(why),
        None => Ok(planned),
    }
}

fn plan(input: &ProfileInput<'_>, fs: &dyn FsView) -> Profile {
    let s = input.settings;
    let mut out = Profile::default();
    let mut text = String::new();
    let tag = quote(&input.log_tag);
    let rule = |verb: &str, ops: &str, filters: &[Filter]| -> String {
        if filters.is_empty() {
            return String::new();
        }
        // One filter a line, and the closing parenthesis on its own, so that
        // every line of a rule reads (and diffs) alone.
        let mut lines: Vec<String> = filters.iter().map(|f| format!("  {}", render(f))).collect();
        if verb == "deny" {
            lines.push(format!("  (with message {tag})"));
        }
        format!("({verb} {ops}\n{}\n)\n", lines.join("\n"))
    };

    text.push_str(&format!("(version 1)\n(deny default (with message {tag}))\n; LogTag: {}\n", input.log_tag));
    text.push_str(&processes_and_services(s));
    text.push_str(&network(s, input, fs));
    let fs_rules = s.filesystem.disabled != Some(true);

    // Reads: everything, but denyRead (allowRead carving out of it).
    text.push_str("\n; File read\n(allow file-read*)\n");
    let deny_read: Vec<Entry> = s.filesystem.deny_read.iter().map(|e| entry_filter(e, input, fs, true)).collect();
    let allow_read: Vec<Entry> =
        s.filesystem.allow_read.iter().flatten().map(|e| entry_filter(e, input, fs, false)).collect();
    if fs_rules && !deny_read.is_empty() {
        let filters = |entries: &[Entry]| entries.iter().map(|e| e.filter.clone()).collect::<Vec<_>>();
        text.push_str(&rule("deny", "file-read*", &filters(&deny_read)));
        text.push_str(&rule("allow", "file-read*", &filters(&allow_read)));
        // Seatbelt takes the last match, so what the allows re-opened but a
        // deny meant is denied again after them: a path deny inside an allowed
        // directory, and every pattern, less the allows it covers itself (the
        // carve-outs of a region like `~/*`). A leaf pattern such as `**/.env`
        // covers no allowed directory, so it wins inside all of them.
        let late = late_read_denies(&deny_read, &allow_read);
        text.push_str(&rule("deny", "file-read*", &late));
        // realpath() and the dynamic loader walk through denied directories.
        text.push_str("(allow file-read-metadata (vnode-type DIRECTORY))\n");
        if deny_read.iter().any(|d| d.covers(Path::new("/"))) {
            text.push_str("(allow file-read* (literal \"/\"))\n");
        }
    }

    // Writes: the write roots, then every deny after them.
    text.push_str("\n; File write\n");
    if !fs_rules {
        text.push_str("(allow file-write*)\n");
        out.text = text + &pty(s);
        return out;
    }
    let mut roots: Vec<Filter> = DEVICE_WRITE_PATHS.iter().map(|d| Filter::Literal(PathBuf::from(d))).collect();
    // The directories writes are allowed under, and where the protected
    // names are denied from (a pattern root: its base, which holds every
    // match).
    let mut write_dirs: Vec<PathBuf> = Vec::new();
    let mut name_roots: Vec<PathBuf> = Vec::new();
    let defaults =
        input.tmpdir.iter().cloned().chain(crate::config::HOME_WRITE_PATHS.iter().map(|p| input.home.join(p)));
    for path in defaults {
        let landed = private_spelling(&landing(fs, &path));
        roots.push(Filter::Subpath(landed.clone()));
        write_dirs.push(landed.clone());
        name_roots.push(landed);
    }
    for entry in &s.filesystem.allow_write {
        let root = entry_filter(entry, input, fs, false);
        if root.glob.is_none() {
            write_dirs.push(root.base.clone());
        }
        name_roots.push(root.base);
        roots.push(root.filter);
    }
    text.push_str(&rule("allow", "file-write*", &roots));
    let deny_write: Vec<Entry> = s.filesystem.deny_write.iter().map(|e| entry_filter(e, input, fs, true)).collect();
    let mut write_denies: Vec<Filter> = deny_write.iter().map(|d| d.filter.clone()).collect();
    // Directories none of whose ancestors may be renamed (or made, where
    // missing): a move would carry a denied path's protection away with it,
    // or put a prepared directory where a denied name is.
    let mut pinned_under: Vec<PathBuf> = Vec::new();
    // srt's own files, the settings file, ssh's and git's config at home:
    // where they land, and the name itself too, so that a link on the way
    // cannot be pointed elsewhere.
    let home_extras = names::HOME_PROTECTED.iter().map(|p| input.home.join(p));
    for path in input.protect.iter().cloned().chain(home_extras) {
        let (named, landed) = (private_spelling(&path), private_spelling(&landing(fs, &path)));
        if named != landed {
            write_denies.push(Filter::Subpath(named.clone()));
            pinned_under.push(named);
        }
        write_denies.push(Filter::Subpath(landed.clone()));
        pinned_under.push(landed);
    }
    // The protected names, wherever a write root holds them.
    let mut bases: Vec<PathBuf> = vec![private_spelling(&input.cwd)];
    bases.extend(name_roots.iter().filter(|r| fs.is_dir(r)).cloned());
    bases.sort();
    bases.dedup();
    bases.retain(|b| name_roots.iter().any(|r| is_within(b, r)));
    let allow_git_config = s.filesystem.allow_git_config == Some(true);
    for base in &bases {
        write_denies.extend(protected_names(base, allow_git_config));
        write_denies.extend(repository_blockers(base, fs));
    }
    text.push_str(&rule("deny", "file-write*", &write_denies));

    // Moves and deletions. A read-denied path may not be renamed to where
    // it could be read, except where reads and writes are both allowed
    // again (so files in a project under a denied home can still be
    // deleted and saved by rename).
    text.push_str("\n; Moves\n");
    let filters = |entries: &[Entry]| entries.iter().map(|e| e.filter.clone()).collect::<Vec<_>>();
    text.push_str(&rule("deny", "file-write-unlink", &filters(&deny_read)));
    text.push_str(&rule("allow", "file-write-unlink", &unlink_reopened(&allow_read, &write_dirs)));
    text.push_str(&rule("deny", "file-write-unlink", &late_read_denies(&deny_read, &allow_read)));
    // No directory above a denied path may be renamed or made, nor a
    // pattern's base; nor a write root's repository and agent directories
    // (renamed away, edited, renamed back).
    let denied_bases = deny_read.iter().chain(&deny_write).map(|d| (d.base.clone(), d.glob.is_some()));
    let mut pins: Vec<Filter> = Vec::new();
    for (path, pattern) in denied_bases.chain(pinned_under.into_iter().map(|p| (p, false))) {
        let skip = if pattern { 0 } else { 1 };
        for ancestor in path.ancestors().skip(skip).filter(|a| a.parent().is_some()) {
            pins.push(Filter::Literal(ancestor.to_path_buf()));
        }
    }
    let mut nested: Vec<Filter> = Vec::new();
    for base in &bases {
        pins.extend(REPOSITORY_DIRS.iter().map(|d| Filter::Literal(base.join(d))));
        nested.push(repository_dirs_below(base));
    }
    dedup(&mut pins);
    text.push_str(&rule("deny", "file-write-unlink file-write-create", &pins));
    text.push_str(&rule("deny", "file-write-unlink", &nested));
    // And what no write may touch stays so, whatever was allowed above.
    dedup(&mut write_denies);
    text.push_str(&rule("deny", "file-write-unlink", &write_denies));
    out.text = text + &pty(s);
    out
}

/// The read denies the allows re-opened that must win again after them:
/// a path deny inside what an allow covers, and every pattern, less the
/// allows it covers itself (the carve-outs of a region like `~/*`). A leaf
/// pattern such as `**/.env` covers no allowed directory, so it wins inside
/// all of them.
fn late_read_denies(deny_read: &[Entry], allow_read: &[Entry]) -> Vec<Filter> {
    deny_read
        .iter()
        .filter_map(|d| match d.glob {
            None => allow_read.iter().any(|a| a.covers(&d.base) && a.base != d.base).then(|| d.filter.clone()),
            Some(_) => {
                let carved = allow_read.iter().filter(|a| d.covers(&a.base)).map(|a| a.filter.clone()).collect();
                Some(Filter::Except(Box::new(d.filter.clone()), carved))
            }
        })
        .collect()
}

/// Where deleting and renaming may be allowed again after a read deny:
/// what `allowRead` re-opens, and only inside a write root (outside one,
/// the default denies it, and an allow here would override that).
fn unlink_reopened(allow_read: &[Entry], write_dirs: &[PathBuf]) -> Vec<Filter> {
    let mut out = Vec::new();
    for allow in allow_read {
        for dir in write_dirs {
            if allow.glob.is_none() && is_within(dir, &allow.base) {
                out.push(Filter::Subpath(dir.clone()));
            } else if is_within(&allow.base, dir) {
                out.push(allow.filter.clone());
            }
        }
    }
    dedup(&mut out);
    out
}

fn dedup(filters: &mut Vec<Filter>) {
    let mut seen = Vec::new();
    filters.retain(|f| {
        let new = !seen.contains(f);
        seen.push(f.clone());
        new
    });
}

/// The directories of a repository or an agent's settings, which hold
/// protected names: at a write root's top they can be neither renamed nor
/// made.
const REPOSITORY_DIRS: &[&str] = &[".git", ".claude", ".hg"];

/// The same directories deeper down (outside `node_modules`): not renamed.
fn repository_dirs_below(base: &Path) -> Filter {
    let anchor = format!("^{}", literal_regex(&base.to_string_lossy()));
    let names: Vec<String> = REPOSITORY_DIRS.iter().map(|d| literal_regex(d)).collect();
    Filter::RegexUnless(format!("{anchor}/(.*/)?({})$", names.join("|")), format!("{anchor}/(.*/)?node_modules/"))
}

/// The default write paths that are devices (the reference's list).
const DEVICE_WRITE_PATHS: &[&str] =
    &["/dev/stdout", "/dev/stderr", "/dev/null", "/dev/tty", "/dev/dtracehelper", "/dev/autofs_nowait"];

/// The longest string `sandbox-exec` reads (bytes as written between the
/// quotes): a longer one makes it reject the whole profile ("Error reading
/// string").
pub const SBPL_STRING_MAX: usize = 1025;

/// What srt's own alternations stay under, with room to spare.
const ALTERNATION_MAX: usize = 900;

/// The protected names at any depth under `base`, outside `node_modules` (a
/// dependency's own `.vscode` is its business): files as
/// `^<base>(/.*)?/(<name>|...)$`, directories as `...(/.*)?$`. One
/// alternation per kind (split where it would grow too long), not one rule
/// per name: `sandbox-exec` compiles each filter, and a profile with a few
/// write roots would otherwise carry hundreds.
fn protected_names(base: &Path, allow_git_config: bool) -> Vec<Filter> {
    let anchor = format!("^{}", literal_regex(&base.to_string_lossy()));
    let outside_deps = format!("{anchor}/(.*/)?node_modules/");
    let mut files: Vec<String> =
        names::STARTUP_FILES.iter().chain(names::PROJECT_FILES).map(|n| n.to_string()).collect();
    files.extend(names::PROTECTED_HG.iter().map(|h| format!(".hg/{h}")));
    if !allow_git_config {
        files.extend(names::PROTECTED_GIT_CONFIG.iter().map(|g| format!(".git/{g}")));
    }
    let mut trees: Vec<String> = names::PROTECTED_DIRS.iter().map(|d| d.to_string()).collect();
    trees.extend(names::PROTECTED_CLAUDE.iter().map(|c| format!(".claude/{c}")));
    trees.extend(names::PROTECTED_GIT.iter().map(|g| format!(".git/{g}")));
    let lead = format!("{anchor}(/.*)?/(");
    alternations(&lead, &files, ")$")
        .into_iter()
        .chain(alternations(&lead, &trees, ")(/.*)?$"))
        .map(|r| Filter::RegexUnless(r, outside_deps.clone()))
        .collect()
}

/// `lead` + names joined by `|` + `tail`, as few regexes as keep each
/// under `ALTERNATION_MAX` bytes as written (a name too long for any stays
/// alone, and the length check refuses the profile).
fn alternations(lead: &str, names: &[String], tail: &str) -> Vec<String> {
    let written = |r: &str| quote(r).len() - 2;
    let mut out = Vec::new();
    let mut chunk: Vec<String> = Vec::new();
    for name in names.iter().map(|n| literal_regex(n)) {
        let longer = format!("{lead}{}|{name}{tail}", chunk.join("|"));
        if !chunk.is_empty() && written(&longer) > ALTERNATION_MAX {
            out.push(format!("{lead}{}{tail}", chunk.join("|")));
            chunk.clear();
        }
        chunk.push(name);
    }
    if !chunk.is_empty() {
        out.push(format!("{lead}{}{tail}", chunk.join("|")));
    }
    out
}

/// The first string of `text` that `sandbox-exec` would not read as
/// written, and why: longer than it reads, or holding a control character
/// (written as JSON escapes it, which SBPL may read otherwise, so a rule
/// could silently fail to match).
fn unusable_string(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        let mut control = false;
        while end < bytes.len() && bytes[end] != b'"' {
            if bytes[end] == b'\\' {
                // `\\` and `\"` are SBPL's own; any other escape is a control character.
                control |= !matches!(bytes.get(end + 1), Some(b'\\' | b'"'));
                end += 2;
            } else {
                end += 1;
            }
        }
        let end = end.min(bytes.len());
        let shown = || String::from_utf8_lossy(&bytes[start..end]).chars().take(80).collect::<String>();
        if end - start > SBPL_STRING_MAX {
            return Some(format!(
                "a path or pattern is too long for a Seatbelt profile (sandbox-exec reads at most {SBPL_STRING_MAX} bytes in a string): {}... ({} bytes)",
                shown(),
                end - start
            ));
        }
        if control {
            return Some(format!(
                "a path or pattern holds a control character, which a Seatbelt profile cannot match: {}",
                shown()
            ));
        }
        i = end + 1;
    }
    None
}

/// No repository may be made at `base`: neither a `.git` nor a Mercurial
/// one, nor may it become a bare repository (its `HEAD`, else what git
/// also needs beside one).
fn repository_blockers(base: &Path, fs: &dyn FsView) -> Vec<Filter> {
    let mut filters = Vec::new();
    for name in [".git", ".hg"] {
        if !fs.exists_no_follow(&base.join(name)) {
            filters.push(Filter::Subpath(base.join(name)));
        }
    }
    if !fs.exists_no_follow(&base.join("HEAD")) {
        filters.push(Filter::Literal(base.join("HEAD")));
    } else {
        for name in ["refs", "objects", "commondir"] {
            if !fs.exists_no_follow(&base.join(name)) {
                filters.push(Filter::Subpath(base.join(name)));
            }
        }
    }
    filters
}

/// The process, service, IPC and device rules every profile holds.
fn processes_and_services(s: &Settings) -> String {
    let mut text = String::from(
        "\n; Processes\n(allow process-exec)\n(allow process-fork)\n(allow process-info* (target same-sandbox))\n\
         (allow signal (target same-sandbox))\n(allow mach-priv-task-port (target same-sandbox))\n(allow user-preference-read)\n",
    );
    let mut services: Vec<String> = SERVICES.iter().map(|n| format!("(global-name {})", quote(n))).collect();
    if s.enable_weaker_network_isolation == Some(true) {
        // Go's TLS verifies certificates through trustd.
        services.push(format!("(global-name {})", quote("com.apple.trustd.agent")));
    }
    if s.allow_apple_events == Some(true) {
        services.extend(APPLE_EVENT_SERVICES.iter().map(|n| format!("(global-name {})", quote(n))));
    }
    for name in s.network.allow_mach_lookup.iter().flatten() {
        services.push(match name.strip_suffix('*') {
            Some(prefix) => format!("(global-name-prefix {})", quote(prefix)),
            None => format!("(global-name {})", quote(name)),
        });
    }
    text.push_str(&format!("\n; Services\n(allow mach-lookup\n  {}\n)\n", services.join("\n  ")));
    if s.allow_apple_events == Some(true) {
        text.push_str("(allow appleevent-send)\n(allow lsopen)\n");
    }
    text.push_str(
        "\n; IPC, devices, system values\n(allow ipc-posix-shm)\n(allow ipc-posix-sem)\n\
         (allow iokit-open (iokit-registry-entry-class \"IOSurfaceRootUserClient\") (iokit-registry-entry-class \"RootDomainUserClient\") (iokit-user-client-class \"IOSurfaceSendRight\"))\n\
         (allow iokit-get-properties)\n(allow system-socket (require-all (socket-domain AF_SYSTEM) (socket-protocol 2)))\n\
         (allow distributed-notification-post)\n",
    );
    let sysctls: Vec<String> = SYSCTL_NAMES
        .iter()
        .map(|n| format!("(sysctl-name {})", quote(n)))
        .chain(SYSCTL_PREFIXES.iter().map(|p| format!("(sysctl-name-prefix {})", quote(p))))
        .collect();
    text.push_str(&format!("(allow sysctl-read\n  {}\n)\n", sysctls.join("\n  ")));
    text.push_str("(allow sysctl-write (sysctl-name \"kern.tcsm_enable\"))\n");
    let devices: Vec<String> = IOCTL_DEVICES.iter().map(|d| format!("(literal {})", quote(d))).collect();
    text.push_str(&format!("(allow file-ioctl {})\n", devices.join(" ")));
    text
}

/// Outbound only to the proxies on the host's loopback, plus what the
/// settings open (Unix sockets, local binding).
fn network(s: &Settings, input: &ProfileInput<'_>, fs: &dyn FsView) -> String {
    let n = &s.network;
    let mut text = String::from("\n; Network\n");
    let mut ports = vec![input.http_port];
    if input.socks_port != input.http_port {
        ports.push(input.socks_port);
    }
    for port in ports {
        text.push_str(&format!("(allow network-outbound (remote ip \"localhost:{port}\"))\n"));
    }
    if n.allow_local_binding == Some(true) {
        text.push_str(
            "(allow network-bind (local ip \"*:*\"))\n(allow network-inbound (local ip \"*:*\"))\n(allow network-outbound (remote ip \"localhost:*\"))\n",
        );
    }
    let sockets: Vec<&String> = n.allow_unix_sockets.iter().flatten().collect();
    if n.allow_all_unix_sockets == Some(true) {
        text.push_str(
            "(allow system-socket (socket-domain AF_UNIX))\n(allow network-bind (local unix-socket (path-regex \"^/\")))\n\
             (allow network-outbound (remote unix-socket (path-regex \"^/\")))\n",
        );
    } else if !sockets.is_empty() {
        text.push_str("(allow system-socket (socket-domain AF_UNIX))\n");
        for path in sockets {
            // `~` and relative paths resolved, and where a link lands (the
            // kernel checks the socket's real path).
            let path = absolute(&PathEntry::Literal(path.clone()), &input.cwd, &input.home);
            let p = quote(&private_spelling(&landing(fs, &path)).to_string_lossy());
            text.push_str(&format!(
                "(allow network-bind (local unix-socket (subpath {p})))\n(allow network-outbound (remote unix-socket (subpath {p})))\n"
            ));
        }
    }
    text
}

/// A terminal of its own, when the settings allow one.
fn pty(s: &Settings) -> String {
    if s.allow_pty != Some(true) {
        return String::new();
    }
    "\n; Terminal\n(allow pseudo-tty)\n(allow file-ioctl (literal \"/dev/ptmx\") (regex \"^/dev/ttys\"))\n\
     (allow file-read* file-write* (literal \"/dev/ptmx\") (regex \"^/dev/ttys\"))\n"
        .into()
}

/// Services every process needs (fonts, logging, directory lookups, security).
const SERVICES: &[&str] = &[
    "com.apple.audio.systemsoundserver",
    "com.apple.bsd.dirhelper",
    "com.apple.coreservices.launchservicesd",
    "com.apple.distributed_notifications@Uv3",
    "com.apple.FontObjectsServer",
    "com.apple.fonts",
    "com.apple.logd",
    "com.apple.lsd.mapdb",
    "com.apple.PowerManagement.control",
    "com.apple.SecurityServer",
    "com.apple.securityd.xpc",
    "com.apple.system.logger",
    "com.apple.system.notification_center",
    "com.apple.system.opendirectoryd.libinfo",
    "com.apple.system.opendirectoryd.membership",
];

/// What sending Apple events and opening applications needs.
const APPLE_EVENT_SERVICES: &[&str] = &[
    "com.apple.coreservices.appleevents",
    "com.apple.CoreServices.coreservicesd",
    "com.apple.coreservices.quarantine-resolver",
];

/// System values runtimes read at start-up (CPU and memory sizes, OS version, limits).
const SYSCTL_NAMES: &[&str] = &[
    "hw.activecpu",
    "hw.busfrequency_compat",
    "hw.byteorder",
    "hw.cacheconfig",
    "hw.cachelinesize_compat",
    "hw.cpufamily",
    "hw.cpufrequency",
    "hw.cpufrequency_compat",
    "hw.cputype",
    "hw.l1dcachesize_compat",
    "hw.l1icachesize_compat",
    "hw.l2cachesize_compat",
    "hw.l3cachesize_compat",
    "hw.logicalcpu",
    "hw.logicalcpu_max",
    "hw.machine",
    "hw.memsize",
    "hw.ncpu",
    "hw.nperflevels",
    "hw.packages",
    "hw.pagesize",
    "hw.pagesize_compat",
    "hw.physicalcpu",
    "hw.physicalcpu_max",
    "hw.tbfrequency_compat",
    "hw.vectorunit",
    "kern.argmax",
    "kern.bootargs",
    "kern.hostname",
    "kern.maxfiles",
    "kern.maxfilesperproc",
    "kern.maxproc",
    "kern.ngroups",
    "kern.osproductversion",
    "kern.osrelease",
    "kern.ostype",
    "kern.osvariant_status",
    "kern.osversion",
    "kern.secure_kernel",
    "kern.tcsm_available",
    "kern.tcsm_enable",
    "kern.usrstack64",
    "kern.version",
    "kern.willshutdown",
    "machdep.cpu.brand_string",
    "machdep.ptrauth_enabled",
    "security.mac.lockdown_mode_state",
    "sysctl.proc_cputype",
    "vm.loadavg",
];

/// Families of system values read by prefix (per-CPU features, per-process entries).
const SYSCTL_PREFIXES: &[&str] = &[
    "hw.optional.arm",
    "hw.optional.arm.",
    "hw.optional.armv8_",
    "hw.perflevel",
    "kern.proc.all",
    "kern.proc.pgrp.",
    "kern.proc.pid.",
    "machdep.cpu.",
    "net.routetable.",
];

/// Devices commands call ioctl on.
const IOCTL_DEVICES: &[&str] =
    &["/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/dtracehelper", "/dev/tty"];

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
