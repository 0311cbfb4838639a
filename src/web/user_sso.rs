//! User-based SSO and sign-in pages (spec §8.2): `POST /saml/sso` accepts a response for an
//! account's user SP (`<public_url>/<accountId>/saml/SSO`), maps its verified NameID to an
//! enabled RAM user of that account, and opens a console session. `GET /login` asks for the
//! account alias; `GET /login/<alias>` sends an SP-initiated AuthnRequest when the account has
//! user SSO enabled, and shows the password form otherwise (`POST /login/<alias>`), which is
//! refused while SSO is enabled.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::{AuditCtx, WebError, audit, fail, respond};
use super::pages::{LoginPage, PasswordPage, render};
use super::session::{self, KIND_USER, LOGIN_CSRF_COOKIE, NewSession, STATE_COOKIE};
use super::{AcsForm, authn_request, client_ip, csrf, redirect_after_sign_in, see_other};
use crate::AppState;
use crate::ram::Scope;
use crate::ram::console_login::{SignInError, password_sign_in};
use crate::ram::identities::principal_name;
use crate::saml::user_sso::{self, map_name_id};
use crate::saml::{Expectations, peek, response};
use crate::store::{Account, User};
use crate::sts::federation::{FederationError, SpSettings, consume_assertion, trusted_keys};

/// The account id a user-SSO Audience names: `<public_url>/<16 digits>/saml/SSO`.
pub fn account_of_audience(public_url: &str, audience: &str) -> Option<String> {
    let id = audience
        .strip_prefix(public_url)?
        .strip_prefix('/')?
        .strip_suffix("/saml/SSO")?;
    (id.len() == 16 && id.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_string())
}

/// `POST /saml/sso`.
pub async fn acs(
    State(state): State<AppState>,
    parts: Parts,
    form: Result<Form<AcsForm>, FormRejection>,
) -> Response {
    let mut ctx = AuditCtx {
        event: "UserSSO",
        source_ip: client_ip(&state, &parts),
        ..AuditCtx::default()
    };
    let result = match AcsForm::accept(form) {
        Ok(f) => user_acs(&state, &f, &mut ctx).await,
        Err(e) => Err(e),
    };
    respond(&state, &ctx, result).await
}

async fn user_acs(
    state: &AppState,
    form: &AcsForm,
    ctx: &mut AuditCtx,
) -> Result<Response, WebError> {
    let xml = form.response_xml()?;
    // Routing only: the Audience names the account; validation then requires exactly it.
    let audiences = peek::audiences(&xml);
    let account_id = audiences
        .iter()
        .find_map(|a| account_of_audience(&state.public_url, a))
        .ok_or_else(|| WebError::UnknownAudience(audiences.first().cloned().unwrap_or_default()))?;
    ctx.account_id.clone_from(&account_id);
    let account = state
        .store
        .find_account(&account_id)
        .await?
        .ok_or_else(|| WebError::UnknownAccount(account_id.clone()))?;
    let settings = state
        .store
        .find_user_sso_settings(&account.id)
        .await?
        .filter(|s| s.sso_enabled)
        .ok_or(WebError::SsoNotEnabled)?;
    ctx.provider.clone_from(&settings.idp_entity_id);
    let entity_id = state.saml.user_entity_id(&account.id);
    let skew = chrono::Duration::seconds(i64::from(state.config.saml_clock_skew_seconds));
    let keys = trusted_keys(&settings.certificates)?;
    let exp = Expectations {
        issuer: &settings.idp_entity_id,
        audience: &entity_id,
        recipient: &state.saml.user_acs_url,
        now: state.clock.now(),
        skew,
        allow_sha1: false,
        decryption_key: state.saml.key.as_deref(),
    };
    let assertion =
        response::validate_response(&xml, &keys, &exp).map_err(FederationError::from)?;
    ctx.subject.clone_from(&assertion.name_id);
    let user = map_name_id(
        &state.store,
        &assertion.name_id,
        &account,
        &state.config.default_domain_suffix,
        &settings,
    )
    .await??;
    let sp = SpSettings {
        entity_id: &entity_id,
        acs_url: &state.saml.user_acs_url,
        skew,
        decryption_key: None,
        sha1_providers: &[],
    };
    consume_assertion(
        &state.store,
        state.clock.as_ref(),
        &sp,
        &assertion,
        &[&account.id],
    )
    .await?;
    finish_user_sign_in(state, ctx, &account, &user, form.relay_state.as_deref()).await
}

