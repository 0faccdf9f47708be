//! `credentials`: secrets the command must not have. A denied variable is
//! unset inside the sandbox and a denied file unreadable; a masked
//! variable holds a sentinel inside, which the proxy swaps for the real
//! value only on requests to that credential's hosts (in a terminated TLS
//! tunnel, or in cleartext with `allowPlaintextInject`).

pub mod extract;
pub mod jwt;
pub mod sentinels;
pub mod sigv4;
pub mod substitute;

use std::path::PathBuf;

use crate::config::{CredentialDecode, CredentialMode, OnExtractNoMatch, PathEntry, Settings};
use crate::policy::decide::Pattern;
use crate::policy::domain::EntryKind;

/// What a sandbox's environment gets in place of the credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredentialEnv {
    /// Masked variables, set to their sentinels.
    pub set: Vec<(String, String)>,
    /// Denied variables, unset.
    pub unset: Vec<String>,
    /// What could not be masked as asked, for stderr.
    pub warnings: Vec<String>,
}

impl CredentialEnv {
    /// Whether `name` is a credential: srt then builds no value of its own
    /// from the caller's (`JAVA_TOOL_OPTIONS`, `GIT_SSH_COMMAND`, ...).
    pub fn covers(&self, name: &str) -> bool {
        self.unset.iter().any(|n| n == name) || self.set.iter().any(|(n, _)| n == name)
    }

    /// `value` (the caller's, for a variable srt extends), unless `name` is a credential.
    pub fn caller_part(&self, name: &str, value: Option<String>) -> Option<String> {
        if self.covers(name) {
            None
        } else {
            value
        }
    }
}

