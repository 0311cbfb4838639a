//! The read-through view of the store for the authentication and authorization hot path
//! ([`Store::cached`]): AccessKeys, users by id, roles, SAML providers and effective policies.
//!
//! Freshness: an entry is served for at most [`CACHE_TTL_MS`] after it was read, and only while
//! the store's generation is unchanged, which every configuration mutation of this process
//! moves on when it returns ([`super::Changed`]). So this process never serves what it changed
//! itself, and a change made by another replica sharing the database (disabling a key, revoking
//! role sessions, detaching a policy, deleting a provider) takes effect here within
//! [`CACHE_TTL_MS`]. Only present rows are cached: something missing is looked up every time.
//! Ages come from the application clock ([`crate::clock::Clock`]) through the caller, so a
//! clock that moves backwards only ends entries early.

use std::sync::Arc;

use super::{AccessKeyRecord, EffectivePolicy, Role, SamlProvider, Store, StoreError, User};
use crate::cache::TtlCache;

/// Longest time a cached row is served after it was read (milliseconds): the bound on how long
/// another replica's configuration change can go unnoticed here.
pub const CACHE_TTL_MS: i64 = 1000;
/// Entries per cache; the six caches together stay in the low megabytes.
const CAPACITY: usize = 4096;

pub(super) struct Caches {
    access_keys: TtlCache<String, AccessKeyRecord>,
    users: TtlCache<String, User>,
    roles_by_id: TtlCache<String, Role>,
    roles_by_name: TtlCache<String, Role>,
    saml_providers: TtlCache<String, SamlProvider>,
    effective: TtlCache<String, Arc<[EffectivePolicy]>>,
}

impl Caches {
    pub(super) fn new() -> Caches {
        Caches {
            access_keys: TtlCache::new(CAPACITY, CACHE_TTL_MS),
            users: TtlCache::new(CAPACITY, CACHE_TTL_MS),
            roles_by_id: TtlCache::new(CAPACITY, CACHE_TTL_MS),
            roles_by_name: TtlCache::new(CAPACITY, CACHE_TTL_MS),
            saml_providers: TtlCache::new(CAPACITY, CACHE_TTL_MS),
            effective: TtlCache::new(CAPACITY, CACHE_TTL_MS),
        }
    }

    fn entries(&self) -> usize {
        self.access_keys.len()
            + self.users.len()
            + self.roles_by_id.len()
            + self.roles_by_name.len()
            + self.saml_providers.len()
            + self.effective.len()
    }
}

/// Cached reads as of `now_ms` (see the module documentation for freshness). Use the uncached
/// [`Store`] methods to read something in order to write it back.
#[derive(Clone, Copy, Debug)]
pub struct Cached<'a> {
    store: &'a Store,
    now_ms: i64,
}

impl Store {
    /// The cached read view at `now_ms` (the application clock's epoch milliseconds).
    pub fn cached(&self, now_ms: i64) -> Cached<'_> {
        Cached {
            store: self,
            now_ms,
        }
    }

    /// Number of entries the hot-path caches hold (for tests and diagnostics).
    pub fn cached_entries(&self) -> usize {
        self.shared.cache.entries()
    }
}

fn key2(a: &str, b: &str) -> String {
    let mut k = String::with_capacity(a.len() + b.len() + 1);
    k.push_str(a);
    k.push('\u{1f}');
    k.push_str(b);
    k
}

/// One read-through lookup: serve a fresh entry, or load, remember (if present) and return.
macro_rules! read_through {
    ($self:ident, $cache:ident, $key:expr, $load:expr) => {{
        let c = &$self.store.shared.cache.$cache;
        let generation = $self.store.generation();
        if let Some(v) = c.get($key, $self.now_ms, generation) {
            return Ok(Some(v));
        }
        let loaded = $load;
        if let Some(v) = &loaded {
            c.insert($key.to_owned(), v.clone(), $self.now_ms, generation);
        }
        Ok(loaded)
    }};
}

impl Cached<'_> {
    /// [`Store::find_access_key`], cached.
    pub async fn find_access_key(&self, id: &str) -> Result<Option<AccessKeyRecord>, StoreError> {
        read_through!(self, access_keys, id, self.store.find_access_key(id).await?)
    }

    /// [`Store::find_user_by_id`], cached.
    pub async fn find_user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        read_through!(self, users, id, self.store.find_user_by_id(id).await?)
    }

    /// [`Store::find_role_by_id`], cached.
    pub async fn find_role_by_id(&self, id: &str) -> Result<Option<Role>, StoreError> {
        read_through!(self, roles_by_id, id, self.store.find_role_by_id(id).await?)
    }

    /// [`Store::find_role`], cached.
    pub async fn find_role(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<Option<Role>, StoreError> {
        let key = key2(account_id, name);
        read_through!(
            self,
            roles_by_name,
            key.as_str(),
            self.store.find_role(account_id, name).await?
        )
    }

    /// [`Store::find_saml_provider`], cached.
    pub async fn find_saml_provider(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<Option<SamlProvider>, StoreError> {
        let key = key2(account_id, name);
        read_through!(
            self,
            saml_providers,
            key.as_str(),
            self.store.find_saml_provider(account_id, name).await?
        )
    }

    /// [`Store::effective_policies_for_user`], cached.
    pub async fn effective_policies_for_user(
        &self,
        account_id: &str,
        user_id: &str,
    ) -> Result<Arc<[EffectivePolicy]>, StoreError> {
        self.effective(&key2("User", &key2(account_id, user_id)), async {
            self.store
                .effective_policies_for_user(account_id, user_id)
                .await
        })
        .await
    }

    /// [`Store::effective_policies_for_role`], cached.
    pub async fn effective_policies_for_role(
        &self,
        account_id: &str,
        role_id: &str,
    ) -> Result<Arc<[EffectivePolicy]>, StoreError> {
        self.effective(&key2("Role", &key2(account_id, role_id)), async {
            self.store
                .effective_policies_for_role(account_id, role_id)
                .await
        })
        .await
    }

    async fn effective(
        &self,
        key: &str,
        load: impl Future<Output = Result<Vec<EffectivePolicy>, StoreError>>,
    ) -> Result<Arc<[EffectivePolicy]>, StoreError> {
        let c = &self.store.shared.cache.effective;
        let generation = self.store.generation();
        if let Some(v) = c.get(key, self.now_ms, generation) {
            return Ok(v);
        }
        let loaded: Arc<[EffectivePolicy]> = load.await?.into();
        c.insert(key.to_owned(), loaded.clone(), self.now_ms, generation);
        Ok(loaded)
    }
}
