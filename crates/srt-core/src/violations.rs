//! The violation store (reference §7): what the sandbox refused, with the
//! command it is attributed to. Keeps the last 100 events for the library's
//! store, and a per-destination tally that never forgets, for the CLI's
//! summary at the end of a run.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::SystemTime;

/// Events kept for `getViolations` (as the original).
pub const KEPT: usize = 100;

/// One refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// `deny network-outbound example.com:443 (host is not on the allow list)`.
    pub line: String,
    /// The attribution key of the command it came from, if known.
    pub command: Option<String>,
    pub at: SystemTime,
}

/// A destination that was refused, counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    pub target: String,
    pub reason: String,
    pub count: u64,
}

#[derive(Default)]
struct Inner {
    recent: VecDeque<Violation>,
    tallies: Vec<Tally>,
    /// Seatbelt's denials by operation and path, with the program refused.
    sandbox_tallies: Vec<Tally>,
    /// Network refusals, then everything recorded.
    network_total: u64,
    total: u64,
}

/// Distinct destinations (or denials) counted; beyond, only the totals grow:
/// a command trying a million names does not grow srt without end.
const TALLIED: usize = 1000;

fn count(tallies: &mut Vec<Tally>, target: String, reason: String) {
    let known = tallies.len();
    match tallies.iter_mut().find(|t| t.target == target && t.reason == reason) {
        Some(t) => t.count += 1,
        None if known < TALLIED => tallies.push(Tally { target, reason, count: 1 }),
        None => {}
    }
}

/// Thread-safe store shared by the proxies of a session.
#[derive(Default)]
pub struct Store {
    inner: Mutex<Inner>,
    /// `ignoreViolations`: command substring (or `*`) to line substrings.
    ignore: std::collections::BTreeMap<String, Vec<String>>,
}

/// Makes text safe for one line of a report: control characters, invisible
/// and direction-changing characters, line separators and the envelope's
/// angle brackets become `?`, and it is cut to `max` characters.
pub fn sanitize(text: &str, max: usize) -> String {
    let unsafe_char = |c: char| c.is_control() || crate::policy::host::is_invisible(c) || c == '<' || c == '>';
    text.chars().take(max).map(|c| if unsafe_char(c) { '?' } else { c }).collect()
}

/// A violation line as the library's store keeps it (the original's rule):
/// each run of control or invisible characters becomes one space, angle
/// brackets go, and the ends are trimmed.
pub fn store_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for c in text.chars() {
        if c.is_control() || crate::policy::host::is_invisible(c) {
            if !in_run {
                out.push(' ');
            }
            in_run = true;
        } else {
            in_run = false;
            if c != '<' && c != '>' {
                out.push(c);
            }
        }
    }
    out.trim().to_string()
}

