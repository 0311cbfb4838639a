//! EncryptedAssertion (XML Encryption 1.1, SAML core §2.3.4): the SP's RSA key unwraps the
//! content key (RSA-OAEP key transport), which decrypts the assertion (AES-GCM, or AES-CBC).
//!
//! Rules (each a defence): RSA PKCS#1 v1.5 key transport is refused (Bleichenbacher); every
//! decryption failure is the same error with the same message, whatever failed (no padding or
//! format oracle); the decrypted Assertion must carry its own valid signature (CBC gives no
//! integrity, and an outer Response signature cannot be checked against plaintext); RSA-OAEP
//! runs in aws-lc (constant-time). Decrypted bytes go through the same strict parser and limits
//! as a response.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::error::SamlError;
use crate::xmldsig::Element;

/// XML Encryption 1.0 namespace.
pub const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
/// XML Encryption 1.1 namespace.
pub const NS_XENC11: &str = "http://www.w3.org/2009/xmlenc11#";
const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// The SP's key pair: decrypts EncryptedAssertions; its certificate goes in SP metadata.
pub struct SpKey {
    decrypting: aws_lc_rs::rsa::OaepPrivateDecryptingKey,
    /// The certificate (DER) published in SP metadata.
    pub certificate_der: Vec<u8>,
    /// PKCS#8 DER of the private key (for signing AuthnRequests).
    pub pkcs8_der: Vec<u8>,
}

impl std::fmt::Debug for SpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpKey").finish_non_exhaustive()
    }
}

/// Decodes the first PEM block labelled `label`.
pub fn pem_block(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text.get(start..)?.find(&end)?;
    let body: String = text
        .get(start..stop)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    B64.decode(body).ok()
}

impl SpKey {
    /// From PEM texts: a PKCS#8 `PRIVATE KEY` (RSA, 2048 bits or more) and a `CERTIFICATE`.
    pub fn from_pem(key_pem: &str, cert_pem: &str) -> Result<SpKey, String> {
        let pkcs8 = pem_block(key_pem, "PRIVATE KEY")
            .ok_or("the SP key must be a PKCS#8 PEM 'PRIVATE KEY' (convert with `openssl pkcs8 -topk8 -nocrypt`)")?;
        let certificate_der = pem_block(cert_pem, "CERTIFICATE")
            .ok_or("the SP certificate must be a PEM 'CERTIFICATE'")?;
        let private = aws_lc_rs::rsa::PrivateDecryptingKey::from_pkcs8(&pkcs8)
            .map_err(|e| format!("the SP key is not a usable RSA key: {e}"))?;
        if private.key_size_bytes() < 256 {
            return Err("the SP key must be RSA-2048 or larger".into());
        }
        let decrypting = aws_lc_rs::rsa::OaepPrivateDecryptingKey::new(private)
            .map_err(|_| "the SP key cannot do RSA-OAEP".to_string())?;
        Ok(SpKey {
            decrypting,
            certificate_der,
            pkcs8_der: pkcs8,
        })
    }
}

fn child<'a>(e: &Element<'a>, ns: &str, name: &str) -> Option<Element<'a>> {
    e.child_elements().find(|c| c.has_name(ns, name))
}

fn cipher_value(e: &Element<'_>) -> Option<Vec<u8>> {
    let cd = child(e, NS_XENC, "CipherData")?;
    let cv = child(&cd, NS_XENC, "CipherValue")?;
    let text: String = cv
        .text_strict()
        .ok()?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    B64.decode(text).ok()
}

fn failed() -> SamlError {
    SamlError::Decryption
}

