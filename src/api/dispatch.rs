//! Dispatch on `(Version, Action)`, never on `Action` alone: RAM and IMS share many action
//! names with different parameters (spec §1.1).

use serde_json::{Map, Value};

use super::error::ApiError;
use super::sts;
use crate::AppState;
use crate::principal::Caller;

/// The products served on the one endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    /// STS, `2015-04-01`.
    Sts,
    /// RAM, `2015-05-01`.
    Ram,
    /// IMS, `2019-08-15`.
    Ims,
}

impl Product {
    /// The product an API `Version` names.
    pub fn from_version(version: &str) -> Option<Product> {
        match version {
            "2015-04-01" => Some(Product::Sts),
            "2015-05-01" => Some(Product::Ram),
            "2019-08-15" => Some(Product::Ims),
            _ => None,
        }
    }

    /// The `HostId` of error envelopes (spec §3.1).
    pub fn host_id(self) -> &'static str {
        match self {
            Product::Sts => "sts.aliyuncs.com",
            Product::Ram => "ram.aliyuncs.com",
            Product::Ims => "ims.aliyuncs.com",
        }
    }
}

/// Every action rambridge serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// STS `GetCallerIdentity`.
    StsGetCallerIdentity,
}

impl Action {
    /// Looks up an action of a product.
    pub fn lookup(product: Product, name: &str) -> Option<Action> {
        match (product, name) {
            (Product::Sts, "GetCallerIdentity") => Some(Action::StsGetCallerIdentity),
            _ => None,
        }
    }

    /// The wire name (also the metrics label).
    pub fn name(self) -> &'static str {
        match self {
            Action::StsGetCallerIdentity => "GetCallerIdentity",
        }
    }

    /// Whether the action is called without credentials (spec §2.1 step 1).
    pub fn is_anonymous(self) -> bool {
        false
    }
}

/// What an action handler gets.
pub struct ActionContext<'a> {
    /// Application state.
    pub state: &'a AppState,
    /// The authenticated caller (`None` only for anonymous actions).
    pub caller: Option<&'a Caller>,
    /// Request parameters.
    pub params: &'a super::params::Params,
    /// This request's id.
    pub request_id: &'a str,
}

/// Runs an action; the map becomes the response body (RequestId is added by the caller).
pub async fn execute(
    action: Action,
    ctx: &ActionContext<'_>,
) -> Result<Map<String, Value>, ApiError> {
    match action {
        Action::StsGetCallerIdentity => sts::get_caller_identity(ctx),
    }
}
