// Shared by the targets that verify signatures: the test IdP's certificate,
// embedded at build time from /work/shared (../../shared from this crate).
use std::sync::OnceLock;

use rambridge::xmldsig::TrustedKeys;

static IDP_CERT_DER: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/saml/idp-test-cert.der"
));

pub fn idp_keys() -> &'static TrustedKeys {
    static KEYS: OnceLock<TrustedKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        TrustedKeys::from_der_certificates([IDP_CERT_DER.to_vec()])
            .expect("the embedded test IdP certificate is a usable key")
    })
}
