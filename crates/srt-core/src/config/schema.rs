//! The settings file, as typed Rust structs (reference §2). camelCase JSON.
//!
//! Deserialisation checks shapes and types; `validate` checks the rest
//! (patterns, ranges, cross-field rules) and reports every problem with its key
//! path. The JSON Schema shipped for editors is generated from these types.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

/// The whole settings file.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(title = "srt-rs settings", description = "Settings of the srt sandbox runtime (~/.srt-settings.json).")]
pub struct Settings {
    /// Network policy. Required.
    pub network: NetworkSettings,
    /// Filesystem policy. Required.
    pub filesystem: FilesystemSettings,
    /// Violations to leave unreported: command substring (or "*") to substrings of the violation line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_violations: Option<BTreeMap<String, Vec<String>>>,
    /// Linux: for unprivileged containers where a fresh /proc cannot be mounted. Considerably weaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_weaker_nested_sandbox: Option<bool>,
    /// Accepted for compatibility with the original; srt-rs scans natively and never runs ripgrep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ripgrep: Option<RipgrepSettings>,
    /// Linux: how deep below the working directory to look for protected files (1-10, default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10))]
    pub mandatory_deny_search_depth: Option<i64>,
    /// macOS: allow pseudo-terminals inside the sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_pty: Option<bool>,
    /// Credential files and variables to deny or mask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<CredentialsSettings>,
    /// Linux: let the command create user namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_nested_user_namespaces: Option<bool>,
    /// macOS: allow com.apple.trustd.agent (Go TLS verification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_weaker_network_isolation: Option<bool>,
    /// macOS: allow Apple Events and LaunchServices opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_apple_events: Option<bool>,
    /// Accepted for compatibility with the original; srt-rs applies its own seccomp filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<SeccompSettings>,
    /// Linux: absolute path of bwrap (default: looked up on PATH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bwrap_path: Option<String>,
    /// Accepted for compatibility with the original; srt-rs needs no socat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socat_path: Option<String>,
    /// Absolute path of the JVM proxy agent jar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub java_agent_jar_path: Option<String>,
    /// Git settings injected into the sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitSettings>,
    /// Windows backend settings (ignored on Linux and macOS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<WindowsSettings>,
    /// Linux: the most processes and memory one sandbox may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsSettings>,
}

/// `limits`: what one sandbox may use at once. A key left out takes its
/// default; `null` means no limit.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LimitsSettings {
    /// Processes and threads at once, bubblewrap's and srt's helper's included (default 4096; at least 8), or null for no limit.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "max_processes_schema")]
    pub max_processes: Option<Limit>,
    /// Memory in MiB, swap included (default: three quarters of the machine's memory; at least 16), or null for no limit.
    #[serde(rename = "maxMemoryMB", default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "max_memory_schema")]
    pub max_memory_mb: Option<Limit>,
}

/// A limit as written: a number, or `null` for none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Unlimited,
    At(i64),
}

pub const LIMIT_SHAPE: &str = "expected a whole number, or null for no limit";

/// A key that is there, even as `null`: `Some`. (Serde reads a `null` as a
/// missing `Option`, but here `null` says "no limit" and missing says "the default".)
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Limit>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(Some(Limit::Unlimited)),
        serde_json::Value::Number(n) if n.is_i64() => Ok(n.as_i64().map(Limit::At)),
        _ => Err(serde::de::Error::custom(LIMIT_SHAPE)),
    }
}

impl Serialize for Limit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Limit::Unlimited => s.serialize_none(),
            Limit::At(n) => s.serialize_i64(*n),
        }
    }
}

fn max_processes_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": ["integer", "null"], "minimum": 8 })
}

fn max_memory_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": ["integer", "null"], "minimum": 16 })
}

