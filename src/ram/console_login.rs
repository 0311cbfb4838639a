//! Console password sign-in of a RAM user: the login profile's password (argon2id), then the
//! bound virtual MFA device's TOTP code when there is one (each step accepted once). Refused
//! for every user of an account whose user-based SSO is enabled (spec §5.3); the root account
//! is not a browser principal here.

use crate::crypto::{self, Purpose, totp};
use crate::store::{StoreError, User};

use super::Scope;
use super::identities::mfa_context;

/// Why a password sign-in was refused. The caller shows [`SignInError::BadCredentials`] for a
/// wrong password, an unknown user and a user without console access alike.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The account signs in through its IdP.
    #[error("password sign-in is turned off while user-based SSO is enabled")]
    SsoEnforced,
    /// Unknown user, no login profile, or wrong password.
    #[error("the user name or password is wrong")]
    BadCredentials,
    /// The user has an MFA device and the code is missing.
    #[error("an MFA code is required")]
    MfaRequired,
    /// The MFA code is wrong or was used before.
    #[error("the MFA code is wrong or was already used")]
    BadMfaCode,
    /// Storage or sealing failure.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for SignInError {
    fn from(e: StoreError) -> Self {
        SignInError::Internal(e.to_string())
    }
}

/// Checks a user's password (and MFA code) for console sign-in.
pub async fn password_sign_in(
    s: &Scope<'_>,
    user_name: &str,
    password: &str,
    mfa_code: Option<&str>,
) -> Result<User, SignInError> {
    let sso = s.store.find_user_sso_settings(s.account_id).await?;
    if sso.is_some_and(|x| x.sso_enabled) {
        return Err(SignInError::SsoEnforced);
    }
    let user = s.store.find_user(s.account_id, user_name).await?;
    let profile = match &user {
        Some(u) => s.store.find_login_profile(&u.id).await?,
        None => None,
    };
    // Hash even when the user is unknown, so timing does not tell which names exist.
    let phc = profile
        .as_ref()
        .map_or(DUMMY_PHC, |p| p.password_hash.as_str());
    let password_ok = crypto::verify_password(password, phc);
    let (Some(user), Some(_), true) = (user, profile, password_ok) else {
        return Err(SignInError::BadCredentials);
    };
    if let Some(dev) = s.store.find_mfa_device_of_user(&user.id).await? {
        let code = mfa_code
            .filter(|c| !c.is_empty())
            .ok_or(SignInError::MfaRequired)?;
        let seed = s
            .keys
            .open(
                Purpose::AtRest,
                &mfa_context(&dev.serial_number),
                &dev.seed_sealed,
            )
            .map_err(|e| SignInError::Internal(e.to_string()))?;
        let now_s = u64::try_from(s.clock.now().timestamp()).unwrap_or(0);
        let step = totp::verify(&seed, code, now_s).map_err(|_| SignInError::BadMfaCode)?;
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        if !s.store.advance_mfa_step(&dev.serial_number, step).await? {
            return Err(SignInError::BadMfaCode);
        }
    }
    Ok(user)
}

/// An argon2id hash of a random password nobody knows, verified against when the user or its
/// login profile does not exist.
const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$cmFtYnJpZGdlIGR1bW15IGhhc2ggMzIgYnl0ZXMhISE";

#[cfg(test)]
mod tests {
    #[test]
    fn dummy_hash_is_a_valid_phc_string_so_unknown_users_cost_a_full_verify() {
        assert!(argon2::password_hash::PasswordHash::new(super::DUMMY_PHC).is_ok());
        assert!(!crate::crypto::verify_password(
            "anything",
            super::DUMMY_PHC
        ));
    }
}
