//! `decode: "jwt"`: a JSON Web Token is masked by a token of the same
//! shape, so tools inside that read the token keep working: a whole fake
//! token, or, with `maskClaims`, the real header and payload with those
//! claims replaced by sentinels. The signature is never the real one (with
//! it, the command could test guesses of a masked claim offline).

use serde_json::Value;

use crate::base64::{decode_url, encode_url};

/// What finds a JWT in a file when `extract` is not given: every JWT's
/// header begins `{"`, which is `eyJ` in base64url.
pub const DEFAULT_PATTERN: &str = r"(eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)";

/// base64url("srt-fake"): a signature that verifies nowhere.
const FAKE_SIGNATURE: &str = "c3J0LWZha2U";

/// A far-future `exp` (the original's), so a fake is never "expired" inside.
const FAKE_EXP: u64 = 9_999_999_999;

fn segment(text: &str) -> Option<Value> {
    serde_json::from_slice(&decode_url(text)?).ok()
}

/// Whether `candidate` is a JWT: three segments, the first two JSON, the
/// header naming an `alg`.
pub fn verify(candidate: &str) -> bool {
    let parts: Vec<&str> = candidate.split('.').collect();
    parts.len() == 3 && segment(parts[0]).is_some_and(|h| h.get("alg").is_some()) && segment(parts[1]).is_some()
}

/// A token of a JWT's shape carrying `sentinel` as its subject. Its header
/// says HS256, not `none`: a verifier it reaches unswapped rejects it.
pub fn fake(sentinel: &str) -> String {
    let header = encode_url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = encode_url(serde_json::json!({"sub": sentinel, "exp": FAKE_EXP}).to_string().as_bytes());
    format!("{header}.{payload}.{FAKE_SIGNATURE}")
}

/// The token with each named top-level string claim replaced by
/// `sentinel_for(claim, value)`; `None` when it names none of them (the
/// caller's no-match rule decides).
pub fn mask_claims(
    token: &str,
    claims: &[String],
    mut sentinel_for: impl FnMut(&str, &str) -> Result<String, String>,
) -> Result<Option<String>, String> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else { return Ok(None) };
    let Some(Value::Object(mut record)) = segment(payload) else { return Ok(None) };
    let matched: Vec<(String, String)> = claims
        .iter()
        .filter_map(|c| match record.get(c) {
            Some(Value::String(v)) => Some((c.clone(), v.clone())),
            _ => None,
        })
        .collect();
    if matched.is_empty() {
        return Ok(None);
    }
    for (claim, value) in matched {
        record.insert(claim.clone(), Value::String(sentinel_for(&claim, &value)?));
    }
    let payload = encode_url(Value::Object(record).to_string().as_bytes());
    Ok(Some(format!("{header}.{payload}.{FAKE_SIGNATURE}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(payload: &str) -> String {
        format!("{}.{}.{}", encode_url(br#"{"alg":"RS256","kid":"k1"}"#), encode_url(payload.as_bytes()), "sig-real")
    }

    #[test]
    fn jwts_are_recognised_and_faked_in_their_shape() {
        let real = token(r#"{"sub":"alice","email":"a@example.com","n":1}"#);
        assert!(real.starts_with("eyJ") && verify(&real));
        assert!(!verify("eyJhbGciOi.x.y") && !verify("a.b") && !verify(&format!("{}.e30.x", encode_url(b"{}"))));
        let f = fake("fake_value_1");
        assert!(verify(&f) && f.ends_with(FAKE_SIGNATURE));
        let masked = mask_claims(&real, &["email".into(), "n".into(), "absent".into()], |c, v| {
            assert_eq!((c, v), ("email", "a@example.com"));
            Ok("fake_value_2".into())
        })
        .unwrap()
        .unwrap();
        assert!(verify(&masked) && masked.starts_with(real.split('.').next().unwrap()));
        let payload = segment(masked.split('.').nth(1).unwrap()).unwrap();
        assert_eq!(payload["email"], "fake_value_2");
        assert_eq!(payload["sub"], "alice");
        assert!(!masked.contains("sig-real"));
        assert_eq!(mask_claims(&real, &["absent".into()], |_, _| Ok(String::new())).unwrap(), None);
    }
}
