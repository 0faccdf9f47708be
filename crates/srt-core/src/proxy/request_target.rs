//! A request-target as a `filterRequest` judges it: as the client spelled
//! it, and as a URL parser reads it (dot segments resolved, `%2e` read as
//! `.`, `\` as `/`, leading slashes made one). The two can name different
//! resources, and the upstream may read the one the callback did not judge:
//! `network.ambiguousRequestTarget` says whether such a target is refused
//! (the default), forwarded as spelled, or forwarded normalized.

use crate::config::AmbiguousRequestTarget;

pub const MALFORMED: &str = "malformed request-target";

pub const AMBIGUOUS: &str = "ambiguous request-target: as spelled and normalized it names different paths (a dot segment, leading slashes or \"\\\"); nothing was forwarded (network.ambiguousRequestTarget in the sandbox's configuration is \"refuse\")";

/// Both readings of a target, and what is forwarded.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reading {
    /// Origin form as spelled, bytes outside ASCII percent-encoded.
    pub spelled: Option<String>,
    pub normalized: Option<String>,
    pub ambiguous: bool,
    /// The form `mode` sends; `None` when refused.
    pub forwarded: Option<String>,
    /// Why nothing is forwarded.
    pub refusal: Option<String>,
}

fn percent_encode_non_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn is_single_dot(segment: &str) -> bool {
    segment == "." || segment.eq_ignore_ascii_case("%2e")
}

fn is_double_dot(segment: &str) -> bool {
    let s = segment.to_ascii_lowercase();
    matches!(s.as_str(), ".." | ".%2e" | "%2e." | "%2e%2e")
}

/// A path (starting with `/`) as the WHATWG URL parser resolves it for an
/// http(s) URL, then with a run of leading slashes made one.
fn resolve_path(path: &str) -> String {
    let path = path.replace('\\', "/");
    let parts: Vec<&str> = path[1..].split('/').collect();
    let mut out: Vec<&str> = Vec::new();
    let last = parts.len() - 1;
    for (i, segment) in parts.iter().enumerate() {
        if is_double_dot(segment) {
            out.pop();
            if i == last {
                out.push("");
            }
        } else if is_single_dot(segment) {
            if i == last {
                out.push("");
            }
        } else {
            out.push(segment);
        }
    }
    let joined = format!("/{}", out.join("/"));
    let trimmed = joined.trim_start_matches('/');
    format!("/{trimmed}")
}

/// The target normalized once (normalizing it again changes nothing).
/// Origin form, an absolute http(s) URI (its authority dropped: the caller
/// names the host) and `*` for OPTIONS; `None` for any other shape.
pub fn normalize(raw: &str, method: &str) -> Option<String> {
    if raw == "*" {
        return (method == "OPTIONS").then(|| raw.to_string());
    }
    let rest = if raw.starts_with('/') {
        raw.to_string()
    } else {
        let path = after_authority(raw)?;
        if path.starts_with('/') || path.starts_with('\\') {
            path.to_string()
        } else {
            format!("/{path}")
        }
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest.as_str(), None),
    };
    let search = match query {
        Some(q) if !q.is_empty() => format!("?{q}"),
        _ => String::new(),
    };
    Some(format!("{}{search}", resolve_path(path)))
}

