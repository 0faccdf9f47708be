//! One test per validation rule of reference §2: a good case that passes and a
//! bad case whose message names the key path and the reason.

use serde_json::{json, Value};

use super::*;

fn base() -> Value {
    json!({
        "network": { "allowedDomains": [], "deniedDomains": [] },
        "filesystem": { "denyRead": [], "allowWrite": [], "denyWrite": [] }
    })
}

/// Deep-merges `patch` into the base config; a `null` in the patch deletes the key.
fn with(patch: Value) -> String {
    fn merge(target: &mut Value, patch: Value) {
        match (target, patch) {
            (Value::Object(t), Value::Object(p)) => {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(&k);
                    } else {
                        merge(t.entry(k).or_insert(Value::Null), v);
                    }
                }
            }
            (t, p) => *t = p,
        }
    }
    let mut doc = base();
    merge(&mut doc, patch);
    doc.to_string()
}

fn issues_of(text: &str) -> Vec<Issue> {
    match parse_settings(text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(ParseError::Invalid(issues)) => issues,
        Err(other) => panic!("{other} for {text}"),
    }
}

/// The good case parses; the bad case fails with an issue at `path` whose message contains `says`.
fn rule(good: Value, bad: Value, path: &str, says: &str) {
    let good = with(good);
    if let Err(e) = parse_settings(&good) {
        panic!("good case refused: {e}\n{good}");
    }
    let bad = with(bad);
    let issues = issues_of(&bad);
    assert!(
        issues.iter().any(|i| i.path == path && i.message.contains(says)),
        "expected an issue at {path} saying {says:?}, got {issues:?}"
    );
}

