//! AWS Signature Version 4 for masked AWS credentials. The command holds a
//! sentinel access key id and secret; a request it signs with them carries
//! the sentinel key id in its `Authorization` scope, which is how srt knows
//! it. srt then signs the request again with the real pair, over exactly
//! the headers the command signed, so the server sees a valid signature and
//! the command never held the secret.
//!
//! The signing is written here over *ring*'s HMAC and SHA-256: re-signing
//! must reproduce the command's own choices (which headers, which payload
//! hash, S3's path rules), which a signer that picks them itself cannot.

use hyper::header::HeaderMap;

use crate::config::Sigv4Mode;
use crate::policy::decide::Pattern;
use crate::policy::host::Host;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const ALGORITHM_4A: &str = "AWS4-ECDSA-P256-SHA256";
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The most of a body srt reads to hash it for a new signature.
pub const MAX_BODY: usize = 64 << 20;

/// A masked AWS credential: what the command holds, and the real one.
#[derive(Clone)]
pub struct AwsPair {
    pub key_id_sentinel: String,
    pub real_key_id: String,
    pub real_secret: String,
    pub real_session_token: Option<String>,
    pub hosts: Vec<Pattern>,
}

/// `credentials.sigv4`: what becomes of the signatures srt cannot redo.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policies {
    pub streaming: bool,
    pub presigned: bool,
    pub sigv4a: bool,
}

impl Policies {
    /// Which kinds pass through unsigned again (`passthrough`); the others are denied.
    pub fn from_settings(s: Option<&crate::config::Sigv4Settings>) -> Policies {
        let pass = |m: Option<Sigv4Mode>| m == Some(Sigv4Mode::Passthrough);
        Policies {
            streaming: s.is_some_and(|s| pass(s.streaming)),
            presigned: s.is_some_and(|s| pass(s.presigned)),
            sigv4a: s.is_some_and(|s| pass(s.sigv4a)),
        }
    }
}

/// What to do with a request.
pub enum Plan {
    /// Sign it again with `pair`, over these headers, in this scope.
    Resign(Box<Resign>),
    /// Refuse it, with the reason.
    Deny(String),
}

pub struct Resign {
    pair: AwsPair,
    method: String,
    target: String,
    signed: Vec<String>,
    amz_date: String,
    scope: [String; 3],
    /// The client's `x-amz-content-sha256`, when it said UNSIGNED-PAYLOAD.
    pub unsigned_payload: bool,
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn credential_key_id(auth: &str) -> Option<&str> {
    let at = auth.find("Credential=")? + "Credential=".len();
    let rest = &auth[at..];
    let end = rest.find('/')?;
    Some(&rest[..end]).filter(|k| !k.is_empty() && !k.contains([',', ' ']))
}

/// Parameter `key` of a query string (its name compared decoded; the value as written).
fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.split('&').find_map(|p| {
        let (name, value) = p.split_once('=')?;
        (percent_decode(name) == key).then_some(value)
    })
}

