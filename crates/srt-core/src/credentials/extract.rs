//! `extract`: only the parts of a value (a connection string, a config
//! file) that capture group 1 of a regular expression picks are masked;
//! the rest stays byte for byte, so parsers inside still work.

/// `content` with every span group 1 matched replaced by
/// `sentinel_for(capture, i)` (`i`: the capture's index among the distinct
/// captures, first seen first), and with `mask_duplicates` every other
/// occurrence of a captured value too. `None` when nothing matched.
pub fn substitute(
    content: &str,
    re: &regex_lite::Regex,
    mask_duplicates: bool,
    mut sentinel_for: impl FnMut(&str, usize) -> Result<String, String>,
) -> Result<Option<String>, String> {
    let mut captures: Vec<(String, String)> = Vec::new();
    let mut spans: Vec<(usize, usize, String)> = Vec::new();
    for m in re.captures_iter(content) {
        let Some(group) = m.get(1) else {
            return Err(format!(
                "the extract pattern matched at offset {} without capture group 1: group 1 must capture the credential on every match",
                m.get(0).map(|g| g.start()).unwrap_or_default()
            ));
        };
        if group.is_empty() {
            continue;
        }
        let sentinel = match captures.iter().find(|(c, _)| c == group.as_str()) {
            Some((_, s)) => s.clone(),
            None => {
                let s = sentinel_for(group.as_str(), captures.len())?;
                captures.push((group.as_str().to_string(), s.clone()));
                s
            }
        };
        spans.push((group.start(), group.end(), sentinel));
    }
    if captures.is_empty() {
        return Ok(None);
    }
    if mask_duplicates {
        // Longest first: a shorter capture inside a longer one must not
        // claim part of the longer secret's occurrence.
        let mut by_length = captures.clone();
        by_length.sort_by_key(|(c, _)| std::cmp::Reverse(c.len()));
        for (cap, sentinel) in by_length {
            // A capture the callback declined to mask (it gave it back).
            if sentinel == cap {
                continue;
            }
            for (start, _) in content.match_indices(cap.as_str()) {
                let end = start + cap.len();
                if !spans.iter().any(|(s, e, _)| start < *e && *s < end) {
                    spans.push((start, end, sentinel.clone()));
                }
            }
        }
        spans.sort_by_key(|(s, _, _)| *s);
    }
    let mut out = String::with_capacity(content.len());
    let mut at = 0;
    for (start, end, sentinel) in spans {
        out.push_str(&content[at..start]);
        out.push_str(&sentinel);
        at = end;
    }
    out.push_str(&content[at..]);
    Ok(Some(out))
}

/// The expression, compiled; its error says what srt-rs does not read
/// (look-arounds and back-references, which JavaScript has).
pub fn compile(pattern: &str) -> Result<regex_lite::Regex, String> {
    regex_lite::Regex::new(pattern).map_err(|e| format!("srt-rs cannot use the extract pattern {pattern:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(content: &str, pattern: &str, dups: bool) -> Option<String> {
        substitute(content, &compile(pattern).unwrap(), dups, |cap, i| Ok(format!("<{i}:{}>", cap.len()))).unwrap()
    }

    #[test]
    fn only_the_captured_spans_are_masked() {
        let conf = "user=bob\npassword=hunter2\nother=hunter2\n";
        assert_eq!(fake(conf, r"password=(\S+)", false).unwrap(), "user=bob\npassword=<0:7>\nother=hunter2\n");
        assert_eq!(fake(conf, r"password=(\S+)", true).unwrap(), "user=bob\npassword=<0:7>\nother=<0:7>\n");
        let url = "postgres://app:s3cr3t@db:5432/x?token=abc&token=abc";
        assert_eq!(
            fake(url, r"://[^:]+:([^@]+)@", false).unwrap(),
            "postgres://app:<0:6>@db:5432/x?token=abc&token=abc"
        );
        assert_eq!(
            fake(url, r"token=(\w+)", false).unwrap(),
            "postgres://app:s3cr3t@db:5432/x?token=<0:3>&token=<0:3>"
        );
        assert_eq!(fake("nothing here", r"password=(\S+)", false), None);
    }

    #[test]
    fn a_match_without_group_one_is_an_error_and_javascript_only_syntax_is_refused() {
        let re = compile(r"a|(b)").unwrap();
        assert!(substitute("a", &re, false, |_, _| Ok(String::new())).unwrap_err().contains("group 1"));
        assert!(compile(r"(?<=x)(y)").unwrap_err().contains("cannot use the extract pattern"));
    }
}
