//! XML Signature (XML-DSig) for SAML 2.0: a strict XML parser, Canonical XML
//! and Exclusive XML Canonicalization, enveloped-signature verification of
//! one element, and enveloped RSA-SHA256 signing.
//!
//! # What this module owns
//!
//! * [`dom`]: the only XML parser used on untrusted SAML input. It refuses
//!   DTDs of any kind, unknown entities, undeclared prefixes, duplicate
//!   attributes, non-UTF-8 input and oversized or over-deep documents
//!   ([`ParseLimits`]).
//! * [`c14n`]: Canonical XML 1.0 and Exclusive XML Canonicalization 1.0, each
//!   with and without comments, over "one element minus one descendant".
//! * [`verify`]: [`verify_element`], which returns the proof type
//!   [`VerifiedXml`].
//! * [`sign`]: [`sign_element`] (RSA-SHA256, exc-c14n, SHA-256).
//!
//! # Invariants (what defeats the known SAML signature attacks)
//!
//! 1. **The verified thing is the thing read.** Callers get content only
//!    through [`VerifiedXml`], a view of exactly the element whose digest was
//!    checked, without the enveloped Signature and with no way up to its
//!    parent or siblings. Signature wrapping (XSW 1-8 of "On Breaking SAML",
//!    2012) needs the verifier and the reader to look at different elements;
//!    here they cannot.
//! 2. **One element, one signature, one reference, to itself.** The element
//!    has exactly one direct-child `ds:Signature` (matched by namespace URI,
//!    never by prefix); SignedInfo holds exactly one Reference whose URI is
//!    exactly `#` + the element's own ID; every ID/Id/id value in the document
//!    is unique; only the enveloped-signature transform and at most one c14n
//!    transform are accepted (no XPath, XSLT, Filter 2.0, base64).
//! 3. **KeyInfo never adds trust.** Keys come only from [`TrustedKeys`]
//!    (IdP metadata). A KeyInfo certificate can only *select* one of them, by
//!    byte-equal DER; any other certificate is an error.
//! 4. **No parser differentials on text.** [`Element::text`] returns the
//!    concatenation of all text children, so a comment cannot truncate a
//!    value (the 2018 comment-truncation bugs); [`Element::text_strict`]
//!    refuses comments/PIs/elements in fields such as DigestValue,
//!    SignatureValue and NameID.
//! 5. **Modern algorithms only by default**: RSA-SHA256/384/512 (RSA keys of
//!    2048+ bits), ECDSA P-256/SHA-256 and P-384/SHA-384 (raw r||s);
//!    SHA-1 only with [`VerifyOptions::allow_sha1`]. Digests are compared in
//!    constant time.
//!
//! # Specifications
//!
//! * XML Signature Syntax and Processing 1.1 (W3C REC 2013-04-11): enveloped
//!   signature transform (6.6.4), same-document references (4.4.3.3:
//!   a bare-name `#id` reference excludes comments), default c14n of a
//!   node-set (4.4.3.2), ECDSA signature value format (6.4.3).
//! * Canonical XML 1.0 (W3C REC 2001-03-15) and Exclusive XML
//!   Canonicalization 1.0 (W3C REC 2002-07-18), InclusiveNamespaces PrefixList.
//! * XML 1.0 (5th ed.) line-end handling (2.11) and attribute-value
//!   normalization (3.3.3); Namespaces in XML 1.0 (3rd ed.).

pub mod c14n;
pub mod dom;
pub mod error;
pub mod fuzzing;
pub mod sign;
mod tag;
pub mod verify;

pub use c14n::{C14nAlgorithm, C14nParams, canonicalize, canonicalize_into};
pub use dom::{Attribute, Children, Document, Element, Node, NodeId, ParseLimits};
pub use error::{ErrorCategory, XmlDsigError};
pub use sign::{SignOptions, SigningKey, sign_element};
pub use verify::{
    DigestAlgorithm, SignatureAlgorithm, TrustedKeys, VerifiedElement, VerifiedNode, VerifiedXml,
    VerifyOptions, verify_element,
};

#[cfg(test)]
mod tests;