macro_rules! rules {
    ($($name:ident: $good:expr, $bad:expr => $path:expr, $says:expr;)*) => {
        $(#[test] fn $name() { rule($good, $bad, $path, $says) })*
    };
}

rules! {
    network_is_required: json!({}), json!({"network": null}) => "network", "is required";
    filesystem_is_required: json!({}), json!({"filesystem": null}) => "filesystem", "is required";
    allowed_domains_is_required: json!({}), json!({"network": {"allowedDomains": null}}) => "network.allowedDomains", "is required";
    denied_domains_is_required: json!({}), json!({"network": {"deniedDomains": null}}) => "network.deniedDomains", "is required";
    deny_read_is_required: json!({}), json!({"filesystem": {"denyRead": null}}) => "filesystem.denyRead", "is required";
    allow_write_is_required: json!({}), json!({"filesystem": {"allowWrite": null}}) => "filesystem.allowWrite", "is required";
    deny_write_is_required: json!({}), json!({"filesystem": {"denyWrite": null}}) => "filesystem.denyWrite", "is required";
    allowed_domains_is_an_array_of_strings:
        json!({"network": {"allowedDomains": ["example.com"]}}),
        json!({"network": {"allowedDomains": "example.com"}}) => "network.allowedDomains", "invalid type";
    allowed_domain_wildcard_needs_two_labels:
        json!({"network": {"allowedDomains": ["*.example.com", "*.co.uk", "*.github.io"]}}),
        json!({"network": {"allowedDomains": ["example.com", "*.org", "*.com"]}}) => "network.allowedDomains[2]", "\"*.com\" is not a valid domain pattern (a wildcard needs at least two labels after \"*.\")";
    allowed_domain_star_only_leading:
        json!({"network": {"allowedDomains": ["*.example.com"]}}),
        json!({"network": {"allowedDomains": ["*example.com"]}}) => "network.allowedDomains[0]", "\"*.\"";
    allowed_domain_needs_a_dot:
        json!({"network": {"allowedDomains": ["localhost", "example.com", "10.1.2.3"]}}),
        json!({"network": {"allowedDomains": ["not-a-domain"]}}) => "network.allowedDomains[0]", "dot";
    allowed_domain_no_leading_or_trailing_dot:
        json!({"network": {"allowedDomains": ["a.example.com"]}}),
        json!({"network": {"allowedDomains": ["example.com."]}}) => "network.allowedDomains[0]", "start or end with a dot";
    allowed_domain_is_not_a_url:
        json!({"network": {"allowedDomains": ["example.com"]}}),
        json!({"network": {"allowedDomains": ["https://example.com"]}}) => "network.allowedDomains[0]", "not a URL";
    allowed_domain_port_grammar:
        json!({"network": {"allowedDomains": ["example.com:443", "example.com:65535"]}}),
        json!({"network": {"allowedDomains": ["example.com:443", "example.com:0443"]}}) => "network.allowedDomains[1]", "from 1 to 65535";
    allowed_domain_ipv6_needs_brackets:
        json!({"network": {"allowedDomains": ["[::1]", "[2001:db8::1]:443"]}}),
        json!({"network": {"allowedDomains": ["2001:db8::1"]}}) => "network.allowedDomains[0]", "brackets";
    allowed_domain_bracket_tail:
        json!({"network": {"allowedDomains": ["[::1]:8080"]}}),
        json!({"network": {"allowedDomains": ["[::1]junk"]}}) => "network.allowedDomains[0]", "only \":port\"";
    bare_star_only_in_denied_domains:
        json!({"network": {"deniedDomains": ["*", "*:22"]}}),
        json!({"network": {"allowedDomains": ["*"]}}) => "network.allowedDomains[0]", "deniedDomains only";
    domain_hosts_are_hosts:
        json!({"network": {"allowedDomains": ["10.0.0.1", "bücher.example", "*.xn--bcher-kva.example"]}}),
        json!({"network": {"allowedDomains": ["256.1.1.1"]}}) => "network.allowedDomains[0]", "an IPv4 part above 255";
    denied_domain_pattern:
        json!({"network": {"deniedDomains": ["evil.com", "*.evil.com:443"]}}),
        json!({"network": {"deniedDomains": ["evil.com", "*.com"]}}) => "network.deniedDomains[1]", "two labels";
    denied_domain_reason_not_empty:
        json!({"network": {"deniedDomainReasons": {"evil.com": "phishing"}}}),
        json!({"network": {"deniedDomainReasons": {"evil.com": " "}}}) => "network.deniedDomainReasons.evil.com", "cannot be empty";
    denied_resolved_addresses_are_ips_or_cidrs:
        json!({"network": {"deniedResolvedAddresses": ["10.0.0.0/8", "fd00::/8", "192.0.2.1"]}}),
        json!({"network": {"deniedResolvedAddresses": ["10.0.0.0/8", "[::1]"]}}) => "network.deniedResolvedAddresses[1]", "Invalid IP address or CIDR range";
    allow_mach_lookup_star_is_trailing:
        json!({"network": {"allowMachLookup": ["com.apple.foo", "com.apple.bar.*"]}}),
        json!({"network": {"allowMachLookup": ["com.*.bar"]}}) => "network.allowMachLookup[0]", "last character";
    allow_unix_sockets_not_empty:
        json!({"network": {"allowUnixSockets": ["/var/run/x.sock"]}}),
        json!({"network": {"allowUnixSockets": [""]}}) => "network.allowUnixSockets[0]", "cannot be empty";
    http_proxy_port_range:
        json!({"network": {"httpProxyPort": 65535}}),
        json!({"network": {"httpProxyPort": 65536}}) => "network.httpProxyPort", "from 1 to 65535";
    socks_proxy_port_range:
        json!({"network": {"socksProxyPort": 1}}),
        json!({"network": {"socksProxyPort": 0}}) => "network.socksProxyPort", "from 1 to 65535";
    proxy_port_is_an_integer:
        json!({"network": {"httpProxyPort": 3128}}),
        json!({"network": {"httpProxyPort": "3128"}}) => "network.httpProxyPort", "invalid type";
    mitm_proxy_needs_domains:
        json!({"network": {"mitmProxy": {"socketPath": "/tmp/m.sock", "domains": ["example.com"]}}}),
        json!({"network": {"mitmProxy": {"socketPath": "/tmp/m.sock", "domains": []}}}) => "network.mitmProxy.domains", "at least one";
    mitm_proxy_domains_have_no_port:
        json!({"network": {"mitmProxy": {"socketPath": "/tmp/m.sock", "domains": ["*.example.com"]}}}),
        json!({"network": {"mitmProxy": {"socketPath": "/tmp/m.sock", "domains": ["example.com:443"]}}}) => "network.mitmProxy.domains[0]", "without a \":port\"";
    mitm_proxy_socket_path_not_empty:
        json!({"network": {"mitmProxy": {"socketPath": "/tmp/m.sock", "domains": ["example.com"]}}}),
        json!({"network": {"mitmProxy": {"socketPath": "", "domains": ["example.com"]}}}) => "network.mitmProxy.socketPath", "cannot be empty";
    parent_proxy_is_a_url:
        json!({"network": {"parentProxy": {"http": "socks5://u:p@proxy.corp:1080", "https": "https://u:p@proxy.corp", "noProxy": "localhost"}}}),
        json!({"network": {"parentProxy": {"https": "proxy.corp:3128"}}}) => "network.parentProxy.https", "http://, https:// or socks5://";
    tls_terminate_ca_pair:
        json!({"network": {"tlsTerminate": {"caCertPath": "/ca.pem", "caKeyPath": "/ca.key"}}}),
        json!({"network": {"tlsTerminate": {"caCertPath": "/ca.pem"}}}) => "network.tlsTerminate.caKeyPath", "together";
    tls_terminate_max_tunnels_range:
        json!({"network": {"tlsTerminate": {"maxTunnels": 65536}}}),
        json!({"network": {"tlsTerminate": {"maxTunnels": 0}}}) => "network.tlsTerminate.maxTunnels", "from 1 to 65536";
    tls_terminate_handshake_timeout_range:
        json!({"network": {"tlsTerminate": {"handshakeTimeoutMs": 100}}}),
        json!({"network": {"tlsTerminate": {"handshakeTimeoutMs": 99}}}) => "network.tlsTerminate.handshakeTimeoutMs", "from 100 to 600000";
    tls_terminate_exclude_domains_are_patterns:
        json!({"network": {"tlsTerminate": {"excludeDomains": ["*.bank.com"]}}}),
        json!({"network": {"tlsTerminate": {"excludeDomains": ["*.com"]}}}) => "network.tlsTerminate.excludeDomains[0]", "two labels";
    tls_terminate_and_mitm_proxy_exclusive:
        json!({"network": {"tlsTerminate": {}}}),
        json!({"network": {"tlsTerminate": {}, "mitmProxy": {"socketPath": "/m", "domains": ["a.com"]}}}) => "network.tlsTerminate", "mutually exclusive";
    strip_response_headers_not_empty:
        json!({"network": {"stripResponseHeaders": ["set-cookie"]}}),
        json!({"network": {"stripResponseHeaders": []}}) => "network.stripResponseHeaders", "at least one";
    ambiguous_request_target_values:
        json!({"network": {"ambiguousRequestTarget": "asSpelled"}}),
        json!({"network": {"ambiguousRequestTarget": "sometimes"}}) => "network.ambiguousRequestTarget", "unknown variant";
    booleans_are_booleans:
        json!({"network": {"strictAllowlist": true, "allowAllUnixSockets": false}}),
        json!({"network": {"strictAllowlist": "yes"}}) => "network.strictAllowlist", "invalid type";
    path_cannot_be_empty:
        json!({"filesystem": {"denyRead": ["~/.ssh"]}}),
        json!({"filesystem": {"denyRead": ["~/.ssh", ""]}}) => "filesystem.denyRead[1]", "Path cannot be empty";
    literal_path_object_shape:
        json!({"filesystem": {"allowWrite": [{"path": "/tmp/a[1]", "literal": true}]}}),
        json!({"filesystem": {"allowWrite": [{"path": "/tmp/a", "literal": false}]}}) => "filesystem.allowWrite[0]", "Expected a path, or { \"path\": \"<path>\", \"literal\": true }";
    literal_path_object_is_strict:
        json!({"filesystem": {"denyWrite": [{"path": "/tmp/a", "literal": true}]}}),
        json!({"filesystem": {"denyWrite": [{"path": "/tmp/a", "literal": true, "extra": 1}]}}) => "filesystem.denyWrite[0]", "Expected a path";
    deny_glob_cannot_end_in_separator:
        json!({"filesystem": {"denyRead": ["/home/*/.ssh"]}}),
        json!({"filesystem": {"denyRead": ["/home/*/"]}}) => "filesystem.denyRead[0]", "ends in a separator";
    allow_read_entries_validated:
        json!({"filesystem": {"allowRead": ["~/.ssh/known_hosts"]}}),
        json!({"filesystem": {"allowRead": [""]}}) => "filesystem.allowRead[0]", "Path cannot be empty";
    mandatory_deny_search_depth_range:
        json!({"mandatoryDenySearchDepth": 10}),
        json!({"mandatoryDenySearchDepth": 11}) => "mandatoryDenySearchDepth", "from 1 to 10";
    limits_max_processes_range:
        json!({"limits": {"maxProcesses": 8}}),
        json!({"limits": {"maxProcesses": 7}}) => "limits.maxProcesses", "from 8 to 4194304, or null for no limit";
    limits_max_memory_range:
        json!({"limits": {"maxMemoryMB": 16}}),
        json!({"limits": {"maxMemoryMB": 0}}) => "limits.maxMemoryMB", "from 16 to";
    limits_are_whole_numbers:
        json!({"limits": {"maxProcesses": 4096, "maxMemoryMB": 2048}}),
        json!({"limits": {"maxMemoryMB": "2G"}}) => "limits.maxMemoryMB", "expected a whole number, or null for no limit";
    mandatory_deny_search_depth_is_an_integer:
        json!({"mandatoryDenySearchDepth": 1}),
        json!({"mandatoryDenySearchDepth": 2.5}) => "mandatoryDenySearchDepth", "invalid type";
    ripgrep_command_required:
        json!({"ripgrep": {"command": "rg", "args": ["--hidden"], "argv0": "rg"}}),
        json!({"ripgrep": {"args": []}}) => "ripgrep.command", "is required";
    bwrap_path_absolute:
        json!({"bwrapPath": "/usr/bin/bwrap"}),
        json!({"bwrapPath": "bwrap"}) => "bwrapPath", "Binary path must be absolute";
    socat_path_absolute:
        json!({"socatPath": "/usr/bin/socat"}),
        json!({"socatPath": "./socat"}) => "socatPath", "Binary path must be absolute";
    java_agent_jar_path_absolute:
        json!({"javaAgentJarPath": "/opt/agent.jar"}),
        json!({"javaAgentJarPath": "agent.jar"}) => "javaAgentJarPath", "must be absolute";
    seccomp_argv0_needs_apply_path:
        json!({"seccomp": {"applyPath": "/x", "argv0": "apply-seccomp"}}),
        json!({"seccomp": {"argv0": "apply-seccomp"}}) => "seccomp.argv0", "requires seccomp.applyPath";
    git_safe_directories:
        json!({"git": {}}),
        json!({"git": {"safeDirectories": [""]}}) => "git.safeDirectories[0]", "cannot be empty";
    ignore_violations_shape:
        json!({"ignoreViolations": {"*": ["/usr/bin"], "npm": ["network"]}}),
        json!({"ignoreViolations": {"*": "/usr/bin"}}) => "ignoreViolations.*", "invalid type";
    windows_sandbox_user_length:
        json!({"windows": {"sandboxUser": "srt-sandbox"}}),
        json!({"windows": {"sandboxUser": "a-user-name-that-is-too-long"}}) => "windows.sandboxUser", "1 to 20";
    windows_guid:
        json!({"windows": {"sublayerGuid": "12345678-9abc-def0-1234-56789abcdef0"}}),
        json!({"windows": {"wfpSublayerGuid": "not-a-guid"}}) => "windows.wfpSublayerGuid", "not a UUID";
    windows_port_range:
        json!({"windows": {"proxyPortRange": [60080, 60089]}}),
        json!({"windows": {"proxyPortRange": [60080, 60200]}}) => "windows.proxyPortRange", "at most 64";
    windows_port_range_order:
        json!({"windows": {"proxyPortRange": [60080, 60080]}}),
        json!({"windows": {"proxyPortRange": [60089, 60080]}}) => "windows.proxyPortRange", "must not be above";
    windows_backend_values:
        json!({"windows": {"backend": "srt-win", "srtWin": {"path": "C:\\srt-win.exe"}}}),
        json!({"windows": {"backend": "docker"}}) => "windows.backend", "unknown variant";
    credentials_are_strict:
        json!({"credentials": {"files": [{"path": "~/.aws/credentials", "mode": "deny"}]}}),
        json!({"credentials": {"file": []}}) => "credentials.file", "unknown field `file`";
    credential_env_var_name:
        json!({"credentials": {"envVars": [{"name": "GITHUB_TOKEN", "mode": "deny"}]}}),
        json!({"credentials": {"envVars": [{"name": "1TOKEN", "mode": "deny"}]}}) => "credentials.envVars[0].name", "not a variable name";
    credential_mode_values:
        json!({"credentials": {"envVars": [{"name": "T", "mode": "deny"}]}}),
        json!({"credentials": {"envVars": [{"name": "T", "mode": "hide"}]}}) => "credentials.envVars[0].mode", "unknown variant";
    credential_mask_needs_tls_terminate:
        json!({"network": {"tlsTerminate": {}}, "credentials": {"envVars": [{"name": "T", "mode": "mask"}]}}),
        json!({"credentials": {"envVars": [{"name": "T", "mode": "mask"}]}}) => "credentials.envVars[0].mode", "requires network.tlsTerminate";
    credential_mask_claims_need_decode:
        json!({"credentials": {"allowPlaintextInject": true, "envVars": [{"name": "T", "mode": "mask", "decode": "jwt", "maskClaims": ["sub"]}]}}),
        json!({"credentials": {"allowPlaintextInject": true, "envVars": [{"name": "T", "mode": "mask", "maskClaims": ["sub"]}]}}) => "credentials.envVars[0].maskClaims", "requires decode";
    credential_masked_file_is_a_file:
        json!({"credentials": {"allowPlaintextInject": true, "files": [{"path": "~/.netrc", "mode": "mask"}]}}),
        json!({"credentials": {"allowPlaintextInject": true, "files": [{"path": "~/.aws/", "mode": "mask"}]}}) => "credentials.files[0].path", "not a path ending";
    credential_extract_needs_a_group:
        json!({"credentials": {"files": [{"path": "~/.netrc", "mode": "deny", "extract": "password (\\S+)"}]}}),
        json!({"credentials": {"files": [{"path": "~/.netrc", "mode": "deny", "extract": "password \\S+"}]}}) => "credentials.files[0].extract", "capture group";
    credential_inject_hosts_covered_by_allowed_domains:
        json!({"network": {"allowedDomains": ["*.github.com"]}, "credentials": {"envVars": [{"name": "T", "mode": "deny", "injectHosts": ["api.github.com"]}]}}),
        json!({"network": {"allowedDomains": ["*.github.com"]}, "credentials": {"envVars": [{"name": "T", "mode": "deny", "injectHosts": ["evil.com"]}]}}) => "credentials.envVars[0].injectHosts", "not covered by network.allowedDomains";
    credential_inject_hosts_not_empty:
        json!({"credentials": {"envVars": [{"name": "T", "mode": "deny"}]}}),
        json!({"credentials": {"envVars": [{"name": "T", "mode": "deny", "injectHosts": []}]}}) => "credentials.envVars[0].injectHosts", "empty list";
    credential_aws_pairs_use_masked_vars:
        json!({"credentials": {"allowPlaintextInject": true, "envVars": [{"name": "A", "mode": "mask"}, {"name": "S", "mode": "mask"}], "awsPairs": [{"accessKeyIdVar": "A", "secretAccessKeyVar": "S"}]}}),
        json!({"credentials": {"allowPlaintextInject": true, "envVars": [{"name": "A", "mode": "mask"}], "awsPairs": [{"accessKeyIdVar": "A", "secretAccessKeyVar": "S"}]}}) => "credentials.awsPairs[0].secretAccessKeyVar", "whole-value masked";
}

#[test]
fn every_issue_is_reported_not_only_the_first() {
    let issues = issues_of(&with(json!({
        "network": {"allowedDomains": ["*.com"], "httpProxyPort": 0},
        "mandatoryDenySearchDepth": 0
    })));
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["network.allowedDomains[0]", "network.httpProxyPort", "mandatoryDenySearchDepth"]);
}

