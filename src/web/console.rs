//! `GET /console`: who you are (user principal name, or role ARN and session name), the account,
//! when the session expires; for role sessions the temporary credentials and a ready-made aliyun
//! CLI profile. `POST /logout` ends the session (CSRF-checked).

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use serde::Deserialize;

use super::error::{AuditCtx, WebError, audit, fail, respond};
use super::pages::{ConsolePage, RoleView, SignedOutPage, render};
use super::session::{self, KIND_ROLE, RoleCredentials, SESSION_COOKIE};
use super::{client_ip, csrf, see_other};
use crate::AppState;
use crate::clock::format_iso8601;

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(format_iso8601)
        .unwrap_or_default()
}

/// The aliyun CLI commands that store `c` as a profile (StsToken mode).
pub fn cli_snippet(profile: &str, c: &RoleCredentials) -> String {
    format!(
        "# valid until {}\naliyun configure set --profile {profile} --mode StsToken \\\n  --region cn-hangzhou \\\n  --access-key-id {} \\\n  --access-key-secret {} \\\n  --sts-token {}\n",
        iso(c.expires_at_ms),
        c.access_key_id,
        c.access_key_secret,
        c.security_token,
    )
}

/// `GET /console`.
pub async fn console(State(state): State<AppState>, parts: Parts) -> Response {
    let ctx = AuditCtx {
        event: "Console",
        source_ip: client_ip(&state, &parts),
        ..AuditCtx::default()
    };
    let result = async {
        let Some(s) = session::current(&state, &parts.headers).await? else {
            return Ok(see_other("/login", &[]));
        };
        let account = state
            .store
            .find_account(&s.account_id)
            .await?
            .ok_or_else(|| WebError::UnknownAccount(s.account_id.clone()))?;
        let role = if s.kind == KIND_ROLE {
            let c = session::credentials(&state, &s)
                .ok_or_else(|| WebError::Internal("role session credentials missing".into()))?;
            let profile: String = format!("rambridge-{}", s.display_name)
                .chars()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() || ch == '-' {
                        ch
                    } else {
                        '-'
                    }
                })
                .collect();
            Some(RoleView {
                role_arn: s.principal.clone(),
                session_name: s.display_name.clone(),
                cli_snippet: cli_snippet(&profile, &c),
                expiration: iso(c.expires_at_ms),
                access_key_id: c.access_key_id,
                access_key_secret: c.access_key_secret,
                security_token: c.security_token,
            })
        } else {
            None
        };
        Ok::<_, WebError>(render(
            StatusCode::OK,
            &ConsolePage {
                principal: &s.display_name,
                role,
                account_id: &account.id,
                account_alias: &account.alias,
                created: iso(s.created_at),
                source_ip: &s.source_ip,
                expires: iso(s.expires_at),
                csrf: &s.csrf_token,
            },
        ))
    }
    .await;
    respond(&state, &ctx, result).await
}

/// The sign-out form.
#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    csrf: Option<String>,
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<AppState>,
    parts: Parts,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Response {
    let mut ctx = AuditCtx {
        event: "SignOut",
        source_ip: client_ip(&state, &parts),
        ..AuditCtx::default()
    };
    let result = async {
        let Form(f) = form.map_err(|_| WebError::MissingField("csrf"))?;
        let Some(s) = session::current(&state, &parts.headers).await? else {
            return Ok(None);
        };
        ctx.account_id.clone_from(&s.account_id);
        ctx.subject.clone_from(&s.display_name);
        if !csrf::matches(&s.csrf_token, f.csrf.as_deref())
            || !csrf::same_origin(&parts.headers, &state.public_url)
        {
            return Err(WebError::Csrf);
        }
        state.store.delete_web_session(&s.id_hash).await?;
        audit(&state, &ctx, "Success").await;
        Ok::<_, WebError>(Some(()))
    }
    .await;
    match result {
        Ok(_) => {
            let mut r = render(StatusCode::OK, &SignedOutPage);
            r.headers_mut().append(
                axum::http::header::SET_COOKIE,
                session::clear_cookie(SESSION_COOKIE, session::secure(&state)),
            );
            r
        }
        Err(e) => fail(&state, &ctx, &e).await,
    }
}
