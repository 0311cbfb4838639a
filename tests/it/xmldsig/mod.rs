//! `rambridge::xmldsig`: canonicalization against golden data (libxml2 and xmlsec1), verification
//! of the shared SAML fixtures, the signature-attack corpus, signing, and properties.

mod attacks;
mod c14n;
mod common;
mod props;
mod sign;
mod verify;