/// `network`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSettings {
    /// Hosts the command may reach through the proxy: "example.com", "*.example.com", "host:443", "[::1]:8080".
    pub allowed_domains: Vec<String>,
    /// Hosts always refused, checked first; a bare "*" denies everything.
    pub denied_domains: Vec<String>,
    /// A reason per deniedDomains entry, shown to the client and in the violation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_domain_reasons: Option<BTreeMap<String, String>>,
    /// Deny unmatched hosts without asking the callback or per-command lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict_allowlist: Option<bool>,
    /// IP addresses or CIDR ranges a resolved name may never connect to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_resolved_addresses: Option<Vec<String>>,
    /// macOS: unix socket paths the command may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_unix_sockets: Option<Vec<String>>,
    /// Allow every unix socket (Linux: no unix-socket seccomp filter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_all_unix_sockets: Option<bool>,
    /// macOS: allow binding local ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_local_binding: Option<bool>,
    /// macOS: extra mach-lookup services ("*" only as the last character).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_mach_lookup: Option<Vec<String>>,
    /// Use an external HTTP proxy on this localhost port instead of srt's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub http_proxy_port: Option<i64>,
    /// Use an external SOCKS5 proxy on this localhost port instead of srt's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub socks_proxy_port: Option<i64>,
    /// Route matching hosts through an upstream proxy on a unix socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitm_proxy: Option<MitmProxySettings>,
    /// Upstream proxy for srt's own outbound connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_proxy: Option<ParentProxySettings>,
    /// Terminate TLS of CONNECT tunnels in-process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_terminate: Option<TlsTerminateSettings>,
    /// A per-request JavaScript callback (library only; never valid in a JSON file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_request: Option<serde_json::Value>,
    /// Allow setHeaders on cleartext requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_plaintext_header_set: Option<bool>,
    /// Response headers to remove.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_response_headers: Option<Vec<String>>,
    /// Refuse CONNECTs that cannot be inspected, and every SOCKS CONNECT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refuse_opaque_tunnels: Option<bool>,
    /// Answer 421 when Host, SNI or the absolute authority differ from the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_host_match: Option<bool>,
    /// What to do with ambiguous request targets when filterRequest is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ambiguous_request_target: Option<AmbiguousRequestTarget>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum AmbiguousRequestTarget {
    #[default]
    #[serde(rename = "refuse")]
    Refuse,
    #[serde(rename = "asSpelled")]
    AsSpelled,
    #[serde(rename = "normalize")]
    Normalize,
}

/// `network.mitmProxy`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MitmProxySettings {
    pub socket_path: String,
    /// Host patterns (no port); at least one.
    pub domains: Vec<String>,
}

/// `network.parentProxy`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ParentProxySettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_proxy: Option<String>,
}

/// `network.tlsTerminate`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TlsTerminateSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_key_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_ca_cert_paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65536))]
    pub max_tunnels: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 100, max = 600000))]
    pub handshake_timeout_ms: Option<i64>,
}

/// `filesystem`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FilesystemSettings {
    /// Paths whose contents the command cannot read.
    pub deny_read: Vec<PathEntry>,
    /// Paths re-opened for reading inside denyRead regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_read: Option<Vec<PathEntry>>,
    /// Paths the command may write (besides the defaults).
    pub allow_write: Vec<PathEntry>,
    /// Paths inside allowWrite that stay read-only.
    pub deny_write: Vec<PathEntry>,
    /// Stop protecting .git/config (hooks stay protected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_git_config: Option<bool>,
    /// Drop every filesystem rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// A filesystem list entry: a path string (with `~`, relative paths and globs),
/// or `{ "path": "...", "literal": true }` for a name taken character for character.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "serde_json::Value", into = "serde_json::Value")]
pub enum PathEntry {
    Pattern(String),
    Literal(String),
}

pub const PATH_ENTRY_SHAPE: &str = "Expected a path, or { \"path\": \"<path>\", \"literal\": true }";

impl PathEntry {
    pub fn text(&self) -> &str {
        match self {
            PathEntry::Pattern(s) | PathEntry::Literal(s) => s,
        }
    }
    pub fn is_literal(&self) -> bool {
        matches!(self, PathEntry::Literal(_))
    }
}

