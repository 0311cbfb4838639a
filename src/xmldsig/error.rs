//! The one error type of the XML-signature module.
//!
//! Variants are grouped by [`ErrorCategory`]: the input is not acceptable XML
//! (`Malformed`), the signature uses something this module deliberately does
//! not implement (`Unsupported`), the signature is structurally wrong
//! (`InvalidSignature`), the cryptographic check or the trust decision failed
//! (`Untrusted`), or the caller's configuration is wrong (`Configuration`).
//!
//! Messages say what was expected and what was found so an operator can act on
//! them. They carry identifiers, algorithm URIs, byte offsets and certificate
//! fingerprints, never key material or secret data.

use thiserror::Error;

/// Coarse classification of an [`XmlDsigError`], e.g. for metrics labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCategory {
    /// The bytes are not a well-formed, acceptable XML document.
    Malformed,
    /// The signature is structurally wrong (missing, duplicated or misplaced parts).
    InvalidSignature,
    /// A deliberately unsupported algorithm, transform or key type.
    Unsupported,
    /// Trust or cryptographic verification failed.
    Untrusted,
    /// The caller's keys or options are unusable.
    Configuration,
}

/// Every failure of parsing, canonicalizing, verifying or signing.
///
/// Variant fields are the facts the variant's message prints (expected vs. got, offsets,
/// limits); each variant's doc and message describe them.
#[allow(missing_docs)]
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum XmlDsigError {
    // ------------------------------------------------------------ malformed XML
    /// The input is larger than the parser's addressable size.
    #[error("XML input of {size} bytes is too large (limit {limit} bytes)")]
    InputTooLarge { size: usize, limit: usize },
    /// The input is not valid UTF-8.
    #[error(
        "input is not valid UTF-8 (first bad byte at offset {offset}); only UTF-8 XML is accepted"
    )]
    InvalidUtf8 { offset: usize },
    /// A character that XML 1.0 forbids (e.g. a C0 control character).
    #[error("character U+{code:04X} at offset {offset} is not allowed in XML 1.0")]
    InvalidCharacter { code: u32, offset: usize },
    /// The XML declaration names an encoding other than UTF-8.
    #[error("XML declaration names encoding {encoding:?}; only UTF-8 is accepted")]
    UnsupportedEncoding { encoding: String },
    /// The XML declaration names a version other than 1.0.
    #[error("XML declaration names version {version:?}; only \"1.0\" is accepted")]
    UnsupportedXmlVersion { version: String },
    /// Any `<!DOCTYPE`: no DTDs, entity declarations or external entities are processed.
    #[error("DOCTYPE at offset {offset} rejected: DTDs and entity declarations are never accepted")]
    DoctypeForbidden { offset: usize },
    /// An entity reference other than the five predefined ones.
    #[error(
        "entity reference &{name}; at offset {offset} rejected: only &lt; &gt; &amp; &quot; &apos; and numeric character references are accepted"
    )]
    UndefinedEntity { name: String, offset: usize },
    /// A generic well-formedness error.
    #[error("malformed XML at offset {offset}: {detail}")]
    Syntax { offset: usize, detail: String },
    /// An end tag that does not close the open element.
    #[error("end tag </{got}> at offset {offset} does not match the open element <{expected}>")]
    MismatchedTag {
        expected: String,
        got: String,
        offset: usize,
    },
    /// The input ended while an element was still open.
    #[error("unexpected end of input: element <{open}> is not closed")]
    UnclosedElement { open: String },
    /// A prefix that no enclosing `xmlns:prefix` declares.
    #[error("namespace prefix {prefix:?} at offset {offset} is not declared")]
    UndeclaredPrefix { prefix: String, offset: usize },
    /// A namespace declaration that XML Namespaces 1.0 forbids.
    #[error("invalid namespace declaration at offset {offset}: {detail}")]
    InvalidNamespaceDeclaration { detail: String, offset: usize },
    /// The same attribute (by qualified or by expanded name) twice on one element.
    #[error("duplicate attribute {name:?} on the element at offset {offset}")]
    DuplicateAttribute { name: String, offset: usize },
    /// A second top-level element.
    #[error("second root element at offset {offset}; a document has exactly one")]
    MultipleRoots { offset: usize },
    /// No element at all.
    #[error("document has no root element")]
    NoRootElement,
    /// Text, CDATA or references outside the root element.
    #[error("non-whitespace content outside the root element at offset {offset}")]
    ContentOutsideRoot { offset: usize },
    /// Elements nested deeper than [`super::ParseLimits::max_depth`].
    #[error("element at offset {offset} is nested deeper than the limit of {limit}")]
    DepthLimitExceeded { limit: usize, offset: usize },
    /// More nodes than [`super::ParseLimits::max_nodes`].
    #[error(
        "document has more than the limit of {limit} nodes (elements, attributes, text, comments)"
    )]
    NodeLimitExceeded { limit: usize },
    /// More attributes on one element than [`super::ParseLimits::max_attributes_per_element`].
    #[error("element at offset {offset} has more than the limit of {limit} attributes")]
    AttributeLimitExceeded { limit: usize, offset: usize },

    // ------------------------------------------------------ signature structure
    /// The node handed in is not an element of this document.
    #[error("node is not an element of this document")]
    NotAnElement,
    /// The element to verify (or sign) carries no usable ID attribute.
    #[error("element <{element}> has no non-empty {attribute:?} attribute to be referenced by")]
    MissingIdAttribute {
        element: String,
        attribute: &'static str,
    },
    /// An ID value occurs more than once in the document (signature wrapping indicator).
    #[error(
        "ID value {id:?} occurs {count} times in the document (ID/Id/id attributes); IDs must be unique"
    )]
    DuplicateId { id: String, count: usize },
    /// The element has no direct-child ds:Signature.
    #[error(
        "element <{element}> has no direct-child ds:Signature (namespace http://www.w3.org/2000/09/xmldsig#)"
    )]
    MissingSignature { element: String },
    /// The element has more than one direct-child ds:Signature.
    #[error(
        "element <{element}> has {count} direct-child ds:Signature elements; exactly one is allowed"
    )]
    MultipleSignatures { element: String, count: usize },
    /// Something other than the expected element inside the signature structure.
    #[error("inside ds:{parent}: expected {expected}, found {got}")]
    UnexpectedSignatureContent {
        parent: &'static str,
        expected: &'static str,
        got: String,
    },
    /// A required attribute of a signature element is missing.
    #[error("ds:{element} has no {attribute} attribute")]
    MissingSignatureAttribute {
        element: &'static str,
        attribute: &'static str,
    },
    /// SignedInfo must contain exactly one Reference.
    #[error("ds:SignedInfo contains {count} ds:Reference elements; exactly one is required")]
    ReferenceCount { count: usize },
    /// The Reference does not point at the element being verified.
    #[error(
        "ds:Reference URI is {got:?}; it must be exactly {expected:?} (the verified element's own ID)"
    )]
    ReferenceUriMismatch {
        expected: String,
        got: Option<String>,
    },
    /// A text-only field (DigestValue, SignatureValue, X509Certificate, NameID...)
    /// contains a comment, processing instruction or element.
    #[error("<{element}> must contain only text, but contains a {found}")]
    NotPlainText {
        element: String,
        found: &'static str,
    },
    /// A base64 field does not decode.
    #[error("ds:{element} is not valid base64")]
    InvalidBase64 { element: &'static str },
    /// The Reference lacks the enveloped-signature transform.
    #[error(
        "ds:Reference has no enveloped-signature transform; only enveloped signatures are accepted"
    )]
    MissingEnvelopedTransform,
    /// The transforms are individually allowed but not in an allowed combination.
    #[error("ds:Transforms not accepted: {detail}")]
    TransformChain { detail: String },

    // ---------------------------------------------------------------- unsupported
    /// A transform other than enveloped-signature and the four c14n algorithms.
    #[error(
        "transform {algorithm:?} is not supported (allowed: enveloped-signature, exclusive or inclusive c14n 1.0)"
    )]
    UnsupportedTransform { algorithm: String },
    /// A canonicalization algorithm other than c14n 1.0 / exc-c14n 1.0.
    #[error("canonicalization method {algorithm:?} is not supported")]
    UnsupportedCanonicalization { algorithm: String },
    /// A signature algorithm outside RSA-SHA2 / ECDSA-SHA256/384 (/ RSA-SHA1 when allowed).
    #[error("signature method {algorithm:?} is not supported")]
    UnsupportedSignatureAlgorithm { algorithm: String },
    /// A digest algorithm outside SHA-2 (/ SHA-1 when allowed).
    #[error("digest method {algorithm:?} is not supported")]
    UnsupportedDigestAlgorithm { algorithm: String },
    /// SHA-1 based algorithm while `VerifyOptions::allow_sha1` is false.
    #[error("{algorithm:?} uses SHA-1, which is refused unless VerifyOptions::allow_sha1 is set")]
    Sha1NotAllowed { algorithm: String },
    /// A certificate's public key type or size is not supported.
    #[error("trusted certificate #{index}: unsupported public key: {detail}")]
    UnsupportedKey { index: usize, detail: String },

    // ------------------------------------------------------------------ untrusted
    /// The KeyInfo carries a certificate that is not among the trusted ones.
    #[error(
        "ds:KeyInfo certificate (SHA-256 fingerprint {sha256_fingerprint}) is not among the trusted certificates; KeyInfo can only select a trusted certificate"
    )]
    UntrustedKeyInfoCertificate { sha256_fingerprint: String },
    /// No trusted key matches the signature algorithm.
    #[error("no trusted key can check a {algorithm:?} signature: {detail}")]
    NoUsableKey { algorithm: String, detail: String },
    /// The SignatureValue does not verify under any candidate key.
    #[error(
        "ds:SignatureValue does not verify ({algorithm:?}) under any of the {keys_tried} candidate trusted key(s)"
    )]
    SignatureInvalid {
        algorithm: String,
        keys_tried: usize,
    },
    /// The referenced content does not hash to DigestValue (content was altered).
    #[error(
        "digest of the content referenced by {reference:?} does not match ds:DigestValue ({algorithm}): the signed content was altered"
    )]
    DigestMismatch {
        reference: String,
        algorithm: &'static str,
    },

    // -------------------------------------------------------------- configuration
    /// `TrustedKeys` built from zero certificates.
    #[error("no trusted certificates were supplied")]
    NoTrustedKeys,
    /// A trusted certificate does not parse.
    #[error("trusted certificate #{index} is not a valid DER X.509 certificate: {detail}")]
    InvalidCertificate { index: usize, detail: String },
    /// An RSA key below the minimum size.
    #[error(
        "trusted certificate #{index} has an RSA key of {bits} bits; at least {minimum} bits are required"
    )]
    WeakRsaKey {
        index: usize,
        bits: usize,
        minimum: usize,
    },
    /// The private key for signing is unusable (reason only, never key bytes).
    #[error("signing key rejected: {reason}")]
    InvalidSigningKey { reason: String },
    /// The signing certificate does not belong to the signing key.
    #[error("signing certificate does not contain the public key of the signing key")]
    SigningCertificateMismatch,
    /// The element to sign already has a direct-child ds:Signature.
    #[error("element with ID {id:?} already has a ds:Signature child")]
    AlreadySigned { id: String },
    /// No element carries the requested ID.
    #[error("no element has {attribute}={id:?}")]
    ElementNotFound { attribute: &'static str, id: String },
    /// A signing option is unusable.
    #[error("invalid signing option: {detail}")]
    InvalidSignOption { detail: String },
    /// Signing failed or the freshly produced signature did not verify.
    #[error("signing failed: {detail}")]
    SigningFailed { detail: String },
}

