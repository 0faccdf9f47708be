//! The path glob grammar of the settings (reference §2.9) and its expansion
//! against the disk. Pure matching; the walk goes through [`FsView`].
//!
//! Grammar: `/` separates segments; `?` is one character, `*` any run within
//! a segment (runs of `*` collapse), a segment `**` any number of segments;
//! `[...]` a set up to the first `]` (`a-z` ranges; `^` and `!` do not
//! negate). Brackets that spell no set (`[]`, a backwards range such as
//! `[user-id]`) and unmatched brackets are literal text. No escapes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::paths::FsView;

/// One token of a segment pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Char(char),
    AnyChar,
    AnyRun,
    Set(Vec<(char, char)>),
}

/// One segment of a path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Pattern(Vec<Token>),
    /// `**`: any number of directories, none included.
    AnyDepth,
}

/// Whether the text holds glob syntax (a set must spell a set to count).
pub fn is_glob(text: &str) -> bool {
    text.split('/').any(|seg| seg == "**" || matches!(parse_segment(seg), Segment::Pattern(_)))
}

fn parse_set(chars: &[char]) -> Option<Vec<(char, char)>> {
    if chars.is_empty() {
        return None;
    }
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if i + 2 < chars.len() && chars[i + 1] == '-' {
            if chars[i] > chars[i + 2] {
                return None;
            }
            ranges.push((chars[i], chars[i + 2]));
            i += 3;
        } else {
            ranges.push((chars[i], chars[i]));
            i += 1;
        }
    }
    Some(ranges)
}

fn parse_segment(seg: &str) -> Segment {
    if seg == "**" {
        return Segment::AnyDepth;
    }
    let chars: Vec<char> = seg.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '?' => tokens.push(Token::AnyChar),
            '*' => {
                if tokens.last() != Some(&Token::AnyRun) {
                    tokens.push(Token::AnyRun);
                }
            }
            '[' => {
                let close = chars[i + 1..].iter().position(|c| *c == ']').map(|p| p + i + 1);
                if let Some(set) = close.and_then(|c| parse_set(&chars[i + 1..c])) {
                    tokens.push(Token::Set(set));
                    i = close.unwrap_or(i) + 1;
                    continue;
                }
                tokens.push(Token::Char('['));
            }
            c => tokens.push(Token::Char(c)),
        }
        i += 1;
    }
    if tokens.iter().all(|t| matches!(t, Token::Char(_))) {
        Segment::Literal(seg.to_string())
    } else {
        Segment::Pattern(tokens)
    }
}

fn match_tokens(tokens: &[Token], name: &[char]) -> bool {
    match tokens.split_first() {
        None => name.is_empty(),
        Some((Token::AnyRun, rest)) => (0..=name.len()).any(|skip| match_tokens(rest, &name[skip..])),
        Some((token, rest)) => {
            let Some((c, tail)) = name.split_first() else { return false };
            let ok = match token {
                Token::Char(x) => x == c,
                Token::AnyChar => true,
                Token::Set(ranges) => ranges.iter().any(|(lo, hi)| lo <= c && c <= hi),
                Token::AnyRun => unreachable!(),
            };
            ok && match_tokens(rest, tail)
        }
    }
}

/// A compiled absolute pattern.
#[derive(Clone, Debug)]
pub struct Glob {
    /// The literal directories before the first wildcard segment.
    pub base: PathBuf,
    segments: Vec<Segment>,
}

impl Glob {
    /// Compiles an absolute, normalised pattern.
    pub fn new(pattern: &Path) -> Glob {
        let text = pattern.to_string_lossy();
        let all: Vec<Segment> = text.split('/').filter(|s| !s.is_empty()).map(parse_segment).collect();
        let literal = all.iter().take_while(|s| matches!(s, Segment::Literal(_))).count();
        let mut base = PathBuf::from("/");
        for seg in &all[..literal] {
            if let Segment::Literal(l) = seg {
                base.push(l);
            }
        }
        Glob { base, segments: all[literal..].to_vec() }
    }

    /// Whether the pattern starts walking at `/` (its first segment is a wildcard).
    pub fn walks_from_root(&self) -> bool {
        self.base == Path::new("/") && !self.segments.is_empty()
    }
}

/// A regular-expression character that stands for itself.
fn push_literal(out: &mut String, c: char) {
    if "\\.^$|?*+()[]{}".contains(c) {
        out.push('\\');
    }
    out.push(c);
}

/// `text` as a regular expression that matches it alone (unanchored).
pub fn literal_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    text.chars().for_each(|c| push_literal(&mut out, c));
    out
}

