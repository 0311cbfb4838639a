//! STS action handlers (spec §4) and the decision endpoint for resource servers
//! (`AuthorizeRequest`, docs/sts.md): thin mapping between parameters, the `sts` domain and the
//! response shapes.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::auth::resolve;
use super::authorize::{decide, request_context};
use super::dispatch::ActionContext;
use super::error::{ApiError, from_federation, from_ram, from_sts};
use crate::crypto;
use crate::policy::Outcome;
use crate::principal::Principal;
use crate::store::AuditEvent;
use crate::sts::federation::{self, ProviderArn, SamlInput, SpSettings};
use crate::sts::{self, AssumeRoleInput, Minted};

type Reply = Result<Map<String, Value>, ApiError>;

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn caller<'a>(ctx: &'a ActionContext<'_>) -> Result<&'a crate::principal::Caller, ApiError> {
    ctx.caller
        .ok_or_else(|| ApiError::internal(ctx.request_id, &"signed action without caller"))
}

/// `GetCallerIdentity` (STS 2015-04-01): who signed this request. Any authenticated caller may
/// call it; no permission is required (as at Alibaba).
pub async fn get_caller_identity(ctx: &ActionContext<'_>) -> Reply {
    let caller = caller(ctx)?;
    let arn = caller.principal.arn();
    let body = match &caller.principal {
        Principal::Root { account_id } => json!({
            "AccountId": account_id, "Arn": arn, "IdentityType": "Account",
            "PrincipalId": account_id, "UserId": account_id,
        }),
        Principal::User {
            account_id,
            user_id,
            ..
        } => json!({
            "AccountId": account_id, "Arn": arn, "IdentityType": "RAMUser",
            "PrincipalId": user_id, "UserId": user_id,
        }),
        Principal::RoleSession {
            account_id,
            role_id,
            session_name,
            ..
        } => json!({
            "AccountId": account_id, "Arn": arn, "IdentityType": "AssumedRoleUser",
            "PrincipalId": format!("{role_id}:{session_name}"), "RoleId": role_id,
        }),
    };
    Ok(obj(body))
}

/// The `Credentials` + `AssumedRoleUser` body shared by every AssumeRole* action.
pub fn credentials_body(m: &Minted) -> Map<String, Value> {
    let c = &m.claims;
    let mut body = obj(json!({
        "Credentials": {
            "AccessKeyId": c.access_key_id,
            "AccessKeySecret": m.secret,
            "SecurityToken": m.token,
            "Expiration": c.expiration(),
        },
        "AssumedRoleUser": {
            "Arn": format!("acs:ram::{}:role/{}/{}", c.account_id, c.role_name, c.session_name),
            "AssumedRoleId": format!("{}:{}", c.role_id, c.session_name),
        },
    }));
    if let Some(si) = &c.source_identity {
        body.insert("SourceIdentity".into(), Value::String(si.clone()));
    }
    body
}

/// `AssumeRole` (`sts:AssumeRole` on the role ARN, plus the role's trust policy).
pub async fn assume_role(ctx: &ActionContext<'_>) -> Reply {
    let caller = caller(ctx)?;
    let p = ctx.params;
    let input = AssumeRoleInput {
        role_arn: p.required("RoleArn")?,
        session_name: p.required("RoleSessionName")?,
        duration: p.get("DurationSeconds"),
        policy: p.get("Policy"),
        external_id: p.get("ExternalId"),
        source_identity: p.get("SourceIdentity"),
    };
    let context = request_context(ctx.state, &caller.access_key_id, None, false);
    let role_account = sts::RoleArn::parse(input.role_arn)
        .map_err(|e| from_sts(ctx.request_id, e))?
        .account_id;
    ctx.state.check_issue_rate(&role_account)?;
    let state = ctx.state;
    let minted = sts::assume_role(
        &state.store,
        &state.keys,
        state.clock.as_ref(),
        &caller.principal,
        &context,
        &input,
    )
    .await
    .map_err(|e| from_sts(ctx.request_id, e))?;
    Ok(credentials_body(&minted))
}

