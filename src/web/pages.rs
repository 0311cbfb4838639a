//! Server-rendered pages (askama templates in `templates/`, checked at compile time, escaped by
//! default) and the headers every page carries: no caching, no framing, no external anything.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Content-Security-Policy of every page: nothing but our own inline stylesheet, no scripts, no
/// framing. (No `form-action`: browsers apply it to the redirects that follow a form, and sign-in
/// forms legitimately end at the IdP or an allow-listed RelayState origin.)
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";

/// Adds the headers every HTML response carries.
pub fn harden(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    r
}

/// Renders a template as an HTML response with `status`. A render failure (which askama's
/// compile-time checks make unlikely) becomes a plain 500 page, never a blank one.
pub fn render(status: StatusCode, t: &impl Template) -> Response {
    let r = match t.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template render failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "The page could not be shown. Please try again.\n",
            )
                .into_response()
        }
    };
    harden(r)
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// Heading.
    pub title: &'a str,
    /// What happened, for a person.
    pub message: &'a str,
    /// Technical detail (no secrets), may be empty.
    pub detail: &'a str,
    /// The audit event id.
    pub reference: &'a str,
}

/// The account alias form.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage;

/// The password form of an account without user SSO.
#[derive(Template)]
#[template(path = "password.html")]
pub struct PasswordPage<'a> {
    /// Account alias.
    pub alias: &'a str,
    /// Login CSRF token.
    pub csrf: &'a str,
    /// Prefilled user name.
    pub user_name: &'a str,
    /// Error shown above the form (empty for none).
    pub message: &'a str,
    /// Whether the account offers sign-in through OIDC (`/oidc/login/<alias>`).
    pub oidc: bool,
}

/// One role in the chooser.
pub struct ChoiceView {
    /// Index in the stored choice list.
    pub index: usize,
    /// Role name.
    pub role_name: String,
    /// Role ARN.
    pub role_arn: String,
}

/// Roles of one account in the chooser.
pub struct ChoiceGroup {
    /// Account id.
    pub account_id: String,
    /// Its roles.
    pub roles: Vec<ChoiceView>,
}

/// The role chooser.
#[derive(Template)]
#[template(path = "chooser.html")]
pub struct ChooserPage<'a> {
    /// NameID.
    pub subject: &'a str,
    /// CSRF token of the pending choice.
    pub csrf: &'a str,
    /// Roles grouped by account.
    pub groups: Vec<ChoiceGroup>,
}

/// Role-session details on the console.
pub struct RoleView {
    /// Role ARN.
    pub role_arn: String,
    /// Session name.
    pub session_name: String,
    /// AccessKeyId.
    pub access_key_id: String,
    /// AccessKeySecret.
    pub access_key_secret: String,
    /// SecurityToken.
    pub security_token: String,
    /// Expiration (ISO 8601).
    pub expiration: String,
    /// aliyun CLI commands that configure a profile with these credentials.
    pub cli_snippet: String,
}

/// The console.
#[derive(Template)]
#[template(path = "console.html")]
pub struct ConsolePage<'a> {
    /// User principal name (user sessions).
    pub principal: &'a str,
    /// Role details (role sessions).
    pub role: Option<RoleView>,
    /// Account id.
    pub account_id: &'a str,
    /// Account alias.
    pub account_alias: &'a str,
    /// Sign-in time (ISO 8601).
    pub created: String,
    /// Sign-in address.
    pub source_ip: &'a str,
    /// Expiry (ISO 8601).
    pub expires: String,
    /// Session CSRF token (sign-out form).
    pub csrf: &'a str,
}

/// After sign-out.
#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage;