impl TryFrom<serde_json::Value> for PathEntry {
    type Error = String;
    fn try_from(value: serde_json::Value) -> Result<Self, String> {
        use serde_json::Value;
        match value {
            Value::String(s) => Ok(PathEntry::Pattern(s)),
            Value::Object(map) => {
                let literal = map.get("literal") == Some(&Value::Bool(true));
                match (map.get("path"), literal, map.len()) {
                    (Some(Value::String(p)), true, 2) => Ok(PathEntry::Literal(p.clone())),
                    _ => Err(PATH_ENTRY_SHAPE.to_string()),
                }
            }
            _ => Err(PATH_ENTRY_SHAPE.to_string()),
        }
    }
}

impl From<PathEntry> for serde_json::Value {
    fn from(entry: PathEntry) -> Self {
        match entry {
            PathEntry::Pattern(s) => serde_json::Value::String(s),
            PathEntry::Literal(s) => serde_json::json!({ "path": s, "literal": true }),
        }
    }
}

impl JsonSchema for PathEntry {
    fn schema_name() -> Cow<'static, str> {
        "PathEntry".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A path (\"~\" and relative paths allowed; a trailing \"/**\" means the directory), or { \"path\": ..., \"literal\": true } for a name with glob characters taken literally.",
            "oneOf": [
                { "type": "string", "minLength": 1 },
                {
                    "type": "object",
                    "properties": {
                        "path": { "type": "string", "minLength": 1 },
                        "literal": { "const": true }
                    },
                    "required": ["path", "literal"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// `ripgrep`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RipgrepSettings {
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv0: Option<String>,
}

/// `seccomp`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeccompSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv0: Option<String>,
}

/// `git`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitSettings {
    /// Directories git may treat as safe inside the sandbox.
    #[serde(default)]
    pub safe_directories: Vec<String>,
}

/// `credentials` (strict: unknown keys are errors).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialsSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<CredentialFile>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_vars: Option<Vec<CredentialEnvVar>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_plaintext_inject: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_pairs: Option<Vec<AwsPair>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigv4: Option<Sigv4Settings>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum CredentialMode {
    Deny,
    Mask,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum OnExtractNoMatch {
    Warn,
    Deny,
    Error,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum CredentialDecode {
    Jwt,
}

/// `credentials.files[]`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialFile {
    pub path: String,
    pub mode: CredentialMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_extract_no_match: Option<OnExtractNoMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode: Option<CredentialDecode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask_claims: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask_duplicates: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inject_hosts: Option<Vec<String>>,
}

/// `credentials.envVars[]`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialEnvVar {
    pub name: String,
    pub mode: CredentialMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_extract_no_match: Option<OnExtractNoMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode: Option<CredentialDecode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask_claims: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inject_hosts: Option<Vec<String>>,
}

/// `credentials.awsPairs[]`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsPair {
    pub access_key_id_var: String,
    pub secret_access_key_var: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token_var: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Sigv4Mode {
    Deny,
    Passthrough,
}

/// `credentials.sigv4`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sigv4Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streaming: Option<Sigv4Mode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presigned: Option<Sigv4Mode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigv4a: Option<Sigv4Mode>,
}

/// `windows`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WindowsSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<WindowsBackend>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sublayer_guid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wfp_sublayer_guid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_port_range: Option<(i64, i64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srt_win: Option<SrtWinSettings>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
pub enum WindowsBackend {
    #[serde(rename = "mxc")]
    Mxc,
    #[serde(rename = "srt-win")]
    SrtWin,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SrtWinSettings {
    pub path: String,
}

/// The built-in defaults used when there is no settings file: no network,
/// writes only to the default write paths, reads everywhere.
pub fn default_settings() -> Settings {
    Settings {
        filesystem: FilesystemSettings { allow_read: Some(Vec::new()), ..Default::default() },
        ..Default::default()
    }
}

/// The JSON Schema of the settings file, as shipped in `settings.schema.json`.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Settings);
    serde_json::to_value(&schema).expect("a schema is JSON")
}