/// A set (`[a-z_]`) as a bracket expression where its members are plain
/// letters and digits; else as a group of alternatives, since inside a
/// bracket POSIX gives `]`, `-` and `^` meanings by position and none to `\\`.
fn push_set(out: &mut String, ranges: &[(char, char)]) {
    if ranges.iter().all(|(lo, hi)| lo.is_ascii_alphanumeric() && hi.is_ascii_alphanumeric()) {
        out.push('[');
        for (lo, hi) in ranges {
            out.push(*lo);
            if lo != hi {
                out.push('-');
                out.push(*hi);
            }
        }
        out.push(']');
        return;
    }
    let mut members: Vec<String> = Vec::new();
    for (lo, hi) in ranges {
        if lo.is_ascii_alphanumeric() && hi.is_ascii_alphanumeric() {
            members.push(if lo == hi { lo.to_string() } else { format!("[{lo}-{hi}]") });
            continue;
        }
        // A range with a special end: each character on its own (a set in a path is small).
        for c in (*lo..=*hi).take(256) {
            let mut one = String::new();
            push_literal(&mut one, c);
            members.push(one);
        }
    }
    out.push('(');
    out.push_str(&members.join("|"));
    out.push(')');
}

impl Glob {
    /// The pattern as an anchored regular expression over whole paths, in the
    /// dialect Seatbelt's `regex` filters take (POSIX extended). `base` is
    /// written as given (the caller resolves it first); with `subtree`, a
    /// match also covers everything beneath it (for denies).
    pub fn to_regex(&self, base: &Path, subtree: bool) -> String {
        let mut out = format!("^{}", literal_regex(base.to_string_lossy().trim_end_matches('/')));
        for segment in &self.segments {
            match segment {
                // Any number of directories (none included); at the end, anything below.
                Segment::AnyDepth => out.push_str("(/.*)?"),
                Segment::Literal(text) => {
                    out.push('/');
                    text.chars().for_each(|c| push_literal(&mut out, c));
                }
                Segment::Pattern(tokens) => {
                    out.push('/');
                    for token in tokens {
                        match token {
                            Token::Char(c) => push_literal(&mut out, *c),
                            Token::AnyChar => out.push_str("[^/]"),
                            Token::AnyRun => out.push_str("[^/]*"),
                            Token::Set(ranges) => push_set(&mut out, ranges),
                        }
                    }
                }
            }
        }
        if subtree && !matches!(self.segments.last(), Some(Segment::AnyDepth)) {
            out.push_str("(/.*)?");
        }
        out.push('$');
        out
    }

    /// Whether `to_regex(base, subtree)` matches `path`, decided on the
    /// path's names (no regex engine): to tell which allows a deny pattern
    /// covers.
    pub fn matches(&self, base: &Path, path: &Path, subtree: bool) -> bool {
        let Ok(rest) = path.strip_prefix(base) else { return false };
        let names: Vec<String> = rest.iter().map(|n| n.to_string_lossy().into_owned()).collect();
        match_names(&self.segments, &names, subtree)
    }
}

fn match_names(segments: &[Segment], names: &[String], subtree: bool) -> bool {
    match segments.split_first() {
        None => names.is_empty() || subtree,
        Some((Segment::AnyDepth, rest)) => (0..=names.len()).any(|skip| match_names(rest, &names[skip..], subtree)),
        Some((segment, rest)) => {
            let Some((name, tail)) = names.split_first() else { return false };
            let matched = match segment {
                Segment::Literal(l) => l == name,
                Segment::Pattern(tokens) => match_tokens(tokens, &name.chars().collect::<Vec<_>>()),
                Segment::AnyDepth => true,
            };
            matched && match_names(rest, tail, subtree)
        }
    }
}

/// What expanding a pattern found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Expansion {
    /// Existing paths that match, as the walk reached them: a symlink on the
    /// way stays in the path, so the planner can judge every link a match
    /// passes through (a match must never be opened at a link's target
    /// without the planner seeing the link).
    pub matches: BTreeSet<PathBuf>,
    /// Directories on the way that could not be listed, where they really are.
    pub unlistable: BTreeSet<PathBuf>,
    /// The walk stopped at the limit: the result is incomplete.
    pub truncated: bool,
    /// Symbolic links to directories the walk went through, as reached (the
    /// first few): one planted to `/` is why a walk hits the limit.
    pub links: Vec<PathBuf>,
}

/// How many directory entries one expansion may look at.
pub const WALK_LIMIT: usize = 200_000;

/// Finds every existing path that matches, following symlinked directories
/// (never around a loop).
pub fn expand(glob: &Glob, fs: &dyn FsView) -> Expansion {
    let mut out = Expansion::default();
    let mut walk = Walk { fs, out: &mut out, budget: WALK_LIMIT, seen: BTreeSet::new() };
    if let Some(base) = fs.real_path(&glob.base) {
        walk.dir(&glob.base, &base, &glob.segments);
    }
    out
}

struct Walk<'a> {
    fs: &'a dyn FsView,
    out: &'a mut Expansion,
    budget: usize,
    seen: BTreeSet<(PathBuf, usize)>,
}