/// Opens a user console session and redirects (RelayState target or the console).
pub async fn finish_user_sign_in(
    state: &AppState,
    ctx: &AuditCtx,
    account: &Account,
    user: &User,
    relay_state: Option<&str>,
) -> Result<Response, WebError> {
    let upn = principal_name(
        &user.name,
        &account.alias,
        &state.config.default_domain_suffix,
    );
    let lifetime_s = i64::try_from(state.config.web_session_seconds).unwrap_or(3600);
    let cookie = session::create(
        state,
        &NewSession {
            account_id: &account.id,
            kind: KIND_USER,
            principal: &user.id,
            display_name: &upn,
            credentials: None,
            lifetime_s,
            source_ip: &ctx.source_ip,
        },
    )
    .await
    .map_err(|e| WebError::Internal(e.to_string()))?;
    audit(state, ctx, "Success").await;
    Ok(redirect_after_sign_in(
        state,
        ctx,
        relay_state,
        &cookie,
        lifetime_s,
        &[LOGIN_CSRF_COOKIE, STATE_COOKIE],
    )
    .await)
}

/// Query of `GET /login`.
#[derive(Debug, Deserialize)]
pub struct AliasQuery {
    alias: Option<String>,
}

/// `GET /login[?alias=..]`: the alias form, or on to `/login/<alias>`.
pub async fn login(Query(q): Query<AliasQuery>) -> Response {
    match q.alias.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(alias) => {
            let enc: String = form_urlencoded::byte_serialize(alias.as_bytes()).collect();
            see_other(&format!("/login/{enc}"), &[])
        }
        None => render(StatusCode::OK, &LoginPage),
    }
}

/// Query of `GET /login/<alias>`.
#[derive(Debug, Deserialize)]
pub struct StartQuery {
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// `GET /login/<alias>`: SP-initiated user SSO, or the password form.
pub async fn account_login(
    State(state): State<AppState>,
    Path(alias): Path<String>,
    parts: Parts,
    Query(q): Query<StartQuery>,
) -> Response {
    let mut ctx = AuditCtx {
        event: "UserSSOStart",
        source_ip: client_ip(&state, &parts),
        ..AuditCtx::default()
    };
    let result = async {
        let account = state
            .store
            .find_account_by_alias(&alias)
            .await?
            .ok_or_else(|| WebError::UnknownAccount(alias.clone()))?;
        ctx.account_id.clone_from(&account.id);
        let settings = state.store.find_user_sso_settings(&account.id).await?;
        match settings.filter(|s| s.sso_enabled) {
            Some(s) => {
                ctx.provider.clone_from(&s.idp_entity_id);
                let idp_url = user_sso::idp_redirect_url(&s.metadata_b64, state.clock.now())
                    .ok_or_else(|| {
                        WebError::NoIdpUrl(
                            "the account's IdP metadata has no HTTP-Redirect SingleSignOnService"
                                .into(),
                        )
                    })?;
                let location = authn_request::start(
                    &state,
                    &account.id,
                    &state.saml.user_entity_id(&account.id),
                    &state.saml.user_acs_url,
                    &idp_url,
                    q.relay_state.as_deref(),
                )
                .await?;
                Ok(see_other(&location, &[]))
            }
            None => {
                let oidc = state
                    .store
                    .find_oidc_sso_settings(&account.id)
                    .await?
                    .is_some_and(|o| o.enabled);
                Ok(if oidc {
                    password_form_with_oidc(&state, &account.alias)
                } else {
                    password_form(&state, &account.alias, "", "", StatusCode::OK)
                })
            }
        }
    }
    .await;
    respond(&state, &ctx, result).await
}

fn password_form(
    state: &AppState,
    alias: &str,
    user_name: &str,
    message: &str,
    status: StatusCode,
) -> Response {
    password_page(state, alias, user_name, message, status, false)
}

/// The password form with the link to the account's OIDC sign-in.
fn password_form_with_oidc(state: &AppState, alias: &str) -> Response {
    password_page(state, alias, "", "", StatusCode::OK, true)
}

fn password_page(
    state: &AppState,
    alias: &str,
    user_name: &str,
    message: &str,
    status: StatusCode,
    oidc: bool,
) -> Response {
    let token = csrf::token();
    let mut r = render(
        status,
        &PasswordPage {
            alias,
            csrf: &token,
            user_name,
            message,
            oidc,
        },
    );
    r.headers_mut().append(
        axum::http::header::SET_COOKIE,
        session::set_cookie(LOGIN_CSRF_COOKIE, &token, 1800, session::secure(state)),
    );
    r
}

/// The password form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    csrf: Option<String>,
    user_name: Option<String>,
    password: Option<String>,
    mfa_code: Option<String>,
}

