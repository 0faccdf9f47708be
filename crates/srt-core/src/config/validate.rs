//! Rules that types alone cannot express (reference §2): domain patterns,
//! ranges, path shapes and cross-field checks. Every problem is reported,
//! each with the key path it concerns.

use std::net::IpAddr;

use super::schema::*;
use super::Issue;
use crate::policy::domain::{parse_entry, EntryKind, HostMatch, HostPattern};

/// Collects issues while walking the settings.
struct Checker {
    issues: Vec<Issue>,
}

impl Checker {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.issues.push(Issue { path: path.into(), message: message.into() });
    }

    fn range(&mut self, path: &str, value: Option<i64>, min: i64, max: i64) {
        if let Some(v) = value {
            if v < min || v > max {
                self.fail(path, format!("{v} is out of range: it must be an integer from {min} to {max}"));
            }
        }
    }

    /// A limit: a whole number in range, or null (no limit).
    fn limit(&mut self, path: &str, value: Option<Limit>, min: i64, max: i64) {
        if let Some(Limit::At(v)) = value {
            if v < min || v > max {
                self.fail(
                    path,
                    format!("{v} is out of range: it must be a whole number from {min} to {max}, or null for no limit"),
                );
            }
        }
    }

    fn domains(&mut self, path: &str, list: &[String], kind: EntryKind) -> Vec<HostPattern> {
        let mut parsed = Vec::new();
        for (i, entry) in list.iter().enumerate() {
            match parse_entry(entry, kind) {
                // The grammar holds; the host must also be one the proxy can match.
                Ok(p) => match crate::policy::decide::Pattern::new(entry, kind) {
                    Ok(_) => parsed.push(p),
                    Err(message) => self.fail(format!("{path}[{i}]"), message),
                },
                Err(e) => self.fail(format!("{path}[{i}]"), format!("{entry:?} is not a valid domain pattern ({e})")),
            }
        }
        parsed
    }

    fn absolute(&mut self, path: &str, value: &Option<String>) {
        if let Some(p) = value {
            if !p.starts_with('/') {
                self.fail(path, format!("Binary path must be absolute, got {p:?}"));
            }
        }
    }

    fn non_empty_strings(&mut self, path: &str, list: &[String], what: &str) {
        for (i, s) in list.iter().enumerate() {
            if s.is_empty() {
                self.fail(format!("{path}[{i}]"), format!("{what} cannot be empty"));
            }
        }
    }
}

/// Checks everything serde could not. Returns every issue found.
pub fn validate(settings: &Settings) -> Vec<Issue> {
    let mut c = Checker { issues: Vec::new() };
    let allowed = network(&mut c, &settings.network);
    filesystem(&mut c, &settings.filesystem);
    c.range("mandatoryDenySearchDepth", settings.mandatory_deny_search_depth, 1, 10);
    if let Some(l) = &settings.limits {
        // Below these, bubblewrap and srt's helper alone would not fit.
        c.limit("limits.maxProcesses", l.max_processes, 8, 4_194_304);
        c.limit("limits.maxMemoryMB", l.max_memory_mb, 16, 1 << 40);
    }
    c.absolute("bwrapPath", &settings.bwrap_path);
    c.absolute("socatPath", &settings.socat_path);
    c.absolute("javaAgentJarPath", &settings.java_agent_jar_path);
    if let Some(s) = &settings.seccomp {
        if s.argv0.is_some() && s.apply_path.is_none() {
            c.fail("seccomp.argv0", "seccomp.argv0 requires seccomp.applyPath");
        }
    }
    if let Some(rg) = &settings.ripgrep {
        if rg.command.is_empty() {
            c.fail("ripgrep.command", "cannot be empty");
        }
    }
    if let Some(git) = &settings.git {
        c.non_empty_strings("git.safeDirectories", &git.safe_directories, "a directory");
    }
    if let Some(w) = &settings.windows {
        windows(&mut c, w);
    }
    if let Some(cr) = &settings.credentials {
        credentials(&mut c, cr, &allowed, &settings.network);
    }
    if let Some(map) = &settings.ignore_violations {
        for (command, patterns) in map {
            c.non_empty_strings(&format!("ignoreViolations.{command}"), patterns, "a pattern");
        }
    }
    c.issues
}