#[test]
fn not_json_and_not_an_object() {
    assert!(matches!(parse_settings("{ nope"), Err(ParseError::Json(_))));
    let issues = issues_of("[]");
    assert_eq!(issues[0].to_string(), "(root): a config must be a JSON object");
}

#[test]
fn unknown_keys_are_reported_with_a_suggestion_and_do_not_fail() {
    let parsed = parse_settings(&with(json!({
        "network": {"alowedDomains": ["x.com"]},
        "filesytem": {},
        "filesystem": {"allowWrites": []}
    })))
    .expect("unknown keys are not fatal");
    let mut keys = parsed.unknown_keys.clone();
    keys.sort();
    assert_eq!(keys, ["filesystem.allowWrites", "filesytem", "network.alowedDomains"]);
    assert_eq!(suggest_key("network.alowedDomains").as_deref(), Some("allowedDomains"));
    assert_eq!(suggest_key("filesytem").as_deref(), Some("filesystem"));
    assert_eq!(suggest_key("filesystem.allowWrites").as_deref(), Some("allowWrite"));
    assert_eq!(suggest_key("network.zzzzzzzzzzzz"), None);
}

#[test]
fn a_null_limit_is_no_limit_and_a_missing_one_the_default() {
    let parsed = parse_settings(&with(json!({"limits": {"maxProcesses": 64}}))).unwrap();
    let doc = r#"{"network": {"allowedDomains": [], "deniedDomains": []},
        "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []},
        "limits": {"maxMemoryMB": null}}"#;
    let unlimited = parse_settings(doc).unwrap();
    assert_eq!(
        parsed.settings.limits,
        Some(LimitsSettings { max_processes: Some(Limit::At(64)), max_memory_mb: None })
    );
    assert_eq!(
        unlimited.settings.limits,
        Some(LimitsSettings { max_processes: None, max_memory_mb: Some(Limit::Unlimited) })
    );
    // And back: null stays null, not "missing".
    let again = parse_settings(&serde_json::to_string(&unlimited.settings).unwrap()).unwrap();
    assert_eq!(again.settings, unlimited.settings);
    assert!(unlimited.unknown_keys.is_empty());
}