/// The plan for a request to `host:port` (`target`: its path and query),
/// or `None` when it is signed with no masked key (it goes as it is).
pub fn plan(
    pairs: &[AwsPair],
    policies: Policies,
    method: &str,
    target: &str,
    headers: &HeaderMap,
    host: &Host,
    port: u16,
) -> Option<Plan> {
    if pairs.is_empty() {
        return None;
    }
    let auth = header(headers, "authorization").unwrap_or_default();
    let in_header = if auth.starts_with(ALGORITHM_4A) {
        credential_key_id(auth).map(|k| ("sigv4a", k.to_string()))
    } else if auth.starts_with(ALGORITHM) {
        let streaming = header(headers, "x-amz-content-sha256").is_some_and(|v| v.starts_with("STREAMING-"));
        credential_key_id(auth).map(|k| (if streaming { "streaming" } else { "header" }, k.to_string()))
    } else {
        None
    };
    // Else a presigned URL (also beside an Authorization srt cannot read).
    let (kind, key_id) = match in_header {
        Some(found) => found,
        None => {
            let query = target.split_once('?')?.1;
            let param = |key: &str| query_param(query, key).map(percent_decode);
            if param("X-Amz-Algorithm").as_deref() != Some(ALGORITHM) || param("X-Amz-Signature").is_none() {
                return None;
            }
            ("presigned", param("X-Amz-Credential")?.split('/').next()?.to_string())
        }
    };
    // Exact match only: a real key the command holds is none of srt's business.
    let pair = pairs.iter().find(|p| p.key_id_sentinel == key_id)?;
    if !pair.hosts.iter().any(|p| p.matches(host, port)) {
        return None;
    }
    let passthrough = match kind {
        "streaming" => Some(policies.streaming),
        "presigned" => Some(policies.presigned),
        "sigv4a" => Some(policies.sigv4a),
        _ => None,
    };
    if let Some(pass) = passthrough {
        return (!pass).then(|| {
            Plan::Deny(format!(
                "an AWS SigV4 {kind} request uses a masked credential, and srt cannot sign it again; denied by policy (credentials.sigv4.{kind}: \"passthrough\" forwards it as it is, to fail upstream)"
            ))
        });
    }
    let deny = |why: &str| {
        Some(Plan::Deny(format!("an AWS SigV4 request uses a masked credential, but {why}; srt cannot sign it again")))
    };
    let field = |name: &str| {
        let at = auth.find(name)? + name.len();
        auth[at..].split([',', ' ']).next().filter(|v| !v.is_empty())
    };
    let (Some(credential), Some(signed), Some(_)) =
        (field("Credential="), field("SignedHeaders="), field("Signature="))
    else {
        return deny("its Authorization header is malformed");
    };
    let parts: Vec<&str> = credential.split('/').collect();
    if parts.len() != 5 || parts[4] != "aws4_request" || parts[1..4].iter().any(|p| p.is_empty()) {
        return deny("its credential scope is malformed");
    }
    let Some(amz_date) = header(headers, "x-amz-date") else { return deny("it has no x-amz-date header") };
    let mut signed: Vec<String> = signed.split(';').map(str::to_ascii_lowercase).collect();
    for name in &signed {
        let injected = name == "x-amz-security-token" && pair.real_session_token.is_some();
        if name != "host" && !injected && !headers.contains_key(name.as_str()) {
            return deny(&format!("its signed header {name:?} is missing"));
        }
    }
    if pair.real_session_token.is_some() && !signed.iter().any(|s| s == "x-amz-security-token") {
        signed.push("x-amz-security-token".into());
    }
    Some(Plan::Resign(Box::new(Resign {
        pair: pair.clone(),
        method: method.to_string(),
        target: target.to_string(),
        signed,
        amz_date: amz_date.to_string(),
        scope: [parts[1].to_string(), parts[2].to_string(), parts[3].to_string()],
        unsigned_payload: header(headers, "x-amz-content-sha256") == Some(UNSIGNED_PAYLOAD),
    })))
}

impl Resign {
    /// Whether the client's signature covers header `name`.
    pub fn signs(&self, name: &str) -> bool {
        self.signed.iter().any(|s| s == name)
    }

    /// Signs the forwarded request (`headers`, sent with `host` as its Host)
    /// with the real pair; `payload_hash` covers the bytes forwarded.
    pub fn apply(&self, headers: &mut HeaderMap, host: &str, payload_hash: &str) -> Result<(), String> {
        let value = |v: &str| hyper::header::HeaderValue::from_str(v).map_err(|e| e.to_string());
        if let Some(token) = &self.pair.real_session_token {
            headers.insert("x-amz-security-token", value(token)?);
        }
        if headers.contains_key("x-amz-content-sha256") && !self.unsigned_payload {
            // What the signature covers is the bytes sent, not the client's claim.
            headers.insert("x-amz-content-sha256", value(payload_hash)?);
        }
        let (canonical, names) =
            canonical_request(&self.method, &self.target, headers, host, &self.signed, payload_hash, &self.scope[2])?;
        let scope = format!("{}/{}/{}/aws4_request", self.scope[0], self.scope[1], self.scope[2]);
        let to_sign = format!("{ALGORITHM}\n{}\n{scope}\n{}", self.amz_date, sha256_hex(canonical.as_bytes()));
        let mut key = hmac(format!("AWS4{}", self.pair.real_secret).as_bytes(), self.scope[0].as_bytes());
        for part in [&self.scope[1], &self.scope[2]] {
            key = hmac(&key, part.as_bytes());
        }
        key = hmac(&key, b"aws4_request");
        let signature = hex(&hmac(&key, to_sign.as_bytes()));
        let auth = format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={names}, Signature={signature}",
            self.pair.real_key_id
        );
        headers.insert(hyper::header::AUTHORIZATION, value(&auth)?);
        Ok(())
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), data).as_ref().to_vec()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn percent_decode(text: &str) -> String {
    String::from_utf8_lossy(&crate::proxy::parent::percent_decode(text)).into_owned()
}

