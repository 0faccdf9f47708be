//! Seatbelt's denials as violations: every rule of a profile carries the
//! session's log tag (`CMD64_<command, base64>_END<suffix>`), and
//! `log stream` filtered on the suffix prints each denial the kernel makes.
//! This module names the tag, builds the `log` arguments and reads its
//! lines; running `log` belongs to the backend.

/// The suffix every tag of a session ends with: `_<9 base-36 characters>_SBX`.
pub fn session_suffix(random: &[u8]) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let body: String = random.iter().cycle().take(9).map(|b| DIGITS[(*b % 36) as usize] as char).collect();
    format!("_{body}_SBX")
}

/// The tag of one command: its name (the first 100 characters), then the suffix.
pub fn log_tag(command: &str, suffix: &str) -> String {
    let name: String = command.chars().take(100).collect();
    format!("CMD64_{}_END{suffix}", crate::base64::encode(name.as_bytes()))
}

/// The arguments of `log` that stream this session's denials.
pub fn log_stream_args(suffix: &str) -> Vec<String> {
    ["stream", "--predicate", &format!("(eventMessage ENDSWITH \"{suffix}\")"), "--style", "compact"]
        .map(str::to_string)
        .into()
}

/// One denial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// What the kernel said, from the process on (`cat(4321) deny(1) file-read-data /x`).
    pub line: String,
    /// The command whose sandbox it was, as its tag names it.
    pub command: Option<String>,
    /// The operation refused (`file-read-data`, `network-outbound`, ...).
    pub operation: String,
    /// What it was refused on (a path, an address, a service), if named.
    pub target: String,
}

/// Denials every process makes that say nothing about the command.
const NOISE: &[&str] = &["mDNSResponder", "mach-lookup com.apple.diagnosticd", "mach-lookup com.apple.analyticsd"];

/// Reads the lines `log stream` printed. A tag on the denial's own line
/// names its command; else the next tag line does (a message may be logged
/// as a line of its own).
pub fn parse_lines(text: &str) -> Vec<Denial> {
    let mut denials: Vec<Denial> = Vec::new();
    let mut waiting: Option<usize> = None;
    for line in text.lines() {
        if let Some(at) = line.find("Sandbox: ") {
            let said = &line[at + "Sandbox: ".len()..];
            // The tag is the last thing on the line: a path holding
            // ` CMD64_` cannot pass a denial off as another command's.
            let (said, tag) = match said.rfind(" CMD64_") {
                Some(t) => (&said[..t], Some(&said[t + 1..])),
                None => (said, None),
            };
            let Some(denial) = denial(said.trim()) else { continue };
            if NOISE.iter().any(|n| denial.line.contains(n)) {
                continue;
            }
            denials.push(Denial { command: tag.and_then(command_of), ..denial });
            waiting = tag.is_none().then(|| denials.len() - 1);
        } else if let (Some(i), Some(t)) = (waiting, line.find("CMD64_")) {
            denials[i].command = command_of(&line[t..]);
            waiting = None;
        }
    }
    denials
}

/// `proc(pid) deny(n) operation target...` as a denial.
fn denial(said: &str) -> Option<Denial> {
    let mut words = said.splitn(4, ' ');
    let (_process, verdict) = (words.next()?, words.next()?);
    if !verdict.starts_with("deny") {
        return None;
    }
    let operation = words.next()?.to_string();
    let target = words.next().unwrap_or_default().trim().to_string();
    Some(Denial { line: said.to_string(), command: None, operation, target })
}

