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
const LEAVES: usize = 256;

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
    by_name: HashMap<String, Arc<CertifiedKey>>,
    order: VecDeque<String>,
}

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
        params.not_after = now + time::Duration::days(30);
        let cert = params.self_signed(&key).map_err(|e| format!("cannot make the session's CA: {e}"))?;
        let (cert_pem, cert_der) = (cert.pem(), cert.der().clone());
        Ok(SessionCa { issuer: Issuer::new(params, key), cert_pem, cert_der, leaves: Mutex::default() })
    }

    /// The CA the settings name: a certificate and its key, PEM.
    pub fn load(cert_pem: &str, key_pem: &str) -> Result<SessionCa, String> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| format!("not a usable private key (PEM, PKCS#8): {e}"))?;
        let issuer =
            Issuer::from_ca_cert_pem(cert_pem, key).map_err(|e| format!("not a usable CA certificate (PEM): {e}"))?;
        let der = rustls::pki_types::pem::PemObject::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| format!("not a PEM certificate: {e}"))?;
        Ok(SessionCa {
            issuer,
            cert_pem: cert_pem.to_string(),
            cert_der: CertificateDer::into_owned(der),
            leaves: Mutex::default(),
        })
    }

    /// A leaf for `name` (a DNS name or an IP address), signed by this CA;
    /// made once, then served from the cache.
    pub fn leaf(&self, name: &str) -> Result<Arc<CertifiedKey>, String> {
        let name = name.to_ascii_lowercase();
        if let Some(found) = self.leaves.lock().unwrap_or_else(|e| e.into_inner()).by_name.get(&name) {
            return Ok(found.clone());
        }
        let made = Arc::new(self.sign(&name)?);
        let mut leaves = self.leaves.lock().unwrap_or_else(|e| e.into_inner());
        if leaves.order.len() >= LEAVES {
            if let Some(oldest) = leaves.order.pop_front() {
                leaves.by_name.remove(&oldest);
            }
        }
        if leaves.by_name.insert(name.clone(), made.clone()).is_none() {
            leaves.order.push_back(name);
        }
        Ok(made)
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
