//! A minimal SAML IdP response builder for tests, benchmarks and the load generator: builds a
//! Response in the shape commercial IdPs send (compact, Assertion signed after its Issuer) and
//! signs it with `xmldsig::sign_element`. The server never uses this module.

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use super::response::{BEARER, NS_ASSERTION, NS_PROTOCOL, STATUS_SUCCESS};
use super::{ROLE_ATTRIBUTE, ROLE_SESSION_NAME_ATTRIBUTE};
use crate::xmldsig::{SignOptions, SigningKey, XmlDsigError, sign_element};

/// Everything a test response says; every field may be changed before building.
#[derive(Debug, Clone)]
pub struct ResponseBuilder {
    /// Response ID.
    pub response_id: String,
    /// Assertion ID.
    pub assertion_id: String,
    /// Issuer (Response and Assertion).
    pub issuer: String,
    /// Response Destination (`None` omits it).
    pub destination: Option<String>,
    /// SubjectConfirmationData Recipient.
    pub recipient: String,
    /// Audience.
    pub audience: String,
    /// NameID text (inserted verbatim, so tests can put markup in it).
    pub name_id_xml: String,
    /// NameID Format.
    pub name_id_format: String,
    /// IssueInstant.
    pub issue_instant: DateTime<Utc>,
    /// Conditions NotBefore.
    pub not_before: DateTime<Utc>,
    /// Conditions NotOnOrAfter.
    pub not_on_or_after: DateTime<Utc>,
    /// SubjectConfirmationData NotOnOrAfter.
    pub confirmation_not_on_or_after: DateTime<Utc>,
    /// InResponseTo on the confirmation and the Response.
    pub in_response_to: Option<String>,
    /// Status code value.
    pub status: String,
    /// Confirmation method.
    pub method: String,
    /// Attributes: name and values (values are escaped).
    pub attributes: Vec<(String, Vec<String>)>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Escapes text and attribute values.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl ResponseBuilder {
    /// A valid role-SSO response from `issuer` to `acs` for `audience` at `now`, with fresh ids.
    pub fn new(issuer: &str, acs: &str, audience: &str, now: DateTime<Utc>) -> ResponseBuilder {
        ResponseBuilder {
            response_id: format!("_r{}", uuid::Uuid::new_v4().simple()),
            assertion_id: format!("_a{}", uuid::Uuid::new_v4().simple()),
            issuer: issuer.into(),
            destination: Some(acs.into()),
            recipient: acs.into(),
            audience: audience.into(),
            name_id_xml: "alice@example.test".into(),
            name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into(),
            issue_instant: now,
            not_before: now - Duration::minutes(1),
            not_on_or_after: now + Duration::minutes(5),
            confirmation_not_on_or_after: now + Duration::minutes(5),
            in_response_to: None,
            status: STATUS_SUCCESS.into(),
            method: BEARER.into(),
            attributes: vec![(
                ROLE_SESSION_NAME_ATTRIBUTE.into(),
                vec!["alice@example.test".into()],
            )],
        }
    }

    /// Adds a Role attribute value `<role>,<provider>`.
    pub fn role(mut self, role_arn: &str, provider_arn: &str) -> ResponseBuilder {
        let value = format!("{role_arn},{provider_arn}");
        match self
            .attributes
            .iter_mut()
            .find(|(n, _)| n == ROLE_ATTRIBUTE)
        {
            Some((_, v)) => v.push(value),
            None => self.attributes.push((ROLE_ATTRIBUTE.into(), vec![value])),
        }
        self
    }

    /// Replaces (or removes, with an empty list) an attribute.
    pub fn attribute(mut self, name: &str, values: &[&str]) -> ResponseBuilder {
        self.attributes.retain(|(n, _)| n != name);
        if !values.is_empty() {
            self.attributes
                .push((name.into(), values.iter().map(|v| v.to_string()).collect()));
        }
        self
    }

    /// The Assertion element alone (unsigned).
    pub fn assertion_xml(&self) -> String {
        let irt = self
            .in_response_to
            .as_ref()
            .map(|i| format!(" InResponseTo=\"{}\"", escape(i)))
            .unwrap_or_default();
        let attrs: String = self
            .attributes
            .iter()
            .map(|(n, vs)| {
                let values: String = vs
                    .iter()
                    .map(|v| {
                        format!(
                            "<saml:AttributeValue xsi:type=\"xs:string\">{}</saml:AttributeValue>",
                            escape(v)
                        )
                    })
                    .collect();
                format!(
                    "<saml:Attribute Name=\"{}\">{values}</saml:Attribute>",
                    escape(n)
                )
            })
            .collect();
        format!(
            "<saml:Assertion xmlns:saml=\"{NS_ASSERTION}\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ID=\"{aid}\" Version=\"2.0\" IssueInstant=\"{ii}\">\
             <saml:Issuer>{iss}</saml:Issuer>\
             <saml:Subject><saml:NameID Format=\"{nf}\">{nid}</saml:NameID>\
             <saml:SubjectConfirmation Method=\"{method}\"><saml:SubjectConfirmationData NotOnOrAfter=\"{scd}\" Recipient=\"{rcp}\"{irt}/></saml:SubjectConfirmation></saml:Subject>\
             <saml:Conditions NotBefore=\"{nb}\" NotOnOrAfter=\"{na}\"><saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions>\
             <saml:AuthnStatement AuthnInstant=\"{ii}\"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>\
             <saml:AttributeStatement>{attrs}</saml:AttributeStatement></saml:Assertion>",
            aid = escape(&self.assertion_id),
            ii = time(self.issue_instant),
            iss = escape(&self.issuer),
            nf = escape(&self.name_id_format),
            nid = self.name_id_xml,
            method = escape(&self.method),
            scd = time(self.confirmation_not_on_or_after),
            rcp = escape(&self.recipient),
            nb = time(self.not_before),
            na = time(self.not_on_or_after),
            aud = escape(&self.audience),
        )
    }

    /// The whole Response with `assertion` (already signed or not) inside.
    pub fn response_xml_with(&self, assertion: &str) -> String {
        let dest = self
            .destination
            .as_ref()
            .map(|d| format!(" Destination=\"{}\"", escape(d)))
            .unwrap_or_default();
        let irt = self
            .in_response_to
            .as_ref()
            .map(|i| format!(" InResponseTo=\"{}\"", escape(i)))
            .unwrap_or_default();
        format!(
            "<samlp:Response xmlns:samlp=\"{NS_PROTOCOL}\" xmlns:saml=\"{NS_ASSERTION}\" ID=\"{rid}\" Version=\"2.0\" \
             IssueInstant=\"{ii}\"{dest}{irt}><saml:Issuer>{iss}</saml:Issuer>\
             <samlp:Status><samlp:StatusCode Value=\"{st}\"/></samlp:Status>{assertion}</samlp:Response>",
            rid = escape(&self.response_id),
            ii = time(self.issue_instant),
            iss = escape(&self.issuer),
            st = escape(&self.status),
        )
    }

    /// The Response with its Assertion signed (the common IdP shape).
    pub fn sign_assertion(&self, key: &SigningKey) -> Result<Vec<u8>, XmlDsigError> {
        let unsigned = self.response_xml_with(&self.assertion_xml());
        sign_element(unsigned.as_bytes(), &self.assertion_id, key, &sign_opts())
    }

    /// The Response signed as a whole (Assertion unsigned inside).
    pub fn sign_response(&self, key: &SigningKey) -> Result<Vec<u8>, XmlDsigError> {
        let unsigned = self.response_xml_with(&self.assertion_xml());
        sign_element(unsigned.as_bytes(), &self.response_id, key, &sign_opts())
    }

    /// Both signed: the Assertion first, then the Response around it.
    pub fn sign_both(&self, key: &SigningKey) -> Result<Vec<u8>, XmlDsigError> {
        let inner = self.sign_assertion(key)?;
        sign_element(&inner, &self.response_id, key, &sign_opts())
    }
}

fn sign_opts() -> SignOptions {
    SignOptions {
        id_attribute: "ID",
        inclusive_prefixes: vec!["xs".into()],
    }
}

/// Content encryption for [`ResponseBuilder::sign_and_encrypt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentEncryption {
    /// `xmlenc11#aes256-gcm`.
    Aes256Gcm,
    /// `xmlenc#aes128-cbc`.
    Aes128Cbc,
    /// `xmlenc#aes256-cbc`.
    Aes256Cbc,
}