/// `AuthorizeRequest` (`sts:AuthorizeRequest`, rambridge extension; docs/sts.md): a resource
/// server that accepts rambridge credentials forwards the client's signature material and the
/// request it wants to serve; rambridge verifies the signature with the stored or derived
/// secret and evaluates the client principal's policies (and session policy).
pub async fn authorize_request(ctx: &ActionContext<'_>) -> Reply {
    let p = ctx.params;
    let ak = p.required("ClientAccessKeyId")?;
    let token = p.get("ClientSecurityToken").filter(|t| !t.is_empty());
    let string_to_sign = p.required("ClientStringToSign")?;
    let signature = p.required("ClientSignature")?;
    let method = p.get("ClientSignatureMethod").unwrap_or("HMAC-SHA1");
    let action = p.required("RequestAction")?;
    let resource = p.required("RequestResource")?;
    let ip = match p.get("RequestSourceIp").filter(|v| !v.is_empty()) {
        Some(v) => Some(v.parse().map_err(|_| {
            ApiError::invalid_parameter("RequestSourceIp", format!("{v:?} is not an IP address."))
        })?),
        None => None,
    };
    let secure = crate::ram::validate::boolean(
        "RequestSecureTransport",
        p.get("RequestSecureTransport"),
        false,
    )
    .map_err(|e| from_ram(ctx.request_id, e))?;

    let (principal, secret) = resolve(ctx.state, ak, token, ctx.request_id).await?;
    let valid = match method {
        "HMAC-SHA1" => {
            let tag = base64::engine::general_purpose::STANDARD
                .decode(signature)
                .unwrap_or_default();
            crypto::hmac_sha1_verify(
                format!("{secret}&").as_bytes(),
                string_to_sign.as_bytes(),
                &tag,
            )
        }
        "ACS3-HMAC-SHA256" => {
            let tag = hex::decode(signature.to_ascii_lowercase()).unwrap_or_default();
            crypto::hmac_sha256_verify(secret.as_bytes(), string_to_sign.as_bytes(), &tag)
        }
        other => {
            return Err(ApiError::invalid_parameter(
                "ClientSignatureMethod",
                format!("{other:?} is not supported; use HMAC-SHA1 or ACS3-HMAC-SHA256."),
            ));
        }
    };
    let mut body = obj(json!({
        "Principal": {
            "Arn": principal.arn(),
            "AccountId": principal.account_id(),
        },
    }));
    if !valid {
        body.insert("Decision".into(), json!("Deny"));
        body.insert("Reason".into(), json!("SignatureDoesNotMatch"));
        return Ok(body);
    }
    let context = request_context(ctx.state, ak, ip, secure);
    let decision = decide(ctx.state, &principal, action, resource, &context)
        .await
        .map_err(|e| from_ram(ctx.request_id, e))?;
    let (allowed, reason, statement) = match &decision {
        None => (true, "AccountRoot".to_string(), None),
        Some(d) => (
            d.is_allowed(),
            match d.outcome {
                Outcome::Allow => "Allow",
                Outcome::ExplicitDeny => "ExplicitDeny",
                Outcome::ImplicitDeny => "ImplicitDeny",
            }
            .to_string(),
            d.deciding,
        ),
    };
    body.insert(
        "Decision".into(),
        json!(if allowed { "Allow" } else { "Deny" }),
    );
    body.insert("Reason".into(), json!(reason));
    if let Some(st) = statement {
        body.insert(
            "DecidingStatement".into(),
            json!({ "PolicyIndex": st.policy, "StatementIndex": st.statement }),
        );
    }
    Ok(body)
}

/// `AssumeRoleWithSAML` (anonymous; spec §4.1, §8.1): a signed SAML Response from a registered
/// provider becomes role credentials. Every attempt, accepted or not, is audited with the
/// provider, NameID, reason and source IP.
pub async fn assume_role_with_saml(ctx: &ActionContext<'_>) -> Reply {
    let p = ctx.params;
    let input = SamlInput {
        provider_arn: p.required("SAMLProviderArn")?,
        role_arn: p.required("RoleArn")?,
        assertion_b64: p.required("SAMLAssertion")?,
        duration: p.get("DurationSeconds"),
        policy: p.get("Policy"),
    };
    if !(4..=100_000).contains(&input.assertion_b64.len()) {
        return Err(ApiError::invalid_parameter(
            "SAMLAssertion",
            "SAMLAssertion must be 4 to 100000 characters of base64.",
        ));
    }
    let state = ctx.state;
    let account = ProviderArn::parse(input.provider_arn).map(|a| a.account_id);
    if let Some(account) = &account {
        state.check_issue_rate(account)?;
    }
    let sp = SpSettings {
        entity_id: &state.saml.role_entity_id,
        acs_url: &state.saml.role_acs_url,
        skew: chrono::Duration::seconds(i64::from(state.config.saml_clock_skew_seconds)),
        decryption_key: state.saml.key.as_deref(),
        sha1_providers: &state.config.danger_saml_sha1_providers,
    };
    let mut subject = String::new();
    let result = federation::assume_role_with_saml(
        &state.store,
        &state.keys,
        state.clock.as_ref(),
        &sp,
        &input,
        &mut subject,
    )
    .await
    .map_err(|e| from_federation(ctx.request_id, e));
    let reason = match &result {
        Ok(_) => "Success".to_string(),
        Err(e) => e.code.to_string(),
    };
    if let Some(account) = account {
        audit(
            ctx,
            &account,
            "AssumeRoleWithSAML",
            input.provider_arn,
            &subject,
            &reason,
        )
        .await;
    }
    let session = result?;
    let a = &session.assertion;
    let mut body = credentials_body(&session.minted);
    body.insert(
        "SAMLAssertionInfo".into(),
        json!({
            "SubjectType": a.subject_type(),
            "Subject": a.name_id,
            "Recipient": a.recipient,
            "Issuer": a.issuer,
        }),
    );
    Ok(body)
}

/// Writes a sign-in audit event; a failure to write is logged, never hides the outcome.
pub(super) async fn audit(
    ctx: &ActionContext<'_>,
    account: &str,
    event: &str,
    provider: &str,
    subject: &str,
    reason: &str,
) {
    let e = AuditEvent {
        id: ctx.request_id.to_string(),
        account_id: account.to_string(),
        at: ctx.state.clock.now_ms(),
        event: event.to_string(),
        provider: provider.to_string(),
        subject: subject.to_string(),
        outcome: if reason == "Success" {
            "Success"
        } else {
            "Failure"
        }
        .to_string(),
        reason: reason.to_string(),
        source_ip: ctx.client.ip.map(|i| i.to_string()).unwrap_or_default(),
    };
    if let Err(err) = ctx.state.store.record_audit(&e).await {
        tracing::error!(request_id = ctx.request_id, error = %err, "audit write failed");
    }
}