/// The environment changes `settings.credentials` asks for, registering
/// each masked variable found in `env` with `sentinels`. A masked variable
/// that is not set has nothing to mask; one whose value is not UTF-8 is
/// unset (it cannot be swapped back).
pub fn plan_env(
    settings: &Settings,
    sentinels: &sentinels::Sentinels,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<CredentialEnv, String> {
    let mut out = CredentialEnv::default();
    let Some(cr) = &settings.credentials else { return Ok(out) };
    // An AWS secret or session token only srt's signer uses: never injected
    // (swapped into a body, the command could store it and read it back).
    let withheld: Vec<String> =
        aws_specs(settings).into_iter().flat_map(|(_, secret, token)| std::iter::once(secret).chain(token)).collect();
    for v in cr.env_vars.iter().flatten() {
        match v.mode {
            CredentialMode::Deny => out.unset.push(v.name.clone()),
            CredentialMode::Mask => {
                let Some(raw) = env(&v.name) else { continue };
                let Ok(real) = raw.into_string() else {
                    out.unset.push(v.name.clone());
                    continue;
                };
                let named = v.inject_hosts.as_deref();
                let mut hosts = inject_hosts(named, &settings.network.allowed_domains)?;
                if withheld.contains(&v.name) {
                    hosts.clear();
                }
                let key = format!("{}\0{:?}", v.name, named.unwrap_or(settings.network.allowed_domains.as_slice()));
                if v.decode == Some(CredentialDecode::Jwt) {
                    let fake = match jwt_fake(&real, v.mask_claims.as_deref(), |claim, value| {
                        sentinels.register(&format!("{key}#{claim}"), &v.name, value, hosts.clone())
                    })? {
                        Some(fake) => fake,
                        None => {
                            out.warnings.push(format!(
                                "credentials.envVars {}: decode \"jwt\", but its value is no JWT (or holds none of maskClaims): the variable is left UNPROTECTED inside",
                                v.name
                            ));
                            continue;
                        }
                    };
                    out.set.push((v.name.clone(), sentinels.register_with(&key, &v.name, &fake, &real, hosts)?));
                    continue;
                }
                let Some(pattern) = &v.extract else {
                    out.set.push((v.name.clone(), sentinels.register(&key, &v.name, &real, hosts)?));
                    continue;
                };
                let re = extract::compile(pattern)?;
                let fake = extract::substitute(&real, &re, false, |cap, i| {
                    sentinels.register(&format!("{key}#{i}"), &v.name, cap, hosts.clone())
                })
                .map_err(|e| format!("credentials.envVars {}: {e}", v.name))?;
                let entry = format!("credentials.envVars {}", v.name);
                match fake {
                    Some(fake) => out.set.push((v.name.clone(), fake)),
                    None => {
                        let miss = " in its value: the variable";
                        if on_no_match(v.on_extract_no_match, &entry, pattern, miss, &mut out.warnings)? {
                            out.unset.push(v.name.clone());
                        }
                    }
                }
            }
        }
    }
    aws_pairs(settings, sentinels, &env, &mut out)?;
    Ok(out)
}

/// Registers the masked AWS credentials for SigV4 re-signing: the pairs
/// `awsPairs` names, and `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
/// `AWS_SESSION_TOKEN` unless a pair names one of them. A pair counts when
/// its key id and secret are both masked whole and set.
fn aws_pairs(
    settings: &Settings,
    sentinels: &sentinels::Sentinels,
    env: &impl Fn(&str) -> Option<std::ffi::OsString>,
    out: &mut CredentialEnv,
) -> Result<(), String> {
    let Some(cr) = &settings.credentials else { return Ok(()) };
    let specs = aws_specs(settings);
    // A whole-value masked variable, and its sentinel when it was set.
    let masked = |name: &str| {
        let whole =
            cr.env_vars.iter().flatten().find(|v| {
                v.name == name && v.mode == CredentialMode::Mask && v.extract.is_none() && v.decode.is_none()
            })?;
        let sentinel = out.set.iter().find(|(n, _)| n == name)?.1.clone();
        Some((whole, sentinel))
    };
    let real = |name: &str| env(name).and_then(|v| v.into_string().ok());
    for (key_id_var, secret_var, token_var) in specs {
        let key_id = masked(&key_id_var);
        let secret = masked(&secret_var);
        let (Some((key_entry, key_sentinel)), Some(_), Some(real_key_id), Some(real_secret)) =
            (key_id, secret.as_ref(), real(&key_id_var), real(&secret_var))
        else {
            if secret.is_some() && masked(&key_id_var).is_none() {
                out.warnings.push(format!(
                    "{secret_var} is masked but {key_id_var} is not: requests signed with the sentinel secret cannot be recognised, and will fail upstream; mask both whole"
                ));
            }
            continue;
        };
        let real_session_token = token_var.as_deref().filter(|t| masked(t).is_some()).and_then(real);
        let hosts = inject_hosts(key_entry.inject_hosts.as_deref(), &settings.network.allowed_domains)?;
        sentinels.register_aws(
            &key_id_var,
            sigv4::AwsPair { key_id_sentinel: key_sentinel, real_key_id, real_secret, real_session_token, hosts },
        );
    }
    Ok(())
}

/// The AWS pairs the settings name: `awsPairs`, and the conventional trio
/// unless a pair names one of its variables.
fn aws_specs(settings: &Settings) -> Vec<(String, String, Option<String>)> {
    let Some(cr) = &settings.credentials else { return Vec::new() };
    let mut specs: Vec<(String, String, Option<String>)> = cr
        .aws_pairs
        .iter()
        .flatten()
        .map(|p| (p.access_key_id_var.clone(), p.secret_access_key_var.clone(), p.session_token_var.clone()))
        .collect();
    let conventional = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"];
    if !specs.iter().any(|(a, s, t)| conventional.iter().any(|c| a == c || s == c || t.as_deref() == Some(*c))) {
        specs.push((conventional[0].into(), conventional[1].into(), Some(conventional[2].into())));
    }
    specs
}

/// After `updateConfig`: each registered credential goes to the hosts the
/// new settings give it, and one no longer masked to none.
pub fn rehost(settings: &Settings, sentinels: &sentinels::Sentinels) -> Result<(), String> {
    let mut masked = Vec::new();
    let allowed = &settings.network.allowed_domains;
    for v in settings.credentials.iter().flat_map(|c| c.env_vars.iter().flatten()) {
        if v.mode == CredentialMode::Mask {
            masked.push((v.name.clone(), inject_hosts(v.inject_hosts.as_deref(), allowed)?));
        }
    }
    for f in settings.credentials.iter().flat_map(|c| c.files.iter().flatten()) {
        if f.mode == CredentialMode::Mask {
            masked.push((file_name(&f.path), inject_hosts(f.inject_hosts.as_deref(), allowed)?));
        }
    }
    sentinels.rehost(&masked);
    Ok(())
}

/// How a masked file's entries are named in the registry: apart from variables.
fn file_name(path: &str) -> String {
    format!("file:{path}")
}

/// `onExtractNoMatch` for `entry`, whose `pattern` matched nothing: `Ok(true)`
/// to keep the secret from the sandbox altogether (`deny`: unset, or
/// denied), `Ok(false)` to leave it as it is with a warning (`warn`, the
/// default), the refusal of the run for `error`. `miss` says where it
/// looked and what is left.
fn on_no_match(
    policy: Option<OnExtractNoMatch>,
    entry: &str,
    pattern: &str,
    miss: &str,
    warnings: &mut Vec<String>,
) -> Result<bool, String> {
    match policy.unwrap_or(OnExtractNoMatch::Warn) {
        OnExtractNoMatch::Deny => Ok(true),
        OnExtractNoMatch::Error => {
            Err(format!("{entry}: the extract pattern {pattern:?} matched nothing (onExtractNoMatch: \"error\")"))
        }
        OnExtractNoMatch::Warn => {
            warnings.push(format!(
                "{entry}: the extract pattern {pattern:?} matched nothing{miss} is left UNPROTECTED inside (set onExtractNoMatch to \"deny\" or \"error\" to refuse that)"
            ));
            Ok(false)
        }
    }
}

/// The fake of a JWT: the whole token faked, or with `claims`, the token
/// with those claims masked by `claim_sentinel`. `None` when `token` is no
/// JWT, or holds none of the claims.
fn jwt_fake(
    token: &str,
    claims: Option<&[String]>,
    claim_sentinel: impl FnMut(&str, &str) -> Result<String, String>,
) -> Result<Option<String>, String> {
    if !jwt::verify(token) {
        return Ok(None);
    }
    match claims {
        Some(claims) if !claims.is_empty() => jwt::mask_claims(token, claims, claim_sentinel),
        _ => Ok(Some(jwt::fake(&sentinels::fresh()?))),
    }
}

/// A credential's hosts: its own `injectHosts`, else every allowed domain.
fn inject_hosts(own: Option<&[String]>, allowed: &[String]) -> Result<Vec<Pattern>, String> {
    match own {
        Some(list) => list.iter().map(|h| Pattern::new(h, EntryKind::HostOnly)).collect(),
        None => allowed.iter().map(|h| Pattern::new(h, EntryKind::Allow)).collect(),
    }
}

/// The settings with the denied credential files added to `denyRead`, and
/// `more` (masked files that cannot be masked here, or whose pattern
/// matched nothing with `onExtractNoMatch: "deny"`).
pub fn with_denied_files<'a>(settings: &'a Settings, more: &[PathBuf]) -> std::borrow::Cow<'a, Settings> {
    let files: Vec<&str> = settings
        .credentials
        .iter()
        .flat_map(|c| c.files.iter().flatten())
        .filter(|f| f.mode == CredentialMode::Deny)
        .map(|f| f.path.as_str())
        .collect();
    if files.is_empty() && more.is_empty() {
        return std::borrow::Cow::Borrowed(settings);
    }
    let mut denied = settings.clone();
    denied.filesystem.deny_read.extend(files.into_iter().map(|f| PathEntry::Pattern(f.to_string())));
    denied.filesystem.deny_read.extend(more.iter().map(|f| PathEntry::Literal(f.display().to_string())));
    std::borrow::Cow::Owned(denied)
}

