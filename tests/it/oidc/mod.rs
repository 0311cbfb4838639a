//! OIDC against the real binary: an in-process HTTPS issuer (rcgen certificate, tokio-rustls)
//! serving discovery and JWKS on 127.0.0.1, the attack matrix of AssumeRoleWithOIDC with one
//! code per refusal, TLS pinning, the second-issuer cases, and the JWKS refresh policy.

mod attacks;
mod issuer;
mod refresh;
mod setup;