/// The command a tag names.
fn command_of(tag: &str) -> Option<String> {
    let inner = tag.strip_prefix("CMD64_")?;
    let end = inner.find("_END")?;
    String::from_utf8(crate::base64::decode(&inner[..end])?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by hand from the documented compact format (`log stream
    /// --style compact`) and the kernel's sandbox messages; not recorded on
    /// a Mac, which this project has not had yet.
    const CORPUS: &str = "\
Filtering the log data using \"eventMessage ENDSWITH \\\"_k3j9x0a1b_SBX\\\"\"
Timestamp               Ty Process[PID:TID]
2025-01-15 10:23:45.123 E  kernel[0:1a2b] (Sandbox) Sandbox: cat(4321) deny(1) file-read-data /Users/u/.ssh/id_rsa CMD64_Y2F0IC9Vc2Vycy91Ly5zc2gvaWRfcnNh_END_k3j9x0a1b_SBX
2025-01-15 10:23:46.001 E  kernel[0:1a2c] (Sandbox) Sandbox: curl(4400) deny(1) network-outbound 93.184.216.34:443
2025-01-15 10:23:46.001 E  kernel[0:1a2c] CMD64_Y3VybCBodHRwczovL2V4YW1wbGUuY29t_END_k3j9x0a1b_SBX
2025-01-15 10:23:47.500 E  kernel[0:1a2d] (Sandbox) Sandbox: mDNSResponder(88) deny(1) network-outbound /private/var/run/mDNSResponder CMD64_eA==_END_k3j9x0a1b_SBX
2025-01-15 10:23:48.000 E  kernel[0:1a2e] (Sandbox) Sandbox: bash(4500) deny(1) file-write-create /Users/u/proj/.git/hooks/pre-commit CMD64_Z2l0IGNvbW1pdA==_END_k3j9x0a1b_SBX
2025-01-15 10:23:49.000 E  kernel[0:1a2f] (Sandbox) Sandbox: node(4600) deny(1) mach-lookup com.apple.analyticsd CMD64_bm9kZQ==_END_k3j9x0a1b_SBX
";

    #[test]
    fn denials_are_read_with_their_command_and_the_noise_is_dropped() {
        let denials = parse_lines(CORPUS);
        let seen: Vec<(&str, &str, Option<&str>)> =
            denials.iter().map(|d| (d.operation.as_str(), d.target.as_str(), d.command.as_deref())).collect();
        assert_eq!(
            seen,
            [
                ("file-read-data", "/Users/u/.ssh/id_rsa", Some("cat /Users/u/.ssh/id_rsa")),
                ("network-outbound", "93.184.216.34:443", Some("curl https://example.com")),
                ("file-write-create", "/Users/u/proj/.git/hooks/pre-commit", Some("git commit")),
            ]
        );
        assert_eq!(denials[0].line, "cat(4321) deny(1) file-read-data /Users/u/.ssh/id_rsa");
    }

    #[test]
    fn a_path_that_spells_a_tag_cannot_pass_a_denial_off_as_another_commands() {
        // `cat` (tag for `cat`) is denied a file whose name carries the tag of `ls`.
        let line = "2025-01-15 10:23:45.123 E  kernel[0:1a2b] (Sandbox) Sandbox: cat(1) deny(1) file-read-data /x/a CMD64_bHM=_END_s_SBX CMD64_Y2F0_END_s_SBX";
        let denials = parse_lines(line);
        assert_eq!(denials.len(), 1);
        assert_eq!(denials[0].command.as_deref(), Some("cat"));
        assert_eq!(denials[0].target, "/x/a CMD64_bHM=_END_s_SBX");
    }

    #[test]
    fn a_session_tags_its_commands_and_streams_only_its_own_denials() {
        let suffix = session_suffix(&[0, 1, 35, 36, 200]);
        assert_eq!(suffix, "_01z0k01z0_SBX");
        let tag = log_tag("cat /Users/u/.ssh/id_rsa", &suffix);
        assert_eq!(command_of(&tag).as_deref(), Some("cat /Users/u/.ssh/id_rsa"));
        assert!(tag.ends_with(&suffix));
        let args = log_stream_args(&suffix);
        assert_eq!(args[2], "(eventMessage ENDSWITH \"_01z0k01z0_SBX\")");
        assert_eq!(command_of(&log_tag(&"x".repeat(300), &suffix)).map(|c| c.len()), Some(100));
    }
}
