//! The session's masked credentials: each real value, the sentinel the
//! sandbox sees in its place, and the hosts the proxy may send the real
//! value to. Real values live only in this process's memory: never written
//! to disk, never logged, never shown by `Debug`.

use std::sync::RwLock;

use crate::policy::decide::Pattern;
use crate::policy::host::Host;

/// What every sentinel starts with (the original's spelling).
pub const PREFIX: &str = "fake_value_";

/// Characters a sentinel is padded with: they survive shells, JSON, URLs.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_-";

struct Entry {
    /// The variable and the hosts it was given: one sentinel for each such pair.
    key: String,
    name: String,
    sentinel: String,
    real: String,
    hosts: Vec<Pattern>,
}

/// The sentinel registry of one session.
#[derive(Default)]
pub struct Sentinels {
    entries: RwLock<Vec<Entry>>,
    /// Masked AWS credentials, for SigV4 re-signing: (access key id variable, pair).
    aws: RwLock<Vec<(String, super::sigv4::AwsPair)>>,
}

impl std::fmt::Debug for Sentinels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        write!(f, "Sentinels {names:?}")
    }
}

/// `fake_value_<uuid4>`.
pub fn fresh() -> Result<String, String> {
    let mut id = [0u8; 16];
    crate::sys::random_bytes(&mut id).map_err(|e| format!("no randomness for a sentinel: {e}"))?;
    id[6] = (id[6] & 0x0f) | 0x40;
    id[8] = (id[8] & 0x3f) | 0x80;
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{PREFIX}{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
}

/// `fake_value_<uuid4>`, padded with random characters to the real value's
/// length when that is longer, so that a body keeps its length.
fn mint(real: &str) -> Result<String, String> {
    let mut out = fresh()?;
    let pad = real.len().saturating_sub(out.len());
    if pad > 0 {
        let mut noise = vec![0u8; pad];
        crate::sys::random_bytes(&mut noise).map_err(|e| format!("no randomness for a sentinel: {e}"))?;
        out.extend(noise.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char));
    }
    Ok(out)
}

impl Sentinels {
    /// The sentinel for the credential `name` going to the hosts `key`
    /// names, made on first use: sandboxes wrapped with other hosts for it
    /// get a sentinel of their own. Later calls keep the sentinel (the
    /// sandboxes have it) and take the new real value.
    pub fn register(&self, key: &str, name: &str, real: &str, hosts: Vec<Pattern>) -> Result<String, String> {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = entries.iter_mut().find(|e| e.key == key) {
            e.real = real.to_string();
            e.hosts = hosts;
            return Ok(e.sentinel.clone());
        }
        let sentinel = mint(real)?;
        entries.push(Entry {
            key: key.into(),
            name: name.into(),
            sentinel: sentinel.clone(),
            real: real.into(),
            hosts,
        });
        Ok(sentinel)
    }

    /// Like `register`, with a fake of the caller's (a JWT of the real
    /// one's shape), used as it is; a key already known keeps its own.
    pub fn register_with(
        &self,
        key: &str,
        name: &str,
        sentinel: &str,
        real: &str,
        hosts: Vec<Pattern>,
    ) -> Result<String, String> {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = entries.iter_mut().find(|e| e.key == key) {
            e.real = real.to_string();
            e.hosts = hosts;
            return Ok(e.sentinel.clone());
        }
        entries.push(Entry { key: key.into(), name: name.into(), sentinel: sentinel.into(), real: real.into(), hosts });
        Ok(sentinel.to_string())
    }

    /// Records a masked AWS credential (replacing one with its sentinel key id).
    pub fn register_aws(&self, key_id_var: &str, pair: super::sigv4::AwsPair) {
        let mut aws = self.aws.write().unwrap_or_else(|e| e.into_inner());
        aws.retain(|(_, p)| p.key_id_sentinel != pair.key_id_sentinel);
        aws.push((key_id_var.to_string(), pair));
    }

    /// The masked AWS credentials.
    pub fn aws_pairs(&self) -> Vec<super::sigv4::AwsPair> {
        self.aws.read().unwrap_or_else(|e| e.into_inner()).iter().map(|(_, p)| p.clone()).collect()
    }

    /// After new settings: a credential they no longer mask goes nowhere
    /// any more, and one they mask keeps only the hosts they also give it.
    pub fn rehost(&self, masked: &[(String, Vec<Pattern>)]) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        for e in entries.iter_mut() {
            let now = masked.iter().find(|(n, _)| *n == e.name).map(|(_, h)| h.as_slice()).unwrap_or_default();
            e.hosts.retain(|h| now.contains(h));
        }
        drop(entries);
        let mut aws = self.aws.write().unwrap_or_else(|e| e.into_inner());
        for (name, pair) in aws.iter_mut() {
            let now = masked.iter().find(|(n, _)| n == name).map(|(_, h)| h.as_slice()).unwrap_or_default();
            pair.hosts.retain(|h| now.contains(h));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    /// The (sentinel, real value) pairs that may be sent to `host:port`:
    /// each credential only to its own hosts, so a sentinel sent elsewhere
    /// stays a useless fake.
    pub fn for_host(&self, host: &Host, port: u16) -> Vec<(Vec<u8>, Vec<u8>)> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .filter(|e| e.hosts.iter().any(|p| p.matches(host, port)))
            .map(|e| (e.sentinel.clone().into_bytes(), e.real.clone().into_bytes()))
            .collect()
    }

    /// Every real value (to search output for, in tests and audits).
    #[cfg(test)]
    pub fn reals(&self) -> Vec<String> {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).iter().map(|e| e.real.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::domain::EntryKind;

    #[test]
    fn sentinels_are_fakes_of_the_real_length_kept_per_name_and_host_bound() {
        let s = Sentinels::default();
        let hosts = vec![Pattern::new("api.example.com", EntryKind::HostOnly).unwrap()];
        let real = "r".repeat(80);
        let a = s.register("TOKEN api", "TOKEN", &real, hosts.clone()).unwrap();
        assert!(a.starts_with(PREFIX) && a.len() == 80 && !a.contains('r'.to_string().repeat(5).as_str()), "{a}");
        let short = s.register("SHORT api", "SHORT", "abc", hosts.clone()).unwrap();
        assert_eq!(short.len(), PREFIX.len() + 36);
        assert_eq!(
            s.register("TOKEN api", "TOKEN", "new", hosts.clone()).unwrap(),
            a,
            "one sentinel per name and hosts"
        );
        assert_ne!(s.register("TOKEN other", "TOKEN", "new", Vec::new()).unwrap(), a);
        let api = Host::Name("api.example.com".into());
        let pairs = s.for_host(&api, 443);
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0], (a.into_bytes(), b"new".to_vec()));
        assert!(s.for_host(&Host::Name("other.example.com".into()), 443).is_empty());
        assert!(!format!("{s:?}").contains("new"), "{s:?}");
        // New settings: SHORT no longer masked, TOKEN kept to its hosts.
        s.rehost(&[("TOKEN".into(), hosts)]);
        assert_eq!(s.for_host(&api, 443).len(), 1);
        s.rehost(&[]);
        assert!(s.for_host(&api, 443).is_empty());
    }
}
