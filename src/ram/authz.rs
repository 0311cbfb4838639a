//! Authorization of API calls by RAM users: gather the policies that apply (the user's own and
//! its groups', System and Custom), evaluate them with the policy engine, and report the
//! decision. The account root is not evaluated: it may do anything in its own account.
//!
//! Hot path (docs/performance.md): the attached policies come from the store's cached view
//! (`store::CACHE_TTL_MS`), and documents are parsed once per text ([`policy::parse_shared`]);
//! System policies are used as parsed at start-up.

use std::sync::Arc;

use super::RamError;
use super::policies::system_policy;
use crate::policy::{
    self, Context, Decision, DocumentKind, MAX_CUSTOM_POLICY_CHARS, PolicyDocument, Request,
};
use crate::store::{Cached, EffectivePolicy};

/// The parsed documents of some effective policies: System ones borrowed from the built-in
/// set, custom ones shared from the parse cache.
#[derive(Default)]
pub struct Documents {
    system: Vec<&'static PolicyDocument>,
    custom: Vec<Arc<PolicyDocument>>,
}

impl Documents {
    /// Every document, for [`policy::evaluate`].
    pub fn refs(&self) -> Vec<&PolicyDocument> {
        let mut refs: Vec<&PolicyDocument> = Vec::with_capacity(self.len());
        refs.extend(self.system.iter().copied());
        refs.extend(self.custom.iter().map(|d| &**d));
        refs
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.system.len() + self.custom.len()
    }

    /// True when no policy applies.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Loads and parses the documents of `effective` policies. A stored custom document always
/// parsed when it was written; one that no longer parses (a rule tightened since) is skipped
/// with an error log, which can only remove permissions.
pub fn documents(effective: &[EffectivePolicy]) -> Documents {
    let mut docs = Documents::default();
    for p in effective {
        match (p.policy_type.as_str(), &p.document) {
            ("System", _) => match system_policy(&p.policy_name) {
                Some(sp) => docs.system.push(&sp.parsed),
                None => tracing::warn!(policy = %p.policy_name, "unknown System policy attached"),
            },
            (_, Some(text)) => {
                match policy::parse_shared(text, DocumentKind::Permission, MAX_CUSTOM_POLICY_CHARS)
                {
                    Ok(d) => docs.custom.push(d),
                    Err(e) => {
                        tracing::error!(policy = %p.policy_name, error = %e, "stored policy does not parse")
                    }
                }
            }
            (_, None) => {
                tracing::warn!(policy = %p.policy_name, "custom policy without a default version")
            }
        }
    }
    docs
}

/// Decides whether RAM user `user_id` of `account_id` may perform `action` on `resource`.
pub async fn decide_for_user(
    store: &Cached<'_>,
    account_id: &str,
    user_id: &str,
    action: &str,
    resource: &str,
    context: &Context,
) -> Result<Decision, RamError> {
    let effective = store
        .effective_policies_for_user(account_id, user_id)
        .await?;
    let docs = documents(&effective);
    Ok(policy::evaluate(
        &docs.refs(),
        &Request {
            action,
            resource,
            context,
            principals: &[],
        },
    ))
}

/// Decides for a role session: the role's current policies intersected with the session policy
/// (DESIGN.md: a role session is limited by both). Role policy changes apply on the next call
/// (on another replica within `store::CACHE_TTL_MS`).
pub async fn decide_for_role(
    store: &Cached<'_>,
    account_id: &str,
    role_id: &str,
    session_policy: Option<&str>,
    action: &str,
    resource: &str,
    context: &Context,
) -> Result<Decision, RamError> {
    let effective = store
        .effective_policies_for_role(account_id, role_id)
        .await?;
    let docs = documents(&effective);
    // The session policy was validated when the token was issued; one that no longer parses
    // fails closed (nothing is allowed).
    let session = match session_policy {
        Some(text) => Some(
            policy::parse_shared(
                text,
                DocumentKind::Permission,
                policy::MAX_SESSION_POLICY_CHARS,
            )
            .map_err(RamError::MalformedPolicy)?,
        ),
        None => None,
    };
    Ok(policy::evaluate_with_session(
        &docs.refs(),
        session.as_deref(),
        &Request {
            action,
            resource,
            context,
            principals: &[],
        },
    ))
}