/// How a destination is shown: `host:port`, IPv6 in brackets.
pub fn target(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl Store {
    /// A store that leaves out what `ignoreViolations` names.
    pub fn with_ignore(ignore: std::collections::BTreeMap<String, Vec<String>>) -> Store {
        Store { inner: Mutex::default(), ignore }
    }

    /// The original's rule: a `*` pattern found in the line, or a pattern of a
    /// key found in the command, found in the line.
    fn ignored(&self, line: &str, command: Option<&str>) -> bool {
        self.ignore.iter().any(|(key, patterns)| {
            let applies = key == "*" || command.is_some_and(|c| c.contains(key.as_str()));
            applies && patterns.iter().any(|p| line.contains(p.as_str()))
        })
    }

    /// Records a refused outbound connection.
    pub fn network_denied(&self, host: &str, port: u16, reason: &str, command: Option<&str>) {
        let target = sanitize(&target(host, port), 300);
        let reason = sanitize(reason, 500);
        let line = format!("deny network-outbound {target} ({reason})");
        self.record_network(line, target, reason, command);
    }

    /// Records a refused request (a `filterRequest` denial, a refused
    /// request-target or method): `deny http-request GET http://host/path?… (reason)`.
    /// The query and fragment are not shown: they may hold secrets.
    pub fn request_denied(&self, method: &str, url: &str, reason: &str, command: Option<&str>) {
        let shown = match url.find(['?', '#']) {
            Some(i) => format!("{}?\u{2026}", &url[..i]),
            None => url.to_string(),
        };
        let target = sanitize(&format!("{} {shown}", sanitize(method, 20)), 300);
        let reason = sanitize(reason, 500);
        let line = format!("deny http-request {target} ({reason})");
        self.record_network(line, target, reason, command);
    }

    fn record_network(&self, line: String, target: String, reason: String, command: Option<&str>) {
        if self.ignored(&line, command) {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.total += 1;
        inner.network_total += 1;
        count(&mut inner.tallies, target, reason);
        if inner.recent.len() == KEPT {
            inner.recent.pop_front();
        }
        inner.recent.push_back(Violation { line, command: command.map(str::to_string), at: SystemTime::now() });
    }

    /// Records what the sandbox itself refused (a Seatbelt denial on macOS):
    /// `line` as the kernel said it (`cat(4321) deny(1) file-read-data /x`),
    /// and its operation and target (`file-read-data /x`), for the summary.
    #[cfg_attr(target_os = "linux", allow(dead_code))] // macOS's
    pub fn sandbox_denied(&self, line: &str, command: Option<&str>, what: &str) {
        let line = sanitize(line, 800);
        if self.ignored(&line, command) {
            return;
        }
        let program = sanitize(line.split('(').next().unwrap_or_default(), 100);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.total += 1;
        count(&mut inner.sandbox_tallies, sanitize(what, 800), program);
        if inner.recent.len() == KEPT {
            inner.recent.pop_front();
        }
        inner.recent.push_back(Violation { line, command: command.map(str::to_string), at: SystemTime::now() });
    }

    /// The kept events, oldest first.
    pub fn recent(&self) -> Vec<Violation> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).recent.iter().cloned().collect()
    }

    /// Every refused destination, in order of first refusal, and the total count.
    pub fn tallies(&self) -> (Vec<Tally>, u64) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (inner.tallies.clone(), inner.total)
    }

    /// The lines a CLI run prints on stderr when the command has ended; empty
    /// when nothing was refused.
    pub fn summary(&self) -> Vec<String> {
        const SHOWN: usize = 20;
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let sandbox_total = inner.total - inner.network_total;
        let times = |t: &Tally| if t.count > 1 { format!(" x{}", t.count) } else { String::new() };
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        let mut lines = Vec::new();
        if inner.network_total > 0 {
            let n = inner.network_total;
            lines.push(format!("srt: the sandbox blocked {n} network connection{}:", plural(n)));
            for t in inner.tallies.iter().take(SHOWN) {
                lines.push(format!("  {} ({}){}", t.target, t.reason, times(t)));
            }
            if inner.tallies.len() > SHOWN {
                lines.push(format!("  ... and {} more destinations", inner.tallies.len() - SHOWN));
            }
        }
        if sandbox_total > 0 {
            lines.push(format!("srt: the sandbox refused {sandbox_total} operation{}:", plural(sandbox_total)));
            for t in inner.sandbox_tallies.iter().take(SHOWN) {
                lines.push(format!("  {} (by {}){}", t.target, t.reason, times(t)));
            }
            if inner.sandbox_tallies.len() > SHOWN {
                lines.push(format!("  ... and {} more", inner.sandbox_tallies.len() - SHOWN));
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_line_keeps_no_control_invisible_or_angle_character() {
        assert_eq!(store_line("\u{1b}[31m deny <b>x</b>\r\n\u{202e}evil\u{200b}\u{200b}y \t"), "[31m deny bx/b evil y");
        assert_eq!(store_line("a\u{0}<\u{0}b"), "a  b");
        assert_eq!(store_line("plain line"), "plain line");
    }

    #[test]
    fn lines_tallies_and_summary() {
        let store = Store::default();
        assert!(store.summary().is_empty());
        store.network_denied("example.com", 443, "host is not on the allow list", Some("curl"));
        store.network_denied("example.com", 443, "host is not on the allow list", Some("curl"));
        store.network_denied("::1", 80, "bad <reason>\n\u{202e}\u{2028}", None);
        let recent = store.recent();
        assert_eq!(recent[0].line, "deny network-outbound example.com:443 (host is not on the allow list)");
        assert_eq!(recent[0].command.as_deref(), Some("curl"));
        assert_eq!(recent[2].line, "deny network-outbound [::1]:80 (bad ?reason????)");
        assert_eq!(
            store.summary(),
            [
                "srt: the sandbox blocked 3 network connections:",
                "  example.com:443 (host is not on the allow list) x2",
                "  [::1]:80 (bad ?reason????)"
            ]
        );
    }

    #[test]
    fn ignore_rules_by_line_and_by_command() {
        let mut ignore = std::collections::BTreeMap::new();
        ignore.insert("*".to_string(), vec!["telemetry.example".to_string()]);
        ignore.insert("npm".to_string(), vec![":443".to_string()]);
        let store = Store::with_ignore(ignore);
        store.network_denied("telemetry.example", 80, "r", Some("curl"));
        store.network_denied("registry.example", 443, "r", Some("npm install"));
        store.network_denied("registry.example", 443, "r", Some("curl"));
        store.network_denied("registry.example", 80, "r", Some("npm install"));
        let lines: Vec<String> = store.recent().into_iter().map(|v| v.line).collect();
        assert_eq!(
            lines,
            ["deny network-outbound registry.example:443 (r)", "deny network-outbound registry.example:80 (r)"]
        );
    }

    #[test]
    fn keeps_the_last_hundred_and_counts_all() {
        let store = Store::default();
        for i in 0..150u16 {
            store.network_denied("h.example", i, "r", None);
        }
        let recent = store.recent();
        assert_eq!(recent.len(), KEPT);
        assert!(recent[0].line.contains("h.example:50 "));
        assert_eq!(store.tallies().1, 150);
        assert!(store.summary().last().unwrap().contains("130 more"));
    }
}

#[cfg(test)]
mod summary_tests {
    use super::*;

    #[test]
    fn the_summary_lists_network_refusals_and_seatbelts_denials_apart() {
        let store = Store::default();
        assert!(store.summary().is_empty());
        store.network_denied("evil.example", 443, "not allowed", Some("curl"));
        store.sandbox_denied(
            "cat(42) deny(1) file-read-data /Users/u/.ssh/id_rsa",
            Some("cat"),
            "file-read-data /Users/u/.ssh/id_rsa",
        );
        store.sandbox_denied(
            "cat(43) deny(1) file-read-data /Users/u/.ssh/id_rsa",
            Some("cat"),
            "file-read-data /Users/u/.ssh/id_rsa",
        );
        assert_eq!(
            store.summary(),
            [
                "srt: the sandbox blocked 1 network connection:",
                "  evil.example:443 (not allowed)",
                "srt: the sandbox refused 2 operations:",
                "  file-read-data /Users/u/.ssh/id_rsa (by cat) x2",
            ]
        );
        assert_eq!(store.tallies().1, 3);
    }
}