/// The most of a masked file srt reads.
const MAX_MASKED_FILE: u64 = 1 << 20;

/// A masked file's bytes: only a regular file, reached by no symbolic link
/// (a link, or a linked directory on the way, that a command made could
/// name a file the command may not read: srt would read it, unsandboxed,
/// and swap it into requests), of at most 1 MiB.
fn read_masked(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let refuse = |why: &str| std::io::Error::other(why.to_string());
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| if e.raw_os_error() == Some(libc::ELOOP) { refuse("it is a symbolic link") } else { e })?;
    // What was opened is what was named: no link on the way, even one made meanwhile.
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let opened = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
        if opened != path {
            return Err(refuse("it is reached through a symbolic link"));
        }
    }
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(refuse("it is not a regular file"));
    }
    if meta.len() > MAX_MASKED_FILE {
        return Err(refuse("it is larger than the 1 MiB srt masks"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_MASKED_FILE).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// What the masked files become.
#[derive(Debug, Default)]
pub struct FilePlan {
    /// Each masked file and what the sandbox reads in its place.
    pub fakes: Vec<(PathBuf, String)>,
    /// Files to deny instead (a pattern that matched nothing, with `deny`).
    pub deny: Vec<PathBuf>,
    pub warnings: Vec<String>,
}

/// The masked files of `settings`: each read now, its secret (the whole
/// file, or what `extract` captures) registered with `sentinels`.
pub fn plan_files(
    settings: &Settings,
    sentinels: &sentinels::Sentinels,
    cwd: &std::path::Path,
    home: &std::path::Path,
) -> Result<FilePlan, String> {
    let mut out = FilePlan::default();
    let Some(cr) = &settings.credentials else { return Ok(out) };
    let home = std::fs::canonicalize(home).unwrap_or_else(|_| home.to_path_buf());
    for f in cr.files.iter().flatten().filter(|f| f.mode == CredentialMode::Mask) {
        let path = crate::sandbox::paths::absolute(&PathEntry::Literal(f.path.clone()), cwd, &home);
        let content = match read_masked(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(_) => {
                    // Its secret cannot be swapped back: not shown at all.
                    out.warnings.push(format!(
                        "credentials.files {}: not UTF-8 text, so it is denied instead of masked",
                        f.path
                    ));
                    out.deny.push(path);
                    continue;
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                out.warnings.push(format!("credentials.files {}: {e}; denied instead of masked", f.path));
                out.deny.push(path);
                continue;
            }
        };

        let named = f.inject_hosts.as_deref();
        let hosts = inject_hosts(named, &settings.network.allowed_domains)?;
        let key =
            format!("file:{}\0{:?}", path.display(), named.unwrap_or(settings.network.allowed_domains.as_slice()));
        let jwts = f.decode == Some(CredentialDecode::Jwt);
        let pattern = match (&f.extract, jwts) {
            (Some(p), _) => p.as_str(),
            (None, true) => jwt::DEFAULT_PATTERN,
            (None, false) => {
                let fake = sentinels.register(&key, &file_name(&f.path), &content, hosts)?;
                out.fakes.push((path, fake));
                continue;
            }
        };
        let re = extract::compile(pattern)?;
        let mut masked = 0;
        let fake = extract::substitute(&content, &re, f.mask_duplicates == Some(true), |cap, i| {
            let name = format!("{key}#{i}");
            if !jwts {
                masked += 1;
                return sentinels.register(&name, &file_name(&f.path), cap, hosts.clone());
            }
            let claim_sentinel = |claim: &str, value: &str| {
                sentinels.register(&format!("{key}#jwt{i}.{claim}"), &file_name(&f.path), value, hosts.clone())
            };
            match jwt_fake(cap, f.mask_claims.as_deref(), claim_sentinel)? {
                Some(fake) => {
                    masked += 1;
                    sentinels.register_with(&name, &file_name(&f.path), &fake, cap, hosts.clone())
                }
                // Not a JWT after all: left as it is.
                None => Ok(cap.to_string()),
            }
        })
        .map_err(|e| format!("credentials.files {}: {e}", f.path))?
        .filter(|_| masked > 0);
        let entry = format!("credentials.files {}", f.path);
        match fake {
            Some(fake) => out.fakes.push((path, fake)),
            None => {
                if on_no_match(f.on_extract_no_match, &entry, pattern, ": the file", &mut out.warnings)? {
                    out.deny.push(path);
                }
            }
        }
    }
    Ok(out)
}

/// The files a sandbox reads in place of masked ones, written where only
/// srt can (the sandbox sees them bound read-only over the real ones);
/// removed when dropped.
pub struct FakeFiles(Vec<(crate::own_file::OwnFile, PathBuf)>);

impl FakeFiles {
    /// Writes each fake of `plan` into `dir`.
    pub fn write(dir: &std::path::Path, plan: &FilePlan) -> Result<FakeFiles, String> {
        let mut written = FakeFiles(Vec::new());
        for (real, content) in &plan.fakes {
            let fake = crate::own_file::OwnFile::write(dir, "masked", "", 0o600, content.as_bytes(), "a masked file")?;
            written.0.push((fake, real.clone()));
        }
        Ok(written)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// (fake, real) pairs: what to bind over what.
    pub fn binds(&self) -> Vec<(PathBuf, PathBuf)> {
        self.0.iter().map(|(fake, real)| (fake.path().to_path_buf(), real.clone())).collect()
    }
}

/// The masked files of `settings`, where they are: on macOS, which cannot
/// show a file in another's place, they are denied instead (as the original).
pub fn masked_file_paths(settings: &Settings, cwd: &std::path::Path, home: &std::path::Path) -> Vec<PathBuf> {
    settings
        .credentials
        .iter()
        .flat_map(|c| c.files.iter().flatten())
        .filter(|f| f.mode == CredentialMode::Mask)
        .map(|f| crate::sandbox::paths::absolute(&PathEntry::Literal(f.path.clone()), cwd, home))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(credentials: serde_json::Value) -> Settings {
        let doc = serde_json::json!({
            "network": {"allowedDomains": ["api.example.com"], "deniedDomains": [], "tlsTerminate": {}},
            "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []},
            "credentials": credentials,
        });
        crate::config::parse_settings(&doc.to_string()).unwrap().settings
    }

    #[test]
    fn variables_are_unset_masked_whole_or_in_part_and_a_miss_goes_by_on_extract_no_match() {
        let s = settings(serde_json::json!({"envVars": [
            {"name": "GONE", "mode": "deny"},
            {"name": "WHOLE", "mode": "mask"},
            {"name": "URL", "mode": "mask", "extract": ":([^:@]+)@"},
            {"name": "MISSWARN", "mode": "mask", "extract": "token=(\\w+)"},
            {"name": "MISSDENY", "mode": "mask", "extract": "token=(\\w+)", "onExtractNoMatch": "deny"},
            {"name": "UNSET", "mode": "mask"},
        ]}));
        let env = |k: &str| match k {
            "WHOLE" => Some("whole-secret".into()),
            "URL" => Some("postgres://app:pw123@db/x".into()),
            "MISSWARN" | "MISSDENY" => Some("no token here".into()),
            _ => None,
        };
        let reg = sentinels::Sentinels::default();
        let out = plan_env(&s, &reg, env).unwrap();
        assert_eq!(out.unset, ["GONE", "MISSDENY"]);
        let set: std::collections::HashMap<_, _> = out.set.iter().cloned().collect();
        assert!(set["WHOLE"].starts_with(sentinels::PREFIX));
        let url = &set["URL"];
        assert!(
            url.starts_with("postgres://app:fake_value_") && url.ends_with("@db/x") && !url.contains("pw123"),
            "{url}"
        );
        assert!(!set.contains_key("MISSWARN") && !set.contains_key("UNSET"));
        assert_eq!(out.warnings.len(), 1);
        assert!(out.warnings[0].contains("MISSWARN") && out.warnings[0].contains("UNPROTECTED"));
        let api = crate::policy::host::Host::Name("api.example.com".into());
        let reals: Vec<Vec<u8>> = reg.for_host(&api, 443).into_iter().map(|(_, r)| r).collect();
        assert_eq!(reals, [b"whole-secret".to_vec(), b"pw123".to_vec()]);
        let strict = settings(serde_json::json!({"envVars": [
            {"name": "MISSWARN", "mode": "mask", "extract": "token=(\\w+)", "onExtractNoMatch": "error"}]}));
        assert!(plan_env(&strict, &reg, env).unwrap_err().contains("matched nothing"));
        // Not UTF-8: unset, never shown.
        use std::os::unix::ffi::OsStringExt;
        let bytes = |_: &str| Some(std::ffi::OsString::from_vec(vec![0xff, 0xfe]));
        let only = settings(serde_json::json!({"envVars": [{"name": "RAW", "mode": "mask"}]}));
        assert_eq!(plan_env(&only, &reg, bytes).unwrap().unset, ["RAW"]);
    }

    #[test]
    fn jwts_are_masked_by_tokens_of_their_shape_whole_or_claim_by_claim() {
        let b = |t: &str| crate::base64::encode_url(t.as_bytes());
        let token = format!("{}.{}.realsig", b(r#"{"alg":"RS256"}"#), b(r#"{"sub":"u1","email":"e@x.io"}"#));
        let s = settings(serde_json::json!({"envVars": [
            {"name": "WHOLE", "mode": "mask", "decode": "jwt"},
            {"name": "CLAIMS", "mode": "mask", "decode": "jwt", "maskClaims": ["email"]},
            {"name": "NOTJWT", "mode": "mask", "decode": "jwt"},
        ]}));
        let env = |k: &str| match k {
            "WHOLE" | "CLAIMS" => Some(token.clone().into()),
            "NOTJWT" => Some("plain".into()),
            _ => None,
        };
        let reg = sentinels::Sentinels::default();
        let out = plan_env(&s, &reg, env).unwrap();
        let set: std::collections::HashMap<_, _> = out.set.iter().cloned().collect();
        assert!(jwt::verify(&set["WHOLE"]) && !set["WHOLE"].contains("realsig"));
        let claims = &set["CLAIMS"];
        assert!(
            jwt::verify(claims) && claims.starts_with(token.split('.').next().unwrap()) && !claims.contains("realsig")
        );
        let payload = String::from_utf8(crate::base64::decode_url(claims.split('.').nth(1).unwrap()).unwrap()).unwrap();
        assert!(payload.contains(r#""sub":"u1""#) && payload.contains(r#""email":"fake_value_"#), "{payload}");
        assert!(out.warnings.len() == 1 && out.warnings[0].contains("NOTJWT"));
        // The whole fakes swap back to the token; the claim's sentinel to the claim.
        let api = crate::policy::host::Host::Name("api.example.com".into());
        let pairs = reg.for_host(&api, 443);
        assert!(pairs.iter().any(|(f, r)| f == set["WHOLE"].as_bytes() && *r == token.as_bytes()));
        assert!(pairs.iter().any(|(f, r)| f == claims.as_bytes() && *r == token.as_bytes()));
        assert!(pairs.iter().any(|(f, r)| f.starts_with(sentinels::PREFIX.as_bytes()) && r == b"e@x.io"));
        // In a file: found by the default pattern, a lookalike left alone.
        let dir = std::env::temp_dir().join(format!("srt-test-jwt-{}", crate::sys::random_hex(6).unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("creds.json"), format!(r#"{{"token": "{token}", "other": "eyJub3Q.anwt.x"}}"#))
            .unwrap();
        let files = settings(serde_json::json!({"files": [{"path": "creds.json", "mode": "mask", "decode": "jwt"}]}));
        let plan = plan_files(&files, &reg, &dir, &dir).unwrap();
        let fake = &plan.fakes[0].1;
        assert!(!fake.contains(&token) && fake.contains("eyJub3Q.anwt.x"), "{fake}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn masked_files_get_fakes_in_a_private_place_that_go_with_them() {
        let dir = std::env::temp_dir().join(format!("srt-test-cred-{}", crate::sys::random_hex(6).unwrap()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("netrc"), "machine api.example.com login bob password hunter2\n").unwrap();
        std::fs::write(dir.join("token"), "tok-123").unwrap();
        let s = settings(serde_json::json!({"files": [
            {"path": "netrc", "mode": "mask", "extract": "password (\\S+)"},
            {"path": "token", "mode": "mask"},
            {"path": "missing", "mode": "mask"},
        ]}));
        let reg = sentinels::Sentinels::default();
        let plan = plan_files(&s, &reg, &dir, &dir).unwrap();
        assert_eq!(plan.fakes.len(), 2);
        assert!(plan.fakes[0].1.starts_with("machine api.example.com login bob password fake_value_"));
        assert!(!plan.fakes[0].1.contains("hunter2") && plan.fakes[1].1.starts_with(sentinels::PREFIX));
        let written = FakeFiles::write(&dir, &plan).unwrap();
        let (fake, real) = written.binds()[0].clone();
        assert_eq!(real, dir.join("netrc"));
        assert_eq!(std::fs::read_to_string(&fake).unwrap(), plan.fakes[0].1);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&fake).unwrap().permissions().mode() & 0o777, 0o600);
        drop(written);
        assert!(!fake.exists());
        // New settings that no longer mask a file: its sentinels go nowhere;
        // a variable of the same spelling is another credential.
        let api = crate::policy::host::Host::Name("api.example.com".into());
        assert!(!reg.for_host(&api, 443).is_empty());
        let unmasked = settings(serde_json::json!({"envVars": [{"name": "token", "mode": "mask"}]}));
        rehost(&unmasked, &reg).unwrap();
        assert!(reg.for_host(&api, 443).is_empty());
        // A link (to a file the command may not read) is denied, never read.
        std::fs::write(dir.join("private"), "secret-key").unwrap();
        std::os::unix::fs::symlink(dir.join("private"), dir.join("planted")).unwrap();
        let planted = settings(serde_json::json!({"files": [{"path": "planted", "mode": "mask"}]}));
        let plan = plan_files(&planted, &reg, &dir, &dir).unwrap();
        assert!(plan.fakes.is_empty() && plan.deny == [dir.join("planted")], "{plan:?}");
        assert!(plan.warnings[0].contains("symbolic link"), "{:?}", plan.warnings);
        let _ = std::fs::remove_dir_all(dir);
    }
}
