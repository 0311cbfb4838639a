//! SAML: the adversarial corpus against `saml::validate_response`.

mod attacks;
mod encrypted;
mod xmlsec1;
