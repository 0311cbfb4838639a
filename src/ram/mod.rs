//! RAM: accounts and the identities inside them (domain logic; SQL lives in `store`).
//!
//! An account is created with a 16-digit id, a unique alias (Alibaba's rules, spec §6.5) and one
//! root AccessKey whose secret is returned once and stored only sealed under the master key,
//! bound to its AccessKeyId. Inside an account: users, AccessKeys, groups, login profiles and
//! MFA ([`identities`]), roles ([`roles`]), policies and attachments ([`policies`]), and the
//! authorization of RAM users' calls ([`authz`]). Every operation runs in a [`Scope`]: the
//! caller's account, so nothing crosses accounts.

pub mod authz;
pub mod console_login;
mod error;
pub mod identities;
pub mod policies;
pub mod roles;
pub mod validate;

use crate::clock::Clock;
use crate::crypto::{self, Keyring, Purpose};
use crate::store::{AccessKeyRecord, Account, KeyStatus, Store, StoreError};

pub use error::RamError;

/// What every RAM operation runs in: the store, keys, clock and the caller's account.
pub struct Scope<'a> {
    /// Database.
    pub store: &'a Store,
    /// Master keys (sealing secrets and seeds).
    pub keys: &'a Keyring,
    /// Time source.
    pub clock: &'a dyn Clock,
    /// The account operated on.
    pub account_id: &'a str,
}

/// A freshly created account with its root AccessKey (the only time the secret is visible).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatedAccount {
    /// 16-digit account id.
    pub account_id: String,
    /// Alias.
    pub account_alias: String,
    /// Root AccessKeyId.
    pub access_key_id: String,
    /// Root AccessKey secret.
    pub access_key_secret: String,
}

/// The associated data binding a sealed AccessKey secret to its id.
pub fn secret_context(access_key_id: &str) -> Vec<u8> {
    format!("access-key-secret:{access_key_id}").into_bytes()
}

/// Checks an account alias: 3-63 characters of lowercase letters, digits and `-`, not starting
/// or ending with `-`, no `--` (spec §6.5).
pub fn validate_account_alias(alias: &str) -> Result<(), RamError> {
    let fail = |m: &str| Err(RamError::InvalidAccountAlias(format!("{alias:?}: {m}")));
    if !(3..=63).contains(&alias.len()) {
        return fail("must be 3 to 63 characters long");
    }
    if !alias
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return fail("may contain only lowercase letters, digits and '-'");
    }
    if alias.starts_with('-') || alias.ends_with('-') {
        return fail("must not start or end with '-'");
    }
    if alias.contains("--") {
        return fail("must not contain '--'");
    }
    Ok(())
}

/// Creates an account and its root AccessKey.
pub async fn create_account(
    store: &Store,
    keys: &Keyring,
    clock: &dyn Clock,
    alias: &str,
) -> Result<CreatedAccount, RamError> {
    validate_account_alias(alias)?;
    let now = clock.now_ms();
    // A random 16-digit id colliding is unlikely but possible: retry a few times on an id
    // conflict; an alias conflict is final.
    for _ in 0..3 {
        let account = Account {
            id: crypto::random_digits(16),
            alias: alias.to_string(),
            created_at: now,
        };
        let access_key_id = crypto::new_access_key_id();
        let secret = crypto::new_access_key_secret();
        let sealed = keys.seal(
            Purpose::AtRest,
            &secret_context(&access_key_id),
            secret.as_bytes(),
        )?;
        let key = AccessKeyRecord {
            id: access_key_id.clone(),
            account_id: account.id.clone(),
            user_id: None,
            status: KeyStatus::Active,
            secret_sealed: sealed,
            created_at: now,
        };
        match store.create_account(&account, &key).await {
            Ok(()) => {
                return Ok(CreatedAccount {
                    account_id: account.id,
                    account_alias: account.alias,
                    access_key_id,
                    access_key_secret: secret,
                });
            }
            Err(StoreError::Conflict { .. }) => {
                if store.find_account_by_alias(alias).await?.is_some() {
                    return Err(RamError::AccountAliasTaken(alias.to_string()));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(RamError::AccountAliasTaken(alias.to_string()))
}

/// Opens a stored AccessKey secret.
pub fn open_secret(keys: &Keyring, key: &AccessKeyRecord) -> Result<String, RamError> {
    let plain = keys.open(
        Purpose::AtRest,
        &secret_context(&key.id),
        &key.secret_sealed,
    )?;
    String::from_utf8(plain).map_err(|_| RamError::Crypto(crypto::CryptoError::Unseal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_rules() {
        for ok in ["acme", "a-b", "abc", "a1-2b", &"a".repeat(63)] {
            assert!(validate_account_alias(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "-abc",
            "abc-",
            "a--b",
            "Acme",
            "a_b",
            "a b",
            "",
            &"a".repeat(64),
            "ácme",
        ] {
            assert!(validate_account_alias(bad).is_err(), "{bad}");
        }
    }
}
