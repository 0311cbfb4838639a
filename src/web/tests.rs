//! In-process tests of the browser routes.
