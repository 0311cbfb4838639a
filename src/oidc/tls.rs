//! TLS certificate pinning for issuer fetches (spec §5.2 `Fingerprints`, §8.3).
//!
//! Alibaba trusts an OIDC issuer's HTTPS endpoint when a certificate of the chain it presents
//! has a registered fingerprint (SHA-1 of the DER certificate; rambridge also accepts SHA-256).
//! [`PinnedVerifier`] makes that precise: the handshake is accepted only if some presented
//! certificate has a registered fingerprint **and** the end-entity certificate verifies up to
//! that certificate as trust anchor (webpki: signatures, validity period, key usage, and the
//! issuer URL's host name). A self-signed issuer certificate is its own anchor. A fingerprint
//! alone never suffices: a pinned CA does not vouch for a certificate it did not sign, or for
//! another host name.
//!
//! With `oidc_use_system_roots` the built-in Mozilla roots are accepted as well (the usual
//! public-CA check), for issuers whose administrators prefer not to track fingerprints.
//!
//! When the verifier refuses it records why in a shared slot, so the fetch error can say
//! "fingerprint" instead of a generic TLS failure.

use std::sync::{Arc, Mutex};

use ring::digest;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// A registered certificate fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fingerprint {
    /// SHA-1 of the DER certificate (Alibaba's form, 40 hex digits).
    Sha1([u8; 20]),
    /// SHA-256 of the DER certificate (64 hex digits).
    Sha256([u8; 32]),
}

impl Fingerprint {
    /// Parses 40 or 64 hex digits (any case).
    pub fn parse(hex_text: &str) -> Option<Fingerprint> {
        let bytes = hex::decode(hex_text).ok()?;
        match bytes.len() {
            20 => bytes.try_into().ok().map(Fingerprint::Sha1),
            32 => bytes.try_into().ok().map(Fingerprint::Sha256),
            _ => None,
        }
    }

    /// Whether `der` is the certificate this fingerprint names.
    pub fn matches(&self, der: &[u8]) -> bool {
        match self {
            Fingerprint::Sha1(f) => {
                digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref() == f.as_slice()
            }
            Fingerprint::Sha256(f) => digest::digest(&digest::SHA256, der).as_ref() == f.as_slice(),
        }
    }
}

/// The SHA-1 fingerprint (lowercase hex) of a DER certificate, as Alibaba shows them.
pub fn sha1_fingerprint(der: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der))
}

/// Why the last handshake was refused (shared with the fetcher).
pub type Refusal = Arc<Mutex<Option<String>>>;

/// The pinning verifier (see the module documentation).
#[derive(Debug)]
pub struct PinnedVerifier {
    pins: Vec<Fingerprint>,
    system: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    refusal: Refusal,
}

impl PinnedVerifier {
    /// A verifier accepting chains pinned by `pins`, and (with `use_system_roots`) chains valid
    /// under the Mozilla roots. Refusals are written to `refusal`.
    pub fn new(
        pins: Vec<Fingerprint>,
        use_system_roots: bool,
        provider: Arc<CryptoProvider>,
        refusal: Refusal,
    ) -> Result<PinnedVerifier, rustls::Error> {
        let system = if use_system_roots {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| rustls::Error::General(e.to_string()))?,
            )
        } else {
            None
        };
        Ok(PinnedVerifier {
            pins,
            system,
            provider,
            refusal,
        })
    }

    fn refuse(&self, why: String) -> rustls::Error {
        if let Ok(mut slot) = self.refusal.lock() {
            *slot = Some(why.clone());
        }
        rustls::Error::General(why)
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut problems = Vec::new();
        if let Some(system) = &self.system {
            match system.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Ok(ok) => return Ok(ok),
                Err(e) => problems.push(format!("not valid under the system roots ({e})")),
            }
        }
        let presented: Vec<&CertificateDer<'_>> =
            std::iter::once(end_entity).chain(intermediates).collect();
        let mut pinned_any = false;
        for cert in &presented {
            if !self.pins.iter().any(|p| p.matches(cert)) {
                continue;
            }
            pinned_any = true;
            let mut roots = RootCertStore::empty();
            if let Err(e) = roots.add((*cert).clone().into_owned()) {
                problems.push(format!(
                    "the certificate with fingerprint {} is not usable as a trust anchor ({e})",
                    sha1_fingerprint(cert)
                ));
                continue;
            }
            let verified =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                    .build()
                    .map_err(|e| rustls::Error::General(e.to_string()))
                    .and_then(|v| {
                        v.verify_server_cert(
                            end_entity,
                            intermediates,
                            server_name,
                            ocsp_response,
                            now,
                        )
                    });
            match verified {
                Ok(ok) => return Ok(ok),
                Err(e) => problems.push(format!(
                    "the certificate with fingerprint {} is registered, but the chain does not \
                     verify up to it for {} ({e})",
                    sha1_fingerprint(cert),
                    server_name.to_str()
                )),
            }
        }
        if !pinned_any {
            let seen = presented
                .iter()
                .map(|c| sha1_fingerprint(c))
                .collect::<Vec<_>>()
                .join(", ");
            problems.push(if self.pins.is_empty() {
                format!(
                    "the provider has no Fingerprints; the issuer presented certificates with \
                     SHA-1 fingerprints {seen}"
                )
            } else {
                format!(
                    "no certificate the issuer presented has a registered fingerprint (presented \
                     SHA-1: {seen}); register the issuer's CA certificate fingerprint with \
                     AddFingerprintToOIDCProvider"
                )
            });
        }
        Err(self.refuse(problems.join("; ")))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests;