#[test]
fn defaults_are_valid_and_round_trip() {
    let text = serde_json::to_string(&default_settings()).unwrap();
    let parsed = parse_settings(&text).unwrap();
    assert_eq!(parsed.settings, default_settings());
    assert!(parsed.unknown_keys.is_empty());
}

#[test]
fn unsupported_keys_are_refused_not_ignored() {
    let parsed = parse_settings(&with(json!({
        "network": {"allowedDomains": ["example.com"], "httpProxyPort": 8080, "allowPlaintextHeaderSet": true,
                    "parentProxy": {"http": "http://proxy.example:8080"}},
        "javaAgentJarPath": "/opt/agent.jar",
        "filesystem": {"denyRead": ["~/*.pem"], "allowWrite": [{"path": "/tmp/a*", "literal": true}, "/tmp/x/**"]},
        "ripgrep": {"command": "rg"}
    })))
    .unwrap();
    let (refused, notes) = check_supported(&parsed.settings);
    let paths: Vec<&str> = refused.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["javaAgentJarPath"]);
    assert!(refused.iter().all(|i| i.message.starts_with("not supported yet")));
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].path, "ripgrep");
    let (refused, _) = check_supported(&default_settings());
    assert!(refused.is_empty());
}

#[test]
fn committed_json_schema_matches_the_types() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../settings.schema.json");
    let generated = serde_json::to_string_pretty(&json_schema()).unwrap() + "\n";
    if std::env::var_os("SRT_UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "settings.schema.json is stale: run `SRT_UPDATE_SCHEMA=1 cargo test -p srt-core committed_json_schema` and commit it"
    );
}