/// Key transport for [`ResponseBuilder::sign_and_encrypt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTransport {
    /// `xmlenc#rsa-oaep-mgf1p` (SHA-1).
    OaepMgf1p,
    /// `xmlenc11#rsa-oaep` with SHA-256 and MGF1-SHA-256.
    OaepSha256,
    /// `xmlenc#rsa-1_5` (refused by rambridge; for tests).
    Rsa15,
}

/// Errors building an encrypted test response.
#[derive(Debug, thiserror::Error)]
pub enum TestIdpError {
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] XmlDsigError),
    /// The SP certificate or the encryption failed.
    #[error("encryption failed: {0}")]
    Encrypt(String),
}

impl ResponseBuilder {
    /// Signs the Assertion (standalone), then encrypts it for the SP certificate `sp_cert_der`
    /// into an `EncryptedAssertion` (EncryptedKey inside the EncryptedData's KeyInfo). With
    /// `sign = false` the assertion is encrypted unsigned.
    pub fn sign_and_encrypt(
        &self,
        key: &SigningKey,
        sp_cert_der: &[u8],
        content: ContentEncryption,
        transport: KeyTransport,
        sign: bool,
    ) -> Result<Vec<u8>, TestIdpError> {
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let err = |m: &str| TestIdpError::Encrypt(m.to_string());
        let assertion = if sign {
            sign_element(
                self.assertion_xml().as_bytes(),
                &self.assertion_id,
                key,
                &sign_opts(),
            )?
        } else {
            self.assertion_xml().into_bytes()
        };
        let (key_len, alg_uri) = match content {
            ContentEncryption::Aes256Gcm => (32, "http://www.w3.org/2009/xmlenc11#aes256-gcm"),
            ContentEncryption::Aes128Cbc => (16, "http://www.w3.org/2001/04/xmlenc#aes128-cbc"),
            ContentEncryption::Aes256Cbc => (32, "http://www.w3.org/2001/04/xmlenc#aes256-cbc"),
        };
        let mut cek = vec![0u8; key_len];
        use ring::rand::SecureRandom as _;
        let rng = ring::rand::SystemRandom::new();
        rng.fill(&mut cek).map_err(|_| err("random"))?;
        let cipher = match content {
            ContentEncryption::Aes256Gcm => {
                let mut iv = [0u8; 12];
                rng.fill(&mut iv).map_err(|_| err("random"))?;
                let k = ring::aead::LessSafeKey::new(
                    ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &cek)
                        .map_err(|_| err("key"))?,
                );
                let mut body = assertion.clone();
                k.seal_in_place_append_tag(
                    ring::aead::Nonce::assume_unique_for_key(iv),
                    ring::aead::Aad::empty(),
                    &mut body,
                )
                .map_err(|_| err("seal"))?;
                [iv.as_slice(), &body].concat()
            }
            ContentEncryption::Aes128Cbc | ContentEncryption::Aes256Cbc => {
                use aws_lc_rs::cipher::{AES_128, AES_256, EncryptingKey, UnboundCipherKey};
                let alg = if key_len == 16 { &AES_128 } else { &AES_256 };
                let pad = 16 - assertion.len() % 16;
                let mut body = assertion.clone();
                body.extend(std::iter::repeat_n(0xA5u8, pad - 1));
                body.push(u8::try_from(pad).map_err(|_| err("pad"))?);
                let k =
                    EncryptingKey::cbc(UnboundCipherKey::new(alg, &cek).map_err(|_| err("key"))?)
                        .map_err(|_| err("key"))?;
                let ctx = k.encrypt(&mut body).map_err(|_| err("encrypt"))?;
                let iv: &[u8] = (&ctx).try_into().map_err(|_| err("iv"))?;
                [iv, &body].concat()
            }
        };
        let spki = {
            let (_, cert) =
                x509_parser::parse_x509_certificate(sp_cert_der).map_err(|_| err("certificate"))?;
            cert.public_key().raw.to_vec()
        };
        let public =
            aws_lc_rs::rsa::PublicEncryptingKey::from_der(&spki).map_err(|_| err("public key"))?;
        let (wrapped, transport_xml) = match transport {
            KeyTransport::OaepMgf1p | KeyTransport::OaepSha256 => {
                let oaep = aws_lc_rs::rsa::OaepPublicEncryptingKey::new(public)
                    .map_err(|_| err("oaep"))?;
                let mut out = vec![0u8; oaep.ciphertext_size()];
                let (alg, xml) = if transport == KeyTransport::OaepMgf1p {
                    (&aws_lc_rs::rsa::OAEP_SHA1_MGF1SHA1, "<xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\"><ds:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/></xenc:EncryptionMethod>".to_string())
                } else {
                    (&aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256, "<xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2009/xmlenc11#rsa-oaep\"><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><xenc11:MGF xmlns:xenc11=\"http://www.w3.org/2009/xmlenc11#\" Algorithm=\"http://www.w3.org/2009/xmlenc11#mgf1sha256\"/></xenc:EncryptionMethod>".to_string())
                };
                let w = oaep
                    .encrypt(alg, &cek, &mut out, None)
                    .map_err(|_| err("oaep encrypt"))?
                    .to_vec();
                (w, xml)
            }
            KeyTransport::Rsa15 => (
                vec![0u8; 256],
                "<xenc:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-1_5\"/>"
                    .to_string(),
            ),
        };
        let encrypted = format!(
            "<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\" \
             Type=\"http://www.w3.org/2001/04/xmlenc#Element\"><xenc:EncryptionMethod Algorithm=\"{alg_uri}\"/>\
             <ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><xenc:EncryptedKey>{transport_xml}\
             <xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>\
             <xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>",
            b64(&wrapped),
            b64(&cipher),
        );
        Ok(self.response_xml_with(&encrypted).into_bytes())
    }
}