/// RFC 3986 encoding as SigV4 wants it: unreserved characters kept.
fn uri_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path as signed: S3 signs it as sent; other services normalized and
/// encoded once more.
fn canonical_uri(path: &str, service: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    if service == "s3" {
        return path.to_string();
    }
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let trailing = if !segments.is_empty() && path.ends_with('/') { "/" } else { "" };
    uri_encode(&format!("/{}{trailing}", segments.join("/"))).replace("%2F", "/")
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (uri_encode(&percent_decode(k)), uri_encode(&percent_decode(v)))
        })
        .collect();
    pairs.sort();
    pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// The canonical request, and the signed header names as the signature lists them.
fn canonical_request(
    method: &str,
    target: &str,
    headers: &HeaderMap,
    host: &str,
    signed: &[String],
    payload_hash: &str,
    service: &str,
) -> Result<(String, String), String> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut names: Vec<&str> = signed.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    let mut lines = String::new();
    for name in &names {
        let value = if *name == "host" {
            host.to_string()
        } else {
            let values: Vec<String> = headers
                .get_all(*name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            if values.is_empty() {
                return Err(format!("the signed header {name:?} is missing"));
            }
            values.join(",")
        };
        lines.push_str(&format!("{name}:{value}\n"));
    }
    let names = names.join(";");
    let canonical = format!(
        "{}\n{}\n{}\n{lines}\n{names}\n{payload_hash}",
        method.to_ascii_uppercase(),
        canonical_uri(path, service),
        canonical_query(query)
    );
    Ok((canonical, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example (the get-vanilla case of the SigV4 test suite).
    #[test]
    fn signs_as_aws_documents() {
        let pair = AwsPair {
            key_id_sentinel: "FAKE".into(),
            real_key_id: "AKIDEXAMPLE".into(),
            real_secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            real_session_token: None,
            hosts: vec![Pattern::new("example.amazonaws.com", crate::policy::domain::EntryKind::HostOnly).unwrap()],
        };
        let mut h = HeaderMap::new();
        h.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=FAKE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
                .parse()
                .unwrap(),
        );
        let host = Host::Name("example.amazonaws.com".into());
        let Some(Plan::Resign(r)) = plan(std::slice::from_ref(&pair), Policies::default(), "GET", "/", &h, &host, 443)
        else {
            panic!("not re-signed")
        };
        r.apply(&mut h, "example.amazonaws.com", &sha256_hex(b"")).unwrap();
        assert_eq!(
            h["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        // Another host, or another key id: left alone.
        assert!(plan(
            std::slice::from_ref(&pair),
            Policies::default(),
            "GET",
            "/",
            &h,
            &Host::Name("x.example".into()),
            443
        )
        .is_none());
        // A presigned URL with the masked key: denied unless passthrough.
        let empty = HeaderMap::new();
        let url = "/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=FAKE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=ab";
        assert!(matches!(
            plan(std::slice::from_ref(&pair), Policies::default(), "GET", url, &empty, &host, 443),
            Some(Plan::Deny(_))
        ));
        let pass = Policies { presigned: true, ..Policies::default() };
        assert!(plan(&[pair], pass, "GET", url, &empty, &host, 443).is_none());
    }
}