#[test]
fn json_schema_knows_every_key_of_a_full_config() {
    // A document using every top-level and network/filesystem key must produce no
    // unknown keys, and the schema must list each of them: types and schema agree.
    let schema = json_schema();
    let top: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    for key in
        ["network", "filesystem", "ignoreViolations", "mandatoryDenySearchDepth", "credentials", "windows", "git"]
    {
        assert!(top.iter().any(|k| *k == key), "{key} missing from the schema");
    }
    let network = &schema["$defs"]["NetworkSettings"]["properties"];
    for key in ["allowedDomains", "deniedDomains", "strictAllowlist", "tlsTerminate", "parentProxy"] {
        assert!(network.get(key).is_some(), "network.{key} missing from the schema");
    }
}

#[test]
fn every_missing_required_key_is_reported_at_once() {
    let Err(ParseError::Invalid(issues)) =
        parse_settings(r#"{"network": {"allowedDomains": []}, "filesystem": {"denyRead": []}}"#)
    else {
        panic!("accepted")
    };
    let shown: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
    assert_eq!(
        shown,
        [
            "filesystem.allowWrite: is required",
            "filesystem.denyWrite: is required",
            "network.deniedDomains: is required"
        ]
    );
    let Err(ParseError::Invalid(issues)) = parse_settings("{}") else { panic!("accepted") };
    assert_eq!(issues.len(), 2, "{issues:?}");
}

#[test]
fn missing_keys_and_the_first_wrong_value_are_reported_together() {
    let Err(ParseError::Invalid(issues)) = parse_settings(
        r#"{"network": {"allowedDomains": [1]}, "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []}}"#,
    ) else {
        panic!("accepted")
    };
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["network.deniedDomains", "network.allowedDomains[0]"], "{issues:?}");
}