fn network(c: &mut Checker, n: &NetworkSettings) -> Vec<HostPattern> {
    let allowed = c.domains("network.allowedDomains", &n.allowed_domains, EntryKind::Allow);
    c.domains("network.deniedDomains", &n.denied_domains, EntryKind::Deny);
    if let Some(reasons) = &n.denied_domain_reasons {
        for (entry, reason) in reasons {
            if reason.trim().is_empty() {
                c.fail(format!("network.deniedDomainReasons.{entry}"), "a reason cannot be empty");
            }
        }
    }
    if let Some(list) = &n.denied_resolved_addresses {
        for (i, entry) in list.iter().enumerate() {
            if !is_ip_or_cidr(entry) {
                c.fail(
                    format!("network.deniedResolvedAddresses[{i}]"),
                    format!("Invalid IP address or CIDR range {entry:?} (IPv6 is written without brackets, e.g. \"fd00::/8\")"),
                );
            }
        }
    }
    if let Some(list) = &n.allow_mach_lookup {
        for (i, name) in list.iter().enumerate() {
            let star = name.find('*');
            if name.is_empty() || star.is_some_and(|at| at != name.len() - 1) {
                c.fail(
                    format!("network.allowMachLookup[{i}]"),
                    format!("{name:?} is not a mach service name (\"*\" may only be its last character)"),
                );
            }
        }
    }
    if let Some(list) = &n.allow_unix_sockets {
        c.non_empty_strings("network.allowUnixSockets", list, "a socket path");
    }
    c.range("network.httpProxyPort", n.http_proxy_port, 1, 65535);
    c.range("network.socksProxyPort", n.socks_proxy_port, 1, 65535);
    if let Some(m) = &n.mitm_proxy {
        if m.socket_path.is_empty() {
            c.fail("network.mitmProxy.socketPath", "cannot be empty");
        }
        if m.domains.is_empty() {
            c.fail("network.mitmProxy.domains", "needs at least one domain pattern");
        }
        c.domains("network.mitmProxy.domains", &m.domains, EntryKind::HostOnly);
    }
    if let Some(p) = &n.parent_proxy {
        for (key, value) in [("http", &p.http), ("https", &p.https)] {
            if let Some(url) = value {
                if let Err(why) = check_proxy_url(url) {
                    let shown = crate::proxy::parent::redacted(url);
                    c.fail(format!("network.parentProxy.{key}"), format!("{shown:?} is not a proxy URL ({why})"));
                }
            }
        }
    }
    if let Some(t) = &n.tls_terminate {
        if t.ca_cert_path.is_some() != t.ca_key_path.is_some() {
            let missing = if t.ca_cert_path.is_some() { "caKeyPath" } else { "caCertPath" };
            c.fail(
                format!("network.tlsTerminate.{missing}"),
                "caCertPath and caKeyPath must be given together, or neither",
            );
        }
        if let Some(list) = &t.exclude_domains {
            c.domains("network.tlsTerminate.excludeDomains", list, EntryKind::HostOnly);
        }
        if let Some(list) = &t.extra_ca_cert_paths {
            c.non_empty_strings("network.tlsTerminate.extraCaCertPaths", list, "a path");
        }
        c.range("network.tlsTerminate.maxTunnels", t.max_tunnels, 1, 65536);
        c.range("network.tlsTerminate.handshakeTimeoutMs", t.handshake_timeout_ms, 100, 600_000);
    }
    if let Some(list) = &n.strip_response_headers {
        if list.is_empty() {
            c.fail("network.stripResponseHeaders", "needs at least one header name");
        }
        c.non_empty_strings("network.stripResponseHeaders", list, "a header name");
    }
    if n.tls_terminate.is_some() && n.mitm_proxy.is_some() {
        c.fail("network.tlsTerminate", "network.tlsTerminate and network.mitmProxy are mutually exclusive");
    }
    allowed
}

fn check_proxy_url(url: &str) -> Result<(), &'static str> {
    // socks5:// (and socks5h://) beyond the original, which takes HTTP(S) proxies only.
    let rest = ["http://", "https://", "socks5://", "socks5h://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme))
        .ok_or("it must start with http://, https:// or socks5://")?;
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err("it has no host");
    }
    Ok(())
}

fn is_ip_or_cidr(entry: &str) -> bool {
    let (addr, prefix) = match entry.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (entry, None),
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return false;
    };
    match prefix {
        None => true,
        Some(p) => {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.len() <= 3
                && p.parse::<u32>().is_ok_and(|n| n <= max)
        }
    }
}