/// Unwraps the content key of `encrypted_key` (an `xenc:EncryptedKey`).
fn unwrap_key(key: &SpKey, encrypted_key: &Element<'_>) -> Result<Vec<u8>, SamlError> {
    let method = child(encrypted_key, NS_XENC, "EncryptionMethod").ok_or_else(failed)?;
    let digest = child(&method, NS_DSIG, "DigestMethod").and_then(|d| d.attribute("Algorithm"));
    let mgf = child(&method, NS_XENC11, "MGF").and_then(|d| d.attribute("Algorithm"));
    use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256};
    let alg = match (method.attribute("Algorithm"), digest, mgf) {
        (
            Some("http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"),
            None | Some("http://www.w3.org/2000/09/xmldsig#sha1"),
            None,
        ) => &OAEP_SHA1_MGF1SHA1,
        (
            Some("http://www.w3.org/2009/xmlenc11#rsa-oaep"),
            None | Some("http://www.w3.org/2000/09/xmldsig#sha1"),
            None | Some("http://www.w3.org/2009/xmlenc11#mgf1sha1"),
        ) => &OAEP_SHA1_MGF1SHA1,
        (
            Some("http://www.w3.org/2009/xmlenc11#rsa-oaep"),
            Some("http://www.w3.org/2001/04/xmlenc#sha256"),
            Some("http://www.w3.org/2009/xmlenc11#mgf1sha256"),
        ) => &OAEP_SHA256_MGF1SHA256,
        _ => {
            return Err(SamlError::UnsupportedEncryption(format!(
                "key transport {} (digest {}, MGF {}); use RSA-OAEP",
                method.attribute("Algorithm").unwrap_or("?"),
                digest.unwrap_or("default"),
                mgf.unwrap_or("default")
            )));
        }
    };
    let wrapped = cipher_value(encrypted_key).ok_or_else(failed)?;
    let mut out = vec![0u8; key.decrypting.min_output_size()];
    let plain = key
        .decrypting
        .decrypt(alg, &wrapped, &mut out, None)
        .map_err(|_| failed())?;
    Ok(plain.to_vec())
}

/// Decrypts a `saml:EncryptedAssertion` element; returns the Assertion's XML bytes.
pub fn decrypt_assertion(
    key: &SpKey,
    encrypted_assertion: &Element<'_>,
) -> Result<Vec<u8>, SamlError> {
    let data = child(encrypted_assertion, NS_XENC, "EncryptedData").ok_or_else(failed)?;
    let algorithm = child(&data, NS_XENC, "EncryptionMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .ok_or_else(failed)?;
    // The EncryptedKey sits in the EncryptedData's KeyInfo, or beside it (RetrievalMethod style).
    let encrypted_key = child(&data, NS_DSIG, "KeyInfo")
        .and_then(|ki| child(&ki, NS_XENC, "EncryptedKey"))
        .or_else(|| child(encrypted_assertion, NS_XENC, "EncryptedKey"))
        .ok_or_else(failed)?;
    let content_key = unwrap_key(key, &encrypted_key)?;
    let mut body = cipher_value(&data).ok_or_else(failed)?;
    match algorithm {
        "http://www.w3.org/2009/xmlenc11#aes128-gcm"
        | "http://www.w3.org/2009/xmlenc11#aes256-gcm" => {
            let alg = if algorithm.ends_with("aes128-gcm") {
                &ring::aead::AES_128_GCM
            } else {
                &ring::aead::AES_256_GCM
            };
            if body.len() < 12 + 16 || content_key.len() != alg.key_len() {
                return Err(failed());
            }
            let (iv, rest) = body.split_at_mut(12);
            let nonce = ring::aead::Nonce::try_assume_unique_for_key(iv).map_err(|_| failed())?;
            let k = ring::aead::LessSafeKey::new(
                ring::aead::UnboundKey::new(alg, &content_key).map_err(|_| failed())?,
            );
            let plain = k
                .open_in_place(nonce, ring::aead::Aad::empty(), rest)
                .map_err(|_| failed())?;
            Ok(plain.to_vec())
        }
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
        | "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => {
            use aws_lc_rs::cipher::{
                AES_128, AES_256, DecryptingKey, DecryptionContext, UnboundCipherKey,
            };
            use aws_lc_rs::iv::FixedLength;
            let alg = if algorithm.ends_with("aes128-cbc") {
                &AES_128
            } else {
                &AES_256
            };
            if body.len() < 32 || body.len() % 16 != 0 {
                return Err(failed());
            }
            let (iv, rest) = body.split_at_mut(16);
            let iv: [u8; 16] = iv.try_into().map_err(|_| failed())?;
            let k =
                DecryptingKey::cbc(UnboundCipherKey::new(alg, &content_key).map_err(|_| failed())?)
                    .map_err(|_| failed())?;
            let plain = k
                .decrypt(rest, DecryptionContext::Iv128(FixedLength::from(iv)))
                .map_err(|_| failed())?;
            // XML Encryption padding: the last byte says how many bytes to drop (1..=16).
            let pad = usize::from(*plain.last().ok_or_else(failed)?);
            if pad == 0 || pad > 16 || pad > plain.len() {
                return Err(failed());
            }
            let len = plain.len() - pad;
            Ok(plain.get(..len).ok_or_else(failed)?.to_vec())
        }
        other => Err(SamlError::UnsupportedEncryption(format!(
            "content encryption {other}; use AES-GCM or AES-CBC"
        ))),
    }
}