/// Escapes the characters URL parsers differ on escaping, so that they never
/// make two readings differ.
fn escape_parser_differences(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '"' | '\'' | '<' | '>' | '^' | '`' | '{' | '}') {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// What follows the authority of an absolute http(s) URI, which ends where
/// a URL parser ends it (`/`, `?`, `#` or `\\`); `None` for any other
/// shape, or an empty authority.
fn after_authority(raw: &str) -> Option<&str> {
    let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
    let after = if lower.starts_with("http://") {
        &raw[7..]
    } else if lower.starts_with("https://") {
        &raw[8..]
    } else {
        return None;
    };
    let end = after.find(['/', '?', '#', '\\']).unwrap_or(after.len());
    (end > 0).then(|| &after[end..])
}

/// The target in origin form: an absolute URI's authority dropped.
fn strip_authority(target: &str) -> String {
    match after_authority(target) {
        Some(rest) if rest.is_empty() || rest.starts_with('?') => format!("/{rest}"),
        Some(rest) => rest.to_string(),
        None => target.to_string(),
    }
}

/// Reads `raw` (the request-target's bytes) for a request of `method`.
/// A fragment is cut first: no part of a request-target, and upstreams
/// differ on where it ends.
pub fn read(raw: &[u8], method: &str, mode: AmbiguousRequestTarget) -> Reading {
    let raw = match raw.iter().position(|b| *b == b'#') {
        Some(i) => &raw[..i],
        None => raw,
    };
    let text = String::from_utf8_lossy(raw);
    let ascii = percent_encode_non_ascii(&text);
    let normalized = normalize(&ascii, method);
    let spelled = strip_authority(&ascii);
    let well_formed =
        spelled == "*" || (spelled.starts_with('/') && spelled.bytes().all(|b| (b'!'..=b'~').contains(&b)));
    let Some(normalized) = normalized.filter(|_| well_formed) else {
        return Reading { refusal: Some(MALFORMED.into()), ..Reading::default() };
    };
    if text.contains('\u{FFFD}') {
        return Reading {
            spelled: Some(spelled),
            refusal: Some(format!("{MALFORMED}: it holds bytes that are not UTF-8, or U+FFFD")),
            ..Reading::default()
        };
    }
    let (a, b) = (escape_parser_differences(&spelled), escape_parser_differences(&normalized));
    let ambiguous = a != b && a != format!("{b}?");
    let forwarded = match mode {
        AmbiguousRequestTarget::Normalize => Some(normalized.clone()),
        AmbiguousRequestTarget::AsSpelled => Some(spelled.clone()),
        AmbiguousRequestTarget::Refuse => (!ambiguous).then(|| spelled.clone()),
    };
    let refusal = forwarded.is_none().then(|| AMBIGUOUS.to_string());
    Reading { spelled: Some(spelled), normalized: Some(normalized), ambiguous, forwarded, refusal }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refuse(raw: &str) -> Reading {
        read(raw.as_bytes(), "GET", AmbiguousRequestTarget::Refuse)
    }

    #[test]
    fn plain_targets_are_forwarded_as_spelled() {
        for t in ["/", "/a/b?x=1", "/a%20b", "/a/b/", "/?", "/a?b=../c"] {
            let r = refuse(t);
            assert_eq!(r.forwarded.as_deref(), Some(t), "{t}: {r:?}");
            assert!(!r.ambiguous, "{t}");
        }
    }

    #[test]
    fn dot_segments_leading_slashes_and_backslashes_are_ambiguous() {
        for (t, normalized) in [
            ("/a/../b", "/b"),
            ("/a/%2e%2E/b", "/b"),
            ("/a/./b", "/a/b"),
            ("//evil/x", "/evil/x"),
            ("/a/b/..", "/a/"),
            ("/a\\..\\b", "/b"),
            ("/a/.%2e/b?q", "/b?q"),
        ] {
            let r = refuse(t);
            assert!(r.ambiguous, "{t}: {r:?}");
            assert_eq!(r.normalized.as_deref(), Some(normalized), "{t}");
            assert_eq!(r.forwarded, None, "{t}");
            assert_eq!(r.refusal.as_deref(), Some(AMBIGUOUS));
            let spelled = read(t.as_bytes(), "GET", AmbiguousRequestTarget::AsSpelled);
            assert_eq!(spelled.forwarded.as_deref(), Some(t));
            let normal = read(t.as_bytes(), "GET", AmbiguousRequestTarget::Normalize);
            assert_eq!(normal.forwarded.as_deref(), Some(normalized));
        }
    }

    #[test]
    fn absolute_form_loses_its_authority_and_its_fragment() {
        let r = refuse("http://Example.com:8080/p?q#frag");
        assert_eq!(r.spelled.as_deref(), Some("/p?q"));
        assert_eq!(r.forwarded.as_deref(), Some("/p?q"));
        assert_eq!(refuse("http://example.com").forwarded.as_deref(), Some("/"));
        assert_eq!(refuse("http://example.com?x").forwarded.as_deref(), Some("/?x"));
    }

    #[test]
    fn other_shapes_are_malformed() {
        for t in ["example.com:443", "ftp://x/y", "http:///a", "*", "a/b", "/a b", "/a\u{1}"] {
            let r = refuse(t);
            assert_eq!(r.refusal.as_deref(), Some(MALFORMED), "{t}: {r:?}");
        }
        assert_eq!(read(b"*", "OPTIONS", AmbiguousRequestTarget::Refuse).forwarded.as_deref(), Some("*"));
    }

    #[test]
    fn bytes_outside_ascii_are_percent_encoded_and_bad_utf8_is_refused() {
        let r = refuse("/caf\u{e9}");
        assert_eq!(r.forwarded.as_deref(), Some("/caf%C3%A9"));
        let bad = read(b"/a\xff", "GET", AmbiguousRequestTarget::AsSpelled);
        assert!(bad.refusal.unwrap().contains("not UTF-8"));
        assert_eq!(bad.forwarded, None);
    }

    #[test]
    fn quotes_and_braces_never_make_a_target_ambiguous() {
        assert!(!refuse("/a\"b{c}'^`<>").ambiguous);
    }
}
