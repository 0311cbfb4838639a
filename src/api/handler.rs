//! What the RAM, IMS and OIDC-provider handlers share: the caller's account scope, the
//! mapping of domain errors to the wire envelope, and the wire date format.

use serde_json::{Map, Value};

use super::dispatch::ActionContext;
use super::error::{ApiError, from_ram};
use crate::clock::format_iso8601;
use crate::ram::{RamError, Scope};

/// A handler's result: the response body or the error envelope.
pub(super) type Reply = Result<Map<String, Value>, ApiError>;

/// The signed caller's account, as the domain modules take it.
pub(super) fn scope<'a>(ctx: &'a ActionContext<'a>) -> Result<Scope<'a>, ApiError> {
    let caller = ctx
        .caller
        .ok_or_else(|| ApiError::internal(ctx.request_id, &"signed action without caller"))?;
    Ok(Scope {
        store: &ctx.state.store,
        keys: &ctx.state.keys,
        clock: ctx.state.clock.as_ref(),
        account_id: caller.principal.account_id(),
    })
}

/// Maps a domain error to its envelope, carrying the request id.
pub(super) fn ram<'a>(ctx: &'a ActionContext<'_>) -> impl Fn(RamError) -> ApiError + 'a {
    move |e| from_ram(ctx.request_id, e)
}

/// Epoch milliseconds as the wire's ISO 8601 date (empty when out of range).
pub(super) fn date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(format_iso8601)
        .unwrap_or_default()
}