/// `POST /login/<alias>`: password sign-in of a RAM user.
pub async fn password_login(
    State(state): State<AppState>,
    Path(alias): Path<String>,
    parts: Parts,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    let mut ctx = AuditCtx {
        event: "PasswordSignIn",
        provider: "password".into(),
        source_ip: client_ip(&state, &parts),
        ..AuditCtx::default()
    };
    let result = async {
        let Form(f) = form.map_err(|_| WebError::MissingField("user_name"))?;
        let account = state
            .store
            .find_account_by_alias(&alias)
            .await?
            .ok_or_else(|| WebError::UnknownAccount(alias.clone()))?;
        ctx.account_id.clone_from(&account.id);
        let expected = session::cookie(&parts.headers, LOGIN_CSRF_COOKIE).unwrap_or("");
        if !csrf::matches(expected, f.csrf.as_deref())
            || !csrf::same_origin(&parts.headers, &state.public_url)
        {
            return Err(WebError::Csrf);
        }
        let user_name = f.user_name.unwrap_or_default();
        ctx.subject.clone_from(&user_name);
        let scope = Scope {
            store: &state.store,
            keys: &state.keys,
            clock: state.clock.as_ref(),
            account_id: &account.id,
        };
        let outcome = password_sign_in(
            &scope,
            &user_name,
            f.password.as_deref().unwrap_or(""),
            f.mfa_code.as_deref(),
        )
        .await;
        match outcome {
            Ok(user) => finish_user_sign_in(&state, &ctx, &account, &user, None).await,
            Err(SignInError::SsoEnforced) => Err(WebError::PasswordDisabled),
            Err(SignInError::Internal(e)) => Err(WebError::Internal(e)),
            Err(refused) => {
                let reason = match refused {
                    SignInError::MfaRequired => "MFA.Required",
                    SignInError::BadMfaCode => "MFA.CodeInvalid",
                    _ => "PasswordIncorrect",
                };
                let reference = audit(&state, &ctx, reason).await;
                let message = format!("{refused}. (Reference {reference})");
                Ok(password_form(
                    &state,
                    &account.alias,
                    &user_name,
                    &message,
                    StatusCode::UNAUTHORIZED,
                ))
            }
        }
    }
    .await;
    match result {
        Ok(r) => r.into_response(),
        Err(e) => fail(&state, &ctx, &e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_name_accounts_only_in_the_exact_form() {
        let p = "https://sso.example";
        assert_eq!(
            account_of_audience(p, "https://sso.example/1234567890123456/saml/SSO").as_deref(),
            Some("1234567890123456")
        );
        for bad in [
            "https://sso.example/123456789012345/saml/SSO",
            "https://sso.example/12345678901234567/saml/SSO",
            "https://sso.example/1234567890123456/saml/sso",
            "https://sso.example.evil/1234567890123456/saml/SSO",
            "https://evil/https://sso.example/1234567890123456/saml/SSO",
            "https://sso.example/saml-role",
            "https://sso.example//1234567890123456/saml/SSO",
        ] {
            assert_eq!(account_of_audience(p, bad), None, "{bad}");
        }
    }
}
