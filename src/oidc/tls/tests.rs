//! The pinning verifier on certificate chains made by rcgen: a self-signed issuer pinned by its
//! own fingerprint, a CA-issued one pinned by the CA, and the refusals (no registered
//! fingerprint, a pinned CA that did not sign the leaf, another host name, an expired
//! certificate, a pinned leaf that is not self-signed).

use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use ring::digest;
use rustls::client::danger::ServerCertVerifier as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::{Fingerprint, PinnedVerifier, Refusal, sha1_fingerprint};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn self_signed(names: &[&str]) -> CertificateDer<'static> {
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.self_signed(&key).unwrap().der().clone()
}

struct Chain {
    ca: CertificateDer<'static>,
    leaf: CertificateDer<'static>,
}

fn ca_chain(names: &[&str]) -> Chain {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "rambridge TEST-ONLY CA");
    let ca = ca_params.self_signed(&ca_key).unwrap().der().clone();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap()
        .der()
        .clone();
    Chain { ca, leaf }
}

fn verifier(pins: &[String]) -> (PinnedVerifier, Refusal) {
    let refusal: Refusal = Arc::new(Mutex::new(None));
    let pins = pins
        .iter()
        .map(|p| Fingerprint::parse(p).unwrap())
        .collect();
    (
        PinnedVerifier::new(pins, false, provider(), refusal.clone()).unwrap(),
        refusal,
    )
}

fn verify(
    v: &PinnedVerifier,
    leaf: &CertificateDer<'_>,
    rest: &[CertificateDer<'static>],
    host: &str,
) -> Result<(), String> {
    let name = ServerName::try_from(host.to_string()).unwrap();
    v.verify_server_cert(leaf, rest, &name, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn fingerprints_parse_and_match() {
    let cert = self_signed(&["localhost"]);
    let sha1 = sha1_fingerprint(&cert);
    assert_eq!(sha1.len(), 40);
    assert!(Fingerprint::parse(&sha1).unwrap().matches(&cert));
    assert!(
        Fingerprint::parse(&sha1.to_ascii_uppercase())
            .unwrap()
            .matches(&cert)
    );
    let sha256 = hex::encode(digest::digest(&digest::SHA256, &cert));
    assert!(Fingerprint::parse(&sha256).unwrap().matches(&cert));
    assert!(!Fingerprint::parse(&"00".repeat(20)).unwrap().matches(&cert));
    for bad in ["", "abc", &"zz".repeat(20), &"ab".repeat(21)] {
        assert!(Fingerprint::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn a_self_signed_issuer_pinned_by_its_own_fingerprint() {
    let cert = self_signed(&["127.0.0.1", "localhost"]);
    let (v, refusal) = verifier(&[sha1_fingerprint(&cert)]);
    verify(&v, &cert, &[], "127.0.0.1").unwrap();
    verify(&v, &cert, &[], "localhost").unwrap();
    assert!(refusal.lock().unwrap().is_none());
    // The pin does not lift the name check.
    let e = verify(&v, &cert, &[], "issuer.example.test").unwrap_err();
    assert!(
        e.contains("registered, but the chain does not verify"),
        "{e}"
    );
    assert!(refusal.lock().unwrap().is_some());
}

#[test]
fn unpinned_chains_are_refused_with_the_presented_fingerprints() {
    let cert = self_signed(&["127.0.0.1"]);
    let (v, refusal) = verifier(&["00".repeat(20)]);
    let e = verify(&v, &cert, &[], "127.0.0.1").unwrap_err();
    assert!(
        e.contains("no certificate the issuer presented has a registered fingerprint"),
        "{e}"
    );
    assert!(e.contains(&sha1_fingerprint(&cert)), "{e}");
    let recorded = refusal.lock().unwrap().clone().unwrap();
    assert!(e.contains(&recorded), "{e} / {recorded}");
    let (v, _) = verifier(&[]);
    let e = verify(&v, &cert, &[], "127.0.0.1").unwrap_err();
    assert!(e.contains("the provider has no Fingerprints"), "{e}");
}

#[test]
fn a_ca_issued_leaf_pinned_by_the_ca() {
    let chain = ca_chain(&["127.0.0.1", "localhost"]);
    let (v, _) = verifier(&[sha1_fingerprint(&chain.ca)]);
    verify(
        &v,
        &chain.leaf,
        std::slice::from_ref(&chain.ca),
        "localhost",
    )
    .unwrap();
    // The CA must be presented: the pin names a certificate of the presented chain.
    assert!(verify(&v, &chain.leaf, &[], "localhost").is_err());
    // Wrong host name under the pinned CA.
    assert!(
        verify(
            &v,
            &chain.leaf,
            std::slice::from_ref(&chain.ca),
            "evil.test"
        )
        .is_err()
    );
    // A pinned CA presented next to a leaf it did not sign.
    let other = ca_chain(&["localhost"]);
    let e = verify(
        &v,
        &other.leaf,
        std::slice::from_ref(&chain.ca),
        "localhost",
    )
    .unwrap_err();
    assert!(e.contains("does not verify up to it"), "{e}");
    // Pinning a CA-issued leaf itself is not enough: pin the CA (docs/oidc.md).
    let (v, _) = verifier(&[sha1_fingerprint(&chain.leaf)]);
    assert!(
        verify(
            &v,
            &chain.leaf,
            std::slice::from_ref(&chain.ca),
            "localhost"
        )
        .is_err()
    );
}

#[test]
fn an_expired_pinned_certificate_is_refused() {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let cert = params.self_signed(&key).unwrap().der().clone();
    let (v, _) = verifier(&[sha1_fingerprint(&cert)]);
    let e = verify(&v, &cert, &[], "localhost").unwrap_err();
    assert!(e.to_ascii_lowercase().contains("expired"), "{e}");
}

#[test]
fn system_roots_do_not_accept_a_self_signed_certificate() {
    let cert = self_signed(&["localhost"]);
    let refusal: Refusal = Arc::new(Mutex::new(None));
    let v = PinnedVerifier::new(vec![], true, provider(), refusal).unwrap();
    let e = verify(&v, &cert, &[], "localhost").unwrap_err();
    assert!(e.contains("not valid under the system roots"), "{e}");
    // With a pin as well, the pin decides.
    let refusal: Refusal = Arc::new(Mutex::new(None));
    let pins = vec![Fingerprint::parse(&sha1_fingerprint(&cert)).unwrap()];
    let v = PinnedVerifier::new(pins, true, provider(), refusal).unwrap();
    verify(&v, &cert, &[], "localhost").unwrap();
}
