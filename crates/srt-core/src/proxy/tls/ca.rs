//! The session's certificate authority for TLS termination: the one the
//! settings name (`caCertPath`, `caKeyPath`), or one made for the session
//! whose key never leaves srt's memory; and the leaf certificates it signs
//! for the names the sandbox connects to, kept in a bounded cache.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

/// Leaves kept at once (as the original).
pub(crate) const LEAVES: usize = 256;

/// A certificate authority that signs leaves.
pub struct SessionCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, PEM (what the sandbox trusts).
    pub cert_pem: String,
    cert_der: CertificateDer<'static>,
    leaves: Mutex<Leaves>,
}

#[derive(Default)]
struct Leaves {
    by_name: HashMap<String, (std::time::Instant, Arc<CertifiedKey>)>,
    order: VecDeque<String>,
}

/// A leaf older than this is made again.
const LEAF_REFRESH: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

impl SessionCa {
    /// A CA made now, for this session alone.
    pub fn generate() -> Result<SessionCa, String> {
        let key = KeyPair::generate().map_err(|e| format!("cannot make the session's CA key: {e}"))?;
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, "srt-rs session CA");
        name.push(DnType::OrganizationName, "srt-rs");
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        // Longer than any session; its key dies with the session anyway.
        params.not_after = now + time::Duration::days(365);
        let cert = params.self_signed(&key).map_err(|e| format!("cannot make the session's CA: {e}"))?;
        let (cert_pem, cert_der) = (cert.pem(), cert.der().clone());
        Ok(SessionCa { issuer: Issuer::new(params, key), cert_pem, cert_der, leaves: Mutex::default() })
    }

    /// The CA the settings name: a certificate and its key, PEM. Only the
    /// certificate's own block is ever shown to the sandbox; a file that
    /// also holds a key is refused, and the key must be the certificate's.
    pub fn load(cert_pem: &str, key_pem: &str) -> Result<SessionCa, String> {
        use rustls::pki_types::pem::{PemObject, SectionKind};
        let mut certs = Vec::new();
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(cert_pem.as_bytes()) {
            match section.map_err(|e| format!("not a PEM file: {e}"))? {
                (SectionKind::Certificate, der) => certs.push(der),
                (kind, _) => {
                    return Err(format!(
                        "the certificate file also holds a {kind:?} block: keep the key in caKeyPath alone"
                    ))
                }
            }
        }
        let [der] = certs.as_slice() else {
            return Err(format!("the certificate file must hold one certificate, not {}", certs.len()));
        };
        let cert_der = CertificateDer::from(der.clone());
        let key = KeyPair::from_pem(key_pem).map_err(|e| format!("not a usable private key (PEM, PKCS#8): {e}"))?;
        let issuer =
            Issuer::from_ca_cert_der(&cert_der, key).map_err(|e| format!("not a usable CA certificate: {e}"))?;
        let ca =
            SessionCa { issuer, cert_pem: super::pem("CERTIFICATE", &cert_der), cert_der, leaves: Mutex::default() };
        ca.check_signs()?;
        Ok(ca)
    }

    /// Whether a leaf this CA signs verifies against its certificate: the
    /// key is the certificate's, and the certificate may sign.
    fn check_signs(&self) -> Result<(), String> {
        use rustls::client::danger::ServerCertVerifier;
        let leaf = self.sign("srt-ca-check.invalid")?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.cert_der.clone()).map_err(|e| format!("not a usable CA certificate: {e}"))?;
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), super::provider())
            .build()
            .map_err(|e| e.to_string())?;
        let name = rustls::pki_types::ServerName::try_from("srt-ca-check.invalid").map_err(|e| e.to_string())?;
        let now = rustls::pki_types::UnixTime::now();
        verifier
            .verify_server_cert(&leaf.cert[0], &[], &name, &[], now)
            .map(|_| ())
            .map_err(|e| format!("the key does not sign for this certificate, or the certificate is no CA: {e}"))
    }

    /// A leaf for `name` (a DNS name or an IP address), signed by this CA;
    /// made once, then served from the cache.
    pub fn leaf(&self, name: &str) -> Result<Arc<CertifiedKey>, String> {
        let name = name.to_ascii_lowercase();
        // Made under the lock: concurrent first CONNECTs to one name make one leaf.
        let mut leaves = self.leaves.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((made, leaf)) = leaves.by_name.get(&name) {
            // Leaves last 30 days; one made a week ago is made again.
            if made.elapsed() < LEAF_REFRESH {
                return Ok(leaf.clone());
            }
        }
        let leaf = Arc::new(self.sign(&name)?);
        if leaves.by_name.insert(name.clone(), (std::time::Instant::now(), leaf.clone())).is_none() {
            leaves.order.push_back(name);
        }
        while leaves.order.len() > LEAVES {
            if let Some(oldest) = leaves.order.pop_front() {
                leaves.by_name.remove(&oldest);
            }
        }
        Ok(leaf)
    }

    fn sign(&self, name: &str) -> Result<CertifiedKey, String> {
        let key = KeyPair::generate().map_err(|e| format!("cannot make a key for {name}: {e}"))?;
        let mut params = CertificateParams::default();
        params.subject_alt_names =
            vec![match name.trim_matches(|c| c == '[' || c == ']').parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(
                    name.try_into().map_err(|e| format!("{name} cannot be a certificate's name: {e}"))?,
                ),
            }];
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        // Under the 825 days macOS accepts from any CA.
        params.not_after = now + time::Duration::days(30);
        let cert = params.signed_by(&key, &self.issuer).map_err(|e| format!("cannot sign a leaf for {name}: {e}"))?;
        let der_key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing = rustls::crypto::ring::sign::any_supported_type(&der_key)
            .map_err(|e| format!("cannot use the key made for {name}: {e}"))?;
        Ok(CertifiedKey::new(vec![cert.der().clone(), self.cert_der.clone()], signing))
    }
}