impl Walk<'_> {
    /// Walks the directory reached as `shown`, really at `real`.
    fn dir(&mut self, shown: &Path, real: &Path, segments: &[Segment]) {
        // A directory is visited once per remaining pattern: symlink loops end here.
        if !self.seen.insert((real.to_path_buf(), segments.len())) {
            return;
        }
        let Some((segment, rest)) = segments.split_first() else {
            self.out.matches.insert(shown.to_path_buf());
            return;
        };
        if *segment == Segment::AnyDepth {
            // Zero directories...
            self.dir(shown, real, rest);
        }
        let Some(entries) = self.fs.list_dir(real) else {
            self.out.unlistable.insert(real.to_path_buf());
            return;
        };
        for (name, _, is_link) in entries {
            if self.budget == 0 {
                self.out.truncated = true;
                return;
            }
            self.budget -= 1;
            let matched = match segment {
                Segment::Literal(l) => name == l.as_str(),
                Segment::Pattern(tokens) => match_tokens(tokens, &name.to_string_lossy().chars().collect::<Vec<_>>()),
                Segment::AnyDepth => true,
            };
            if !matched {
                continue;
            }
            let Some(entry_real) = self.fs.real_path(&real.join(&name)) else { continue };
            let entry_shown = shown.join(&name);
            if is_link && self.out.links.len() < 5 && self.fs.is_dir(&entry_real) {
                self.out.links.push(entry_shown.clone());
            }
            if *segment == Segment::AnyDepth {
                // ...or one more, staying on `**`.
                if self.fs.is_dir(&entry_real) {
                    self.dir(&entry_shown, &entry_real, segments);
                }
            } else if rest.is_empty() {
                self.out.matches.insert(entry_shown);
            } else if self.fs.is_dir(&entry_real) {
                self.dir(&entry_shown, &entry_real, rest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg_matches(pattern: &str, name: &str) -> bool {
        match parse_segment(pattern) {
            Segment::Literal(l) => l == name,
            Segment::Pattern(t) => match_tokens(&t, &name.chars().collect::<Vec<_>>()),
            Segment::AnyDepth => true,
        }
    }

    #[test]
    fn a_pattern_matches_the_paths_its_regex_does() {
        let glob = |p: &str| Glob::new(Path::new(p));
        let root = Path::new("/");
        let env = glob("/**/.env");
        assert!(env.matches(root, Path::new("/Users/u/proj/.env"), false));
        assert!(env.matches(root, Path::new("/.env"), false));
        assert!(!env.matches(root, Path::new("/Users/u/proj"), true), "a leaf pattern covers no directory above it");
        assert!(env.matches(root, Path::new("/Users/u/proj/.env/x"), true));
        assert!(!env.matches(root, Path::new("/Users/u/proj/.env/x"), false));
        let region = glob("/Users/u/*");
        let home = Path::new("/Users/u");
        assert!(region.matches(home, Path::new("/Users/u/proj/src"), true));
        assert!(!region.matches(home, Path::new("/Users/u/proj/src"), false));
        assert!(!region.matches(home, Path::new("/Users/u"), true));
        assert!(!region.matches(home, Path::new("/Users/other/x"), true));
        let keys = glob("/k/**/id_*.pem");
        assert!(keys.matches(Path::new("/k"), Path::new("/k/a/b/id_rsa.pem"), false));
        assert!(!keys.matches(Path::new("/k"), Path::new("/k/a/b/rsa.pem"), false));
    }

    #[test]
    fn segment_grammar() {
        assert!(seg_matches("*.pem", "key.pem"));
        assert!(seg_matches("*.pem", ".pem"));
        assert!(!seg_matches("*.pem", "key.pem.bak"));
        assert!(seg_matches("a?c", "abc"));
        assert!(!seg_matches("a?c", "ac"));
        assert!(seg_matches("file[0-9]", "file7"));
        assert!(!seg_matches("file[0-9]", "filex"));
        assert!(seg_matches("[!a]x", "!x"), "! does not negate");
        assert!(seg_matches("[^a]x", "ax"), "^ does not negate");
        assert!(seg_matches("***x", "abcx"), "runs of * collapse");
    }

    #[test]
    fn brackets_that_spell_no_set_are_literal() {
        assert_eq!(parse_segment("[user-id]"), Segment::Literal("[user-id]".into()));
        assert_eq!(parse_segment("a[]b"), Segment::Literal("a[]b".into()));
        assert_eq!(parse_segment("a[b"), Segment::Literal("a[b".into()));
        assert_eq!(parse_segment("a]b"), Segment::Literal("a]b".into()));
        assert!(!is_glob("/home/u/[user-id]/x"));
        assert!(is_glob("/home/u/*.pem"));
        assert!(is_glob("/home/u/**/x"));
        assert!(is_glob("/home/u/file[0-9]"));
    }

    #[test]
    fn base_is_the_literal_prefix() {
        let g = Glob::new(Path::new("/home/u/proj/**/*.pem"));
        assert_eq!(g.base, Path::new("/home/u/proj"));
        assert!(!g.walks_from_root());
        assert!(Glob::new(Path::new("/*/secret")).walks_from_root());
    }
}
