//! The one integration-test binary (linked once). Modules:
//! - `store`: the Store contract suite, on SQLite always and on PostgreSQL when
//!   `RAMBRIDGE_TEST_POSTGRES_URL` is set (CI sets it; `RAMBRIDGE_REQUIRE_POSTGRES=1` makes its
//!   absence a failure instead of a loud skip).
//! - `server`: drives the real `rambridge` binary over HTTP and its CLI.
//! - `cli_login`: the server side of `rambridge login` in process; `login`: the CLI itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli_login;
mod common;
mod login;
mod oidc;
mod policy_conformance;
mod policy_props;
mod saml;
mod server;
mod store;
mod xmldsig;
