//! The Store contract suite. Every test is an async fn taking a fresh `Store`; the `contract!`
//! macro instantiates it for SQLite (always) and PostgreSQL (fresh database per test, when
//! `RAMBRIDGE_TEST_POSTGRES_URL` is set).

use rambridge::store::{AccessKeyRecord, Account, KeyStatus, NonceOutcome, Store, StoreError};

/// A store on a fresh SQLite file; the directory lives as long as the returned guard.
async fn sqlite() -> (Store, Box<dyn std::any::Any>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    (Store::connect(&url).await.unwrap(), Box::new(dir))
}

/// A store on a fresh PostgreSQL database, or `None` (loudly) when no server is configured.
async fn postgres() -> Option<(Store, Box<dyn std::any::Any>)> {
    let Ok(admin_url) = std::env::var("RAMBRIDGE_TEST_POSTGRES_URL") else {
        if std::env::var("RAMBRIDGE_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("RAMBRIDGE_REQUIRE_POSTGRES=1 but RAMBRIDGE_TEST_POSTGRES_URL is not set");
        }
        eprintln!(
            "SKIPPED (PostgreSQL): set RAMBRIDGE_TEST_POSTGRES_URL to run this test on PostgreSQL"
        );
        return None;
    };
    use sqlx::Connection as _;
    let name = format!("rb_t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let store = Store::connect(&format!("{base}/{name}")).await.unwrap();
    Some((store, Box::new(DropDb { admin_url, name })))
}

struct DropDb {
    admin_url: String,
    name: String,
}

impl Drop for DropDb {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Best effort, on a separate thread with its own runtime (Drop cannot await).
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                use sqlx::Connection as _;
                if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut c)
                        .await;
                }
            });
        })
        .join();
    }
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _guard) = super::sqlite().await;
                    assert_eq!(store.kind(), rambridge::store::BackendKind::Sqlite);
                    super::$name(store).await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some((store, _guard)) = super::postgres().await {
                        assert_eq!(store.kind(), rambridge::store::BackendKind::Postgres);
                        super::$name(store).await;
                    }
                }
            )*
        }
    };
}

contract!(
    ping_and_reconnect_migrations,
    create_and_find_account,
    duplicate_alias_is_a_conflict_and_writes_nothing,
    access_keys_round_trip_and_status,
    nonces_detect_replay_and_expire,
);

fn account(id: &str, alias: &str) -> Account {
    Account {
        id: id.into(),
        alias: alias.into(),
        created_at: 1_000,
    }
}

fn key(id: &str, account_id: &str) -> AccessKeyRecord {
    AccessKeyRecord {
        id: id.into(),
        account_id: account_id.into(),
        user_id: None,
        status: KeyStatus::Active,
        secret_sealed: vec![0, 1, 2, 255],
        created_at: 1_000,
    }
}

async fn ping_and_reconnect_migrations(store: Store) {
    store.ping().await.unwrap();
    assert!(store.list_accounts().await.unwrap().is_empty());
}

async fn create_and_find_account(store: Store) {
    store
        .create_account(
            &account("1000000000000001", "acme"),
            &key("LTAIa", "1000000000000001"),
        )
        .await
        .unwrap();
    let found = store
        .find_account("1000000000000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, account("1000000000000001", "acme"));
    assert_eq!(
        store
            .find_account_by_alias("acme")
            .await
            .unwrap()
            .unwrap()
            .id,
        "1000000000000001"
    );
    assert!(
        store
            .find_account("1000000000000002")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.list_accounts().await.unwrap().len(), 1);
}

async fn duplicate_alias_is_a_conflict_and_writes_nothing(store: Store) {
    store
        .create_account(
            &account("1000000000000001", "acme"),
            &key("LTAIa", "1000000000000001"),
        )
        .await
        .unwrap();
    let err = store
        .create_account(
            &account("1000000000000002", "acme"),
            &key("LTAIb", "1000000000000002"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    // The transaction rolled back: the second key does not exist.
    assert!(store.find_access_key("LTAIb").await.unwrap().is_none());
    // A duplicate key id also conflicts, and leaves no account behind.
    let err = store
        .create_account(
            &account("1000000000000003", "other"),
            &key("LTAIa", "1000000000000003"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert!(
        store
            .find_account("1000000000000003")
            .await
            .unwrap()
            .is_none()
    );
}

async fn access_keys_round_trip_and_status(store: Store) {
    store
        .create_account(
            &account("1000000000000001", "acme"),
            &key("LTAIa", "1000000000000001"),
        )
        .await
        .unwrap();
    let k = store.find_access_key("LTAIa").await.unwrap().unwrap();
    assert_eq!(k, key("LTAIa", "1000000000000001"));
    assert!(
        store
            .update_access_key_status("LTAIa", KeyStatus::Inactive, 2_000)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .find_access_key("LTAIa")
            .await
            .unwrap()
            .unwrap()
            .status,
        KeyStatus::Inactive
    );
    assert!(
        !store
            .update_access_key_status("LTAIzz", KeyStatus::Active, 2_000)
            .await
            .unwrap()
    );
}

async fn nonces_detect_replay_and_expire(store: Store) {
    assert_eq!(
        store.record_nonce("K", "n", 0, 100).await.unwrap(),
        NonceOutcome::Fresh
    );
    assert_eq!(
        store.record_nonce("K", "n", 50, 150).await.unwrap(),
        NonceOutcome::Replayed
    );
    // Same nonce, other key: independent.
    assert_eq!(
        store.record_nonce("K2", "n", 50, 150).await.unwrap(),
        NonceOutcome::Fresh
    );
    // After expiry the nonce may be used again.
    assert_eq!(
        store.record_nonce("K", "n", 100, 200).await.unwrap(),
        NonceOutcome::Fresh
    );
    assert_eq!(
        store.record_nonce("K", "n", 150, 250).await.unwrap(),
        NonceOutcome::Replayed
    );
    assert_eq!(store.purge_expired_nonces(199).await.unwrap(), 1); // K2's (expired at 150)
    assert_eq!(store.purge_expired_nonces(300).await.unwrap(), 1); // K's (expires at 200)
    // Concurrent first uses: exactly one wins.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.record_nonce("C", "race", 0, 100).await.unwrap()
        }));
    }
    let mut fresh = 0;
    for t in tasks {
        if t.await.unwrap() == NonceOutcome::Fresh {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
}