fn filesystem(c: &mut Checker, f: &FilesystemSettings) {
    let disabled = f.disabled == Some(true);
    let lists: [(&str, Option<&Vec<PathEntry>>, bool); 4] = [
        ("filesystem.denyRead", Some(&f.deny_read), true),
        ("filesystem.allowRead", f.allow_read.as_ref(), false),
        ("filesystem.allowWrite", Some(&f.allow_write), false),
        ("filesystem.denyWrite", Some(&f.deny_write), true),
    ];
    for (key, list, is_deny) in lists {
        for (i, entry) in list.into_iter().flatten().enumerate() {
            let text = entry.text();
            let path = format!("{key}[{i}]");
            if text.is_empty() {
                c.fail(path, "Path cannot be empty");
                continue;
            }
            if text.contains('\0') {
                c.fail(path, super::NUL_IN_PATH);
                continue;
            }
            let rooted = text.starts_with('/') || text.starts_with('~');
            if is_deny && !disabled && !entry.is_literal() && rooted && has_glob(text) && text.ends_with('/') {
                c.fail(
                    path,
                    format!("Deny glob {text:?} ends in a separator, so it would match nothing: drop the trailing \"/\" (or end it with \"/**\")"),
                );
            }
        }
    }
}

/// Glob characters of the path grammar (reference §2.9).
pub fn has_glob(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

fn windows(c: &mut Checker, w: &WindowsSettings) {
    if let Some(user) = &w.sandbox_user {
        if user.is_empty() || user.chars().count() > 20 {
            c.fail("windows.sandboxUser", "must be 1 to 20 characters long");
        }
    }
    for (key, value) in [("sublayerGuid", &w.sublayer_guid), ("wfpSublayerGuid", &w.wfp_sublayer_guid)] {
        if let Some(g) = value {
            if !is_uuid(g) {
                c.fail(format!("windows.{key}"), format!("{g:?} is not a UUID"));
            }
        }
    }
    if let Some((lo, hi)) = w.proxy_port_range {
        c.range("windows.proxyPortRange[0]", Some(lo), 1, 65535);
        c.range("windows.proxyPortRange[1]", Some(hi), 1, 65535);
        if lo > hi {
            c.fail("windows.proxyPortRange", "the first port must not be above the second");
        } else if hi - lo + 1 > 64 {
            c.fail("windows.proxyPortRange", "the range may span at most 64 ports");
        }
    }
    if let Some(s) = &w.srt_win {
        if s.path.is_empty() {
            c.fail("windows.srtWin.path", "cannot be empty");
        }
    }
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// An `extract` expression must capture what it extracts: at least one group
/// that is not `(?:...)`, `(?=...)` and the like (named groups count).
fn has_capture_group(regex: &str) -> bool {
    let bytes = regex.as_bytes();
    let mut escaped = false;
    let mut in_class = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'(' if !in_class => {
                let next = bytes.get(i + 1);
                let named = bytes[i + 1..].starts_with(b"?<") && !matches!(bytes.get(i + 3), Some(b'=' | b'!'));
                if next != Some(&b'?') || named || bytes[i + 1..].starts_with(b"?P<") {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

fn covered_by(host: &HostPattern, allowed: &[HostPattern]) -> bool {
    allowed.iter().any(|a| match (&a.host, &host.host) {
        (HostMatch::Exact(x), HostMatch::Exact(y)) => x == y,
        (HostMatch::Subdomains(base), HostMatch::Exact(y)) => y.ends_with(&format!(".{base}")),
        (HostMatch::Subdomains(base), HostMatch::Subdomains(other)) => {
            other == base || other.ends_with(&format!(".{base}"))
        }
        _ => false,
    })
}

struct MaskRule<'a> {
    path: String,
    mode: CredentialMode,
    extract: &'a Option<String>,
    decode: &'a Option<CredentialDecode>,
    mask_claims: &'a Option<Vec<String>>,
    inject_hosts: &'a Option<Vec<String>>,
}

fn credentials(c: &mut Checker, cr: &CredentialsSettings, allowed: &[HostPattern], n: &NetworkSettings) {
    let mut rules = Vec::new();
    for (i, f) in cr.files.iter().flatten().enumerate() {
        let path = format!("credentials.files[{i}]");
        if f.path.is_empty() {
            c.fail(format!("{path}.path"), "Path cannot be empty");
        } else if f.mode == CredentialMode::Mask && f.path.ends_with('/') {
            c.fail(format!("{path}.path"), "a masked credential must be a file, not a path ending in \"/\"");
        }
        rules.push(MaskRule {
            path,
            mode: f.mode,
            extract: &f.extract,
            decode: &f.decode,
            mask_claims: &f.mask_claims,
            inject_hosts: &f.inject_hosts,
        });
    }
    let mut masked_vars = Vec::new();
    for (i, v) in cr.env_vars.iter().flatten().enumerate() {
        let path = format!("credentials.envVars[{i}]");
        if !is_env_name(&v.name) {
            c.fail(format!("{path}.name"), format!("{:?} is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", v.name));
        }
        if v.mode == CredentialMode::Mask && v.extract.is_none() && v.decode.is_none() {
            masked_vars.push(v.name.as_str());
        }
        rules.push(MaskRule {
            path,
            mode: v.mode,
            extract: &v.extract,
            decode: &v.decode,
            mask_claims: &v.mask_claims,
            inject_hosts: &v.inject_hosts,
        });
    }
    let excluded: Vec<HostPattern> = n
        .tls_terminate
        .as_ref()
        .and_then(|t| t.exclude_domains.as_ref())
        .map(|l| l.iter().filter_map(|e| parse_entry(e, EntryKind::HostOnly).ok()).collect())
        .unwrap_or_default();
    for rule in &rules {
        if let Some(re) = rule.extract {
            if !has_capture_group(re) {
                c.fail(format!("{}.extract", rule.path), "the expression needs at least one capture group");
            }
        }
        if let Some(claims) = rule.mask_claims {
            if rule.decode.is_none() {
                c.fail(format!("{}.maskClaims", rule.path), "maskClaims requires decode: \"jwt\"");
            }
            if claims.is_empty() {
                c.fail(format!("{}.maskClaims", rule.path), "needs at least one claim");
            }
        }
        if let Some(hosts) = rule.inject_hosts {
            let key = format!("{}.injectHosts", rule.path);
            if hosts.is_empty() {
                c.fail(&key, "an empty list would inject nowhere: leave injectHosts out to use allowedDomains");
            }
            let parsed = c.domains(&key, hosts, EntryKind::HostOnly);
            for (host, text) in parsed.iter().zip(hosts) {
                if !covered_by(host, allowed) {
                    c.fail(&key, format!("{text:?} is not covered by network.allowedDomains"));
                }
            }
            if rule.mode == CredentialMode::Mask
                && !parsed.is_empty()
                && parsed.iter().all(|h| covered_by(h, &excluded))
            {
                c.fail(&key, "every injection host is in network.tlsTerminate.excludeDomains, so the secret could never be injected");
            }
        }
        if rule.mode == CredentialMode::Mask && n.tls_terminate.is_none() && cr.allow_plaintext_inject != Some(true) {
            c.fail(
                format!("{}.mode", rule.path),
                "mode \"mask\" requires network.tlsTerminate (or credentials.allowPlaintextInject)",
            );
        }
    }
    let mut used: Vec<&str> = Vec::new();
    for (i, pair) in cr.aws_pairs.iter().flatten().enumerate() {
        let vars = [
            ("accessKeyIdVar", Some(&pair.access_key_id_var)),
            ("secretAccessKeyVar", Some(&pair.secret_access_key_var)),
            ("sessionTokenVar", pair.session_token_var.as_ref()),
        ];
        for (key, var) in vars {
            let Some(var) = var else { continue };
            let path = format!("credentials.awsPairs[{i}].{key}");
            if !masked_vars.contains(&var.as_str()) {
                c.fail(&path, format!("{var:?} must be a whole-value masked entry of credentials.envVars"));
            }
            if used.contains(&var.as_str()) {
                c.fail(&path, format!("{var:?} is used by more than one AWS pair"));
            }
            used.push(var);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_groups() {
        assert!(has_capture_group("token=(\\w+)"));
        assert!(has_capture_group("(?<name>x)"));
        assert!(has_capture_group("(?P<name>x)"));
        assert!(!has_capture_group("(?:x)"));
        assert!(!has_capture_group("\\(x\\)"));
        assert!(!has_capture_group("[(]x"));
        assert!(!has_capture_group("(?<=a)b"));
    }

    #[test]
    fn cidrs() {
        for good in ["10.0.0.0/8", "fd00::/8", "1.2.3.4", "::1", "0.0.0.0/0"] {
            assert!(is_ip_or_cidr(good), "{good}");
        }
        for bad in ["10.0.0.0/33", "[::1]", "fd00::/129", "example.com", "1.2.3.4/", "1.2.3.4/-1"] {
            assert!(!is_ip_or_cidr(bad), "{bad}");
        }
    }
}