impl XmlDsigError {
    /// Which group of failures this error belongs to.
    pub fn category(&self) -> ErrorCategory {
        use XmlDsigError as E;
        match self {
            E::InputTooLarge { .. }
            | E::InvalidUtf8 { .. }
            | E::InvalidCharacter { .. }
            | E::UnsupportedEncoding { .. }
            | E::UnsupportedXmlVersion { .. }
            | E::DoctypeForbidden { .. }
            | E::UndefinedEntity { .. }
            | E::Syntax { .. }
            | E::MismatchedTag { .. }
            | E::UnclosedElement { .. }
            | E::UndeclaredPrefix { .. }
            | E::InvalidNamespaceDeclaration { .. }
            | E::DuplicateAttribute { .. }
            | E::MultipleRoots { .. }
            | E::NoRootElement
            | E::ContentOutsideRoot { .. }
            | E::DepthLimitExceeded { .. }
            | E::NodeLimitExceeded { .. }
            | E::AttributeLimitExceeded { .. } => ErrorCategory::Malformed,
            E::NotAnElement
            | E::MissingIdAttribute { .. }
            | E::DuplicateId { .. }
            | E::MissingSignature { .. }
            | E::MultipleSignatures { .. }
            | E::UnexpectedSignatureContent { .. }
            | E::MissingSignatureAttribute { .. }
            | E::ReferenceCount { .. }
            | E::ReferenceUriMismatch { .. }
            | E::NotPlainText { .. }
            | E::InvalidBase64 { .. }
            | E::MissingEnvelopedTransform
            | E::TransformChain { .. } => ErrorCategory::InvalidSignature,
            E::UnsupportedTransform { .. }
            | E::UnsupportedCanonicalization { .. }
            | E::UnsupportedSignatureAlgorithm { .. }
            | E::UnsupportedDigestAlgorithm { .. }
            | E::Sha1NotAllowed { .. }
            | E::UnsupportedKey { .. } => ErrorCategory::Unsupported,
            E::UntrustedKeyInfoCertificate { .. }
            | E::NoUsableKey { .. }
            | E::SignatureInvalid { .. }
            | E::DigestMismatch { .. } => ErrorCategory::Untrusted,
            E::NoTrustedKeys
            | E::InvalidCertificate { .. }
            | E::WeakRsaKey { .. }
            | E::InvalidSigningKey { .. }
            | E::SigningCertificateMismatch
            | E::AlreadySigned { .. }
            | E::ElementNotFound { .. }
            | E::InvalidSignOption { .. }
            | E::SigningFailed { .. } => ErrorCategory::Configuration,
        }
    }
}
