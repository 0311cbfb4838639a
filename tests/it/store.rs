//! The Store contract suite. Every test is an async fn taking a fresh `Store`; the `contract!`
//! macro instantiates it for SQLite (always) and PostgreSQL (fresh database per test, when
//! `RAMBRIDGE_TEST_POSTGRES_URL` is set).

use rambridge::store::{
    AccessKeyRecord, Account, KeyStatus, NonceOutcome, OidcProvider, PendingCliLogin, SamlProvider,
    Store, StoreError,
};

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
    (@extra $($name:ident),* $(,)?) => {
        mod sqlite_backend_hot_path {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _guard) = super::sqlite().await;
                    super::$name(store).await;
                }
            )*
        }
        mod postgres_backend_hot_path {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some((store, _guard)) = super::postgres().await {
                        super::$name(store).await;
                    }
                }
            )*
        }
    };
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
    saml_metadata_refresh_state,
    oidc_providers_round_trip,
    web_sessions_choices_sso_settings_and_audit_pages,
    cli_logins_complete_once_and_redeem_once,
    oidc_sso_settings_and_login_states,
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

fn provider(name: &str, url: Option<&str>) -> SamlProvider {
    SamlProvider {
        account_id: "1000000000000001".into(),
        name: name.into(),
        description: String::new(),
        metadata_b64: "b2xk".into(),
        entity_id: "https://idp.example/e".into(),
        certificates: vec!["Y2VydDE=".into()],
        authn_sign_algo: "rsa-sha256".into(),
        created_at: 1_000,
        updated_at: 1_000,
        metadata_url: url.map(str::to_string),
        metadata_refreshed_at: None,
        metadata_refresh_error: None,
    }
}

async fn saml_metadata_refresh_state(store: Store) {
    const URL: &str = "https://idp.example/metadata";
    const ACCOUNT: &str = "1000000000000001";
    store
        .create_account(&account(ACCOUNT, "acme"), &key("LTAIa", ACCOUNT))
        .await
        .unwrap();
    store
        .create_saml_provider(&provider("a", Some(URL)))
        .await
        .unwrap();
    store
        .create_saml_provider(&provider("plain", None))
        .await
        .unwrap();
    let find = |name: &'static str| {
        let store = store.clone();
        async move {
            store
                .find_saml_provider(ACCOUNT, name)
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(find("a").await, provider("a", Some(URL)));
    let names = |v: Vec<SamlProvider>| v.into_iter().map(|p| p.name).collect::<Vec<_>>();

    // Never attempted: due. A claim stamps it; the second claim (another replica) loses.
    let due = store
        .list_saml_providers_due_for_refresh(10_000, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(names(due), ["a"]);
    assert!(
        !store
            .claim_metadata_refresh(ACCOUNT, "a", "https://other/", 10_000, 1_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_metadata_refresh(ACCOUNT, "a", URL, 10_000, 1_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_metadata_refresh(ACCOUNT, "a", URL, 10_000, 1_000)
            .await
            .unwrap()
    );
    assert_eq!(find("a").await.metadata_refreshed_at, Some(10_000));
    assert!(
        store
            .list_saml_providers_due_for_refresh(10_999, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Success: document and certificates replaced, error cleared, updated_at moved.
    let certs = vec!["Y2VydDE=".to_string(), "Y2VydDI=".to_string()];
    let ok = |doc: &'static str, entity: &'static str| -> Result<(&str, &str, &[String]), &str> {
        Ok((doc, entity, &[]))
    };
    assert!(
        store
            .record_metadata_refresh(
                ACCOUNT,
                "a",
                URL,
                Ok(("bmV3", "https://idp.example/e", &certs)),
                10_100
            )
            .await
            .unwrap()
    );
    let a = find("a").await;
    assert_eq!(
        (a.metadata_b64.as_str(), &a.certificates, a.updated_at),
        ("bmV3", &certs, 10_100)
    );
    assert_eq!(
        (a.metadata_refreshed_at, a.metadata_refresh_error.as_deref()),
        (Some(10_100), None)
    );
    // Another entityID or another URL: nothing is written.
    for (url, entity) in [
        (URL, "https://evil.example/e"),
        ("https://other/", "https://idp.example/e"),
    ] {
        assert!(
            !store
                .record_metadata_refresh(ACCOUNT, "a", url, ok("ZXZpbA==", entity), 10_200)
                .await
                .unwrap()
        );
    }
    assert!(
        !store
            .record_metadata_refresh(ACCOUNT, "a", "https://other/", Err("x"), 10_200)
            .await
            .unwrap()
    );
    assert_eq!(find("a").await, a);

    // Failure: the last good copy stays, the error is recorded.
    assert!(
        store
            .record_metadata_refresh(ACCOUNT, "a", URL, Err("HTTP 500"), 12_000)
            .await
            .unwrap()
    );
    let failed = find("a").await;
    assert_eq!(
        (
            failed.metadata_refreshed_at,
            failed.metadata_refresh_error.as_deref()
        ),
        (Some(12_000), Some("HTTP 500"))
    );
    assert_eq!(
        (
            &failed.metadata_b64,
            &failed.certificates,
            failed.updated_at
        ),
        (&a.metadata_b64, &a.certificates, a.updated_at)
    );
    // The same document again: error cleared, updated_at unchanged.
    store
        .record_metadata_refresh(
            ACCOUNT,
            "a",
            URL,
            Ok(("bmV3", "https://idp.example/e", &certs)),
            13_000,
        )
        .await
        .unwrap();
    let again = find("a").await;
    assert_eq!(
        (
            again.updated_at,
            again.metadata_refreshed_at,
            again.metadata_refresh_error
        ),
        (10_100, Some(13_000), None)
    );

    // Oldest attempt first (never attempted before all), bounded by the limit.
    store
        .create_saml_provider(&provider("b", Some(URL)))
        .await
        .unwrap();
    let due = store
        .list_saml_providers_due_for_refresh(20_000, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(names(due), ["b", "a"]);
    let due = store
        .list_saml_providers_due_for_refresh(20_000, 1_000, 1)
        .await
        .unwrap();
    assert_eq!(names(due), ["b"]);

    // Clearing the URL resets the refresh state and stops the scan; a new URL is due at once.
    assert!(
        store
            .set_saml_provider_metadata_url(ACCOUNT, "a", None, 14_000)
            .await
            .unwrap()
    );
    let cleared = find("a").await;
    assert_eq!(
        (
            cleared.metadata_url,
            cleared.metadata_refreshed_at,
            cleared.metadata_refresh_error,
            cleared.updated_at
        ),
        (None, None, None, 14_000)
    );
    assert_eq!(cleared.metadata_b64, "bmV3");
    let due = store
        .list_saml_providers_due_for_refresh(20_000, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(names(due), ["b"]);
    assert!(
        !store
            .set_saml_provider_metadata_url(ACCOUNT, "missing", Some(URL), 14_000)
            .await
            .unwrap()
    );
    // Updating the other fields leaves the URL alone.
    let mut b = find("b").await;
    b.description = "changed".into();
    store.update_saml_provider(&b).await.unwrap();
    assert_eq!(find("b").await.metadata_url.as_deref(), Some(URL));

    // Concurrent claims: exactly one replica wins.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.claim_metadata_refresh(ACCOUNT, "b", URL, 30_000, 1_000)
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        if t.await.unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 1);
}

async fn oidc_sso_settings_and_login_states(store: Store) {
    use rambridge::store::{OidcLoginStateRow, OidcSsoSettingsRow};
    const ACCOUNT: &str = "1000000000000001";
    store
        .create_account(&account(ACCOUNT, "acme"), &key("LTAIa", ACCOUNT))
        .await
        .unwrap();
    // Settings: absent, inserted (sealed bytes round-trip), replaced (secret cleared).
    assert_eq!(store.find_oidc_sso_settings(ACCOUNT).await.unwrap(), None);
    let mut settings = OidcSsoSettingsRow {
        account_id: ACCOUNT.into(),
        enabled: true,
        provider_name: "corp".into(),
        client_id: "web".into(),
        client_secret_sealed: Some(vec![1, 0, 255, 7]),
        scopes: "openid email".into(),
        mode: "role".into(),
        user_claim: "upn".into(),
        role_claim: "roles".into(),
        login_with_domain: false,
        updated_at: 1_000,
    };
    store.put_oidc_sso_settings(&settings).await.unwrap();
    assert_eq!(
        store.find_oidc_sso_settings(ACCOUNT).await.unwrap(),
        Some(settings.clone())
    );
    settings.client_secret_sealed = None;
    settings.mode = "user".into();
    store.put_oidc_sso_settings(&settings).await.unwrap();
    assert_eq!(
        store.find_oidc_sso_settings(ACCOUNT).await.unwrap(),
        Some(settings)
    );
    // Pending sign-ins: taken once, never after expiry, purged with the web rows.
    let state = |h: &str, exp: i64| OidcLoginStateRow {
        state_hash: h.into(),
        account_id: ACCOUNT.into(),
        nonce: "n".into(),
        pkce_verifier: "v".into(),
        relay_state: String::new(),
        created_at: 1_000,
        expires_at: exp,
        source_ip: "::1".into(),
    };
    for (h, exp) in [("s1", 9_000), ("s2", 2_000), ("s3", 4_000)] {
        store.create_oidc_login_state(&state(h, exp)).await.unwrap();
    }
    assert_eq!(
        store.take_oidc_login_state("s1", 3_000).await.unwrap(),
        Some(state("s1", 9_000))
    );
    assert_eq!(
        store.take_oidc_login_state("s1", 3_000).await.unwrap(),
        None
    );
    assert_eq!(
        store.take_oidc_login_state("s2", 3_000).await.unwrap(),
        None
    );
    assert_eq!(store.purge_expired_web(5_000).await.unwrap(), 2);
    assert_eq!(
        store.take_oidc_login_state("s3", 3_000).await.unwrap(),
        None
    );
}

async fn web_sessions_choices_sso_settings_and_audit_pages(store: Store) {
    use rambridge::store::{AuditEvent, RoleChoiceRow, UserSsoSettingsRow, WebSession};
    const ACCOUNT: &str = "1000000000000001";
    store
        .create_account(&account(ACCOUNT, "acme"), &key("LTAIa", ACCOUNT))
        .await
        .unwrap();
    // Sessions: found until they expire, sealed bytes round-trip, deleted once.
    let session = WebSession {
        id_hash: "h1".into(),
        account_id: ACCOUNT.into(),
        kind: "role".into(),
        principal: "acs:ram::1000000000000001:role/ops".into(),
        display_name: "alice".into(),
        credentials_sealed: Some(vec![0, 1, 2, 255]),
        csrf_token: "t".into(),
        created_at: 1_000,
        expires_at: 5_000,
        source_ip: "127.0.0.1".into(),
    };
    store.create_web_session(&session).await.unwrap();
    assert_eq!(
        store.find_web_session("h1", 4_999).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(store.find_web_session("h1", 5_000).await.unwrap(), None);
    assert_eq!(store.find_web_session("h2", 1_000).await.unwrap(), None);
    assert!(store.delete_web_session("h1").await.unwrap());
    assert!(!store.delete_web_session("h1").await.unwrap());
    // Choices: taken once; expired ones neither found nor taken; purge removes expired rows.
    let choice = |h: &str, exp: i64| RoleChoiceRow {
        id_hash: h.into(),
        choices: "[]".into(),
        csrf_token: "c".into(),
        created_at: 1_000,
        expires_at: exp,
        source_ip: "::1".into(),
    };
    store
        .create_role_choice(&choice("c1", 9_000))
        .await
        .unwrap();
    store
        .create_role_choice(&choice("c2", 2_000))
        .await
        .unwrap();
    store
        .create_web_session(&WebSession {
            id_hash: "h3".into(),
            ..session.clone()
        })
        .await
        .unwrap();
    assert!(store.find_role_choice("c1", 3_000).await.unwrap().is_some());
    assert_eq!(
        store.take_role_choice("c1", 3_000).await.unwrap(),
        Some(choice("c1", 9_000))
    );
    assert_eq!(store.take_role_choice("c1", 3_000).await.unwrap(), None);
    assert_eq!(store.take_role_choice("c2", 3_000).await.unwrap(), None);
    assert_eq!(store.purge_expired_web(6_000).await.unwrap(), 2);
    // SSO settings: absent, inserted, replaced.
    assert_eq!(store.find_user_sso_settings(ACCOUNT).await.unwrap(), None);
    let mut settings = UserSsoSettingsRow {
        account_id: ACCOUNT.into(),
        sso_enabled: true,
        metadata_b64: "bWQ=".into(),
        idp_entity_id: "https://idp.example/e".into(),
        certificates: vec!["Y2VydDE=".into(), "Y2VydDI=".into()],
        auxiliary_domain: "corp.example".into(),
        sso_login_with_domain: false,
        authn_sign_algo: "rsa-sha256".into(),
        updated_at: 1_000,
    };
    store.put_user_sso_settings(&settings).await.unwrap();
    assert_eq!(
        store.find_user_sso_settings(ACCOUNT).await.unwrap(),
        Some(settings.clone())
    );
    settings.sso_enabled = false;
    settings.certificates = vec![];
    store.put_user_sso_settings(&settings).await.unwrap();
    assert_eq!(
        store.find_user_sso_settings(ACCOUNT).await.unwrap(),
        Some(settings)
    );
    // Audit pages: newest first, ties broken by id, no event twice or lost.
    for (id, at) in [("e1", 10), ("e2", 20), ("e3", 20), ("e4", 30), ("e5", 5)] {
        store
            .record_audit(&AuditEvent {
                id: id.into(),
                account_id: ACCOUNT.into(),
                at,
                event: "UserSSO".into(),
                provider: String::new(),
                subject: String::new(),
                outcome: "Failure".into(),
                reason: "X".into(),
                source_ip: String::new(),
            })
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut before: Option<(i64, String)> = None;
    loop {
        let page = store
            .list_audit_page(ACCOUNT, before.as_ref().map(|(a, i)| (*a, i.as_str())), 2)
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|e| e.id.clone()));
        match page.next_after {
            Some(m) => {
                let (at, id) = m.split_once(':').unwrap();
                before = Some((at.parse().unwrap(), id.to_string()));
            }
            None => break,
        }
    }
    assert_eq!(seen, ["e4", "e2", "e3", "e1", "e5"]);
}

fn oidc_provider(name: &str, issuer: &str) -> OidcProvider {
    OidcProvider {
        account_id: "1000000000000001".into(),
        name: name.into(),
        description: "d".into(),
        issuer_url: issuer.into(),
        client_ids: vec!["sts.aliyuncs.com".into()],
        fingerprints: vec!["ab".repeat(20)],
        issuance_limit_hours: 12,
        created_at: 1_000,
        updated_at: 1_000,
    }
}

async fn oidc_providers_round_trip(store: Store) {
    const ACCOUNT: &str = "1000000000000001";
    store
        .create_account(&account(ACCOUNT, "acme"), &key("LTAIa", ACCOUNT))
        .await
        .unwrap();
    let a = oidc_provider("a", "https://a.example");
    store.create_oidc_provider(&a).await.unwrap();
    assert_eq!(
        store.find_oidc_provider(ACCOUNT, "a").await.unwrap(),
        Some(a.clone())
    );
    // Name and IssuerUrl are each unique in the account; the refused rows write nothing.
    let same_name = oidc_provider("a", "https://other.example");
    let same_issuer = oidc_provider("b", "https://a.example");
    for dup in [&same_name, &same_issuer] {
        assert!(matches!(
            store.create_oidc_provider(dup).await,
            Err(StoreError::Conflict { .. })
        ));
    }
    assert_eq!(store.count_oidc_providers(ACCOUNT).await.unwrap(), 1);
    store
        .create_oidc_provider(&oidc_provider("b", "https://b.example"))
        .await
        .unwrap();

    // Compare-and-swap: an update based on a stale read of the lists is refused.
    let mut first = a.clone();
    first.client_ids.push("one".into());
    first.updated_at = 2_000;
    let mut second = a.clone();
    second.fingerprints.push("cd".repeat(20));
    assert!(store.update_oidc_provider(&a, &first).await.unwrap());
    assert!(!store.update_oidc_provider(&a, &second).await.unwrap());
    let now = store
        .find_oidc_provider(ACCOUNT, "a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now, first);
    let mut second = now.clone();
    second.fingerprints.push("cd".repeat(20));
    second.description = "e".into();
    second.issuance_limit_hours = 1;
    assert!(store.update_oidc_provider(&now, &second).await.unwrap());
    assert_eq!(
        store.find_oidc_provider(ACCOUNT, "a").await.unwrap(),
        Some(second.clone())
    );

    // Paging by name, then delete.
    let page = store.list_oidc_providers(ACCOUNT, None, 1).await.unwrap();
    assert_eq!(page.items, vec![second.clone()]);
    assert_eq!(page.next_after.as_deref(), Some("a"));
    let page = store
        .list_oidc_providers(ACCOUNT, Some("a"), 1)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next_after, None);
    assert!(store.delete_oidc_provider(ACCOUNT, "a").await.unwrap());
    assert!(!store.delete_oidc_provider(ACCOUNT, "a").await.unwrap());
    assert!(!store.update_oidc_provider(&second, &second).await.unwrap());
    assert_eq!(store.count_oidc_providers(ACCOUNT).await.unwrap(), 1);
}

async fn cli_logins_complete_once_and_redeem_once(store: Store) {
    const ACCOUNT: &str = "1000000000000007";
    store
        .create_account(&account(ACCOUNT, "cli"), &key("LTAIcli", ACCOUNT))
        .await
        .unwrap();
    let pending = PendingCliLogin {
        id: "p1".into(),
        account_id: ACCOUNT.into(),
        provider: "idp".into(),
        role: "admin".into(),
        port: 65_535,
        code_challenge: "challenge".into(),
        created_at: 1_000,
        expires_at: 10_000,
    };
    store.create_cli_login(&pending).await.unwrap();
    assert!(matches!(
        store.create_cli_login(&pending).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        store.find_pending_cli_login("p1", 5_000).await.unwrap(),
        Some(pending.clone())
    );
    assert_eq!(
        store.find_pending_cli_login("p1", 10_000).await.unwrap(),
        None
    );
    assert_eq!(store.find_pending_cli_login("nope", 0).await.unwrap(), None);

    // Completion after the sign-in window fails; within it, exactly one of several wins.
    assert!(
        !store
            .complete_cli_login("p1", "h0", b"sealed", 10_000, 70_000)
            .await
            .unwrap()
    );
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.complete_cli_login("p1", &format!("h{i}"), &[i as u8; 3], 5_000, 65_000)
                .await
                .unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
    // Completed: no longer pending, cannot be abandoned.
    assert_eq!(
        store.find_pending_cli_login("p1", 5_000).await.unwrap(),
        None
    );
    assert!(!store.delete_pending_cli_login("p1").await.unwrap());

    // Redeeming takes the row exactly once, whichever code won.
    let mut taken = Vec::new();
    for i in 0..6 {
        if let Some(c) = store.take_cli_login_code(&format!("h{i}")).await.unwrap() {
            taken.push((i, c));
        }
    }
    assert_eq!(taken.len(), 1);
    let (i, c) = &taken[0];
    assert_eq!(c.id, "p1");
    assert_eq!(c.port, 65_535);
    assert_eq!(c.code_challenge, "challenge");
    assert_eq!(c.credentials_sealed, vec![*i as u8; 3]);
    assert_eq!(c.expires_at, 65_000);
    assert!(
        store
            .take_cli_login_code(&format!("h{i}"))
            .await
            .unwrap()
            .is_none()
    );

    // Abandon and purge.
    store
        .create_cli_login(&PendingCliLogin {
            id: "p2".into(),
            ..pending.clone()
        })
        .await
        .unwrap();
    assert!(store.delete_pending_cli_login("p2").await.unwrap());
    for (id, exp) in [("p3", 2_000), ("p4", 9_000)] {
        store
            .create_cli_login(&PendingCliLogin {
                id: id.into(),
                expires_at: exp,
                ..pending.clone()
            })
            .await
            .unwrap();
    }
    assert_eq!(store.purge_expired_cli_logins(5_000).await.unwrap(), 1);
    assert!(
        store
            .find_pending_cli_login("p4", 5_000)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .find_pending_cli_login("p3", 0)
            .await
            .unwrap()
            .is_none()
    );
}

// ---- hot-path caches and the group-commit writer (docs/performance.md) ----------------------

async fn account_with_key(store: &Store, id: &str, alias: &str, key_id: &str) {
    store
        .create_account(&account(id, alias), &key(key_id, id))
        .await
        .unwrap();
}

async fn cached_reads_see_local_changes_at_once(store: Store) {
    account_with_key(&store, "1000000000000001", "cache", "LTAIcache").await;
    let t = 1_800_000_000_000;
    let k = store.cached(t).find_access_key("LTAIcache").await.unwrap();
    assert_eq!(k.unwrap().status, KeyStatus::Active);
    assert!(store.cached_entries() >= 1);
    // Same instant, so no expiry is involved: the change itself invalidates.
    assert!(
        store
            .update_access_key_status("LTAIcache", KeyStatus::Inactive, t)
            .await
            .unwrap()
    );
    let k = store.cached(t).find_access_key("LTAIcache").await.unwrap();
    assert_eq!(k.unwrap().status, KeyStatus::Inactive);
    // Missing rows are not cached: a key created afterwards is found at once.
    assert!(
        store
            .cached(t)
            .find_access_key("LTAIlater")
            .await
            .unwrap()
            .is_none()
    );
    account_with_key(&store, "1000000000000002", "later", "LTAIlater").await;
    assert!(
        store
            .cached(t)
            .find_access_key("LTAIlater")
            .await
            .unwrap()
            .is_some()
    );
}

async fn concurrent_writes_each_get_their_own_answer(store: Store) {
    // 100 nonces, each sent twice at once: exactly one of each pair is fresh.
    let mut tasks = Vec::new();
    for i in 0..200 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let n = format!("n{}", i % 100);
            (i % 100, s.record_nonce("K", &n, 1000, 2000).await.unwrap())
        }));
    }
    let mut fresh = vec![0; 100];
    for t in tasks {
        let (i, outcome) = t.await.unwrap();
        if outcome == NonceOutcome::Fresh {
            fresh[i] += 1;
        }
    }
    assert!(fresh.iter().all(|&f| f == 1), "{fresh:?}");
    // And the database holds them: a later use is a replay.
    assert_eq!(
        store.record_nonce("K", "n7", 1500, 2500).await.unwrap(),
        NonceOutcome::Replayed
    );

    // An expired nonce may be taken over, by exactly one of several concurrent users.
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.record_nonce("K", "n3", 2000, 3000).await.unwrap()
        }));
    }
    let mut takeovers = 0;
    for t in tasks {
        if t.await.unwrap() == NonceOutcome::Fresh {
            takeovers += 1;
        }
    }
    assert_eq!(takeovers, 1);

    // Assertion replay keys: the same in one batch.
    let mut tasks = Vec::new();
    for i in 0..60 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            (
                i % 20,
                s.record_assertion(&format!("idp a{}", i % 20), 0, 5000)
                    .await
                    .unwrap(),
            )
        }));
    }
    let mut accepted = vec![0; 20];
    for t in tasks {
        let (i, ok) = t.await.unwrap();
        accepted[i] += usize::from(ok);
    }
    assert!(accepted.iter().all(|&a| a == 1), "{accepted:?}");

    // Audit events written together are all there; a duplicate id in the same batch fails
    // alone (its batch is retried one by one) while the others are written.
    account_with_key(&store, "1000000000000003", "audit", "LTAIaudit").await;
    let event = |id: &str| rambridge::store::AuditEvent {
        id: id.to_string(),
        account_id: "1000000000000003".into(),
        at: 1,
        event: "AssumeRoleWithSAML".into(),
        provider: "p".into(),
        subject: "s".into(),
        outcome: "Success".into(),
        reason: "Success".into(),
        source_ip: "127.0.0.1".into(),
    };
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = store.clone();
        let e = event(&format!("ev{}", if i == 39 { 0 } else { i }));
        tasks.push(tokio::spawn(
            async move { s.record_audit(&e).await.is_ok() },
        ));
    }
    let mut written = 0;
    for t in tasks {
        written += usize::from(t.await.unwrap());
    }
    assert_eq!(written, 39, "exactly the duplicate id fails");
    let listed = store.list_audit("1000000000000003", 100).await.unwrap();
    assert_eq!(listed.len(), 39);
}

contract!(@extra cached_reads_see_local_changes_at_once, concurrent_writes_each_get_their_own_answer);

/// Two store handles on one database stand for two replicas: a change made through one is
/// served stale by the other for less than CACHE_TTL_MS, never longer.
async fn another_replicas_change_is_seen_within_the_ttl(a: Store, b: Store) {
    use rambridge::store::{CACHE_TTL_MS, Role};
    account_with_key(&a, "1000000000000004", "replicas", "LTAIrepl").await;
    let role = Role {
        id: "3000000000000000009".into(),
        account_id: "1000000000000004".into(),
        name: "r".into(),
        description: String::new(),
        trust_policy: "{}".into(),
        max_session_duration: 3600,
        created_at: 0,
        updated_at: 0,
        sessions_valid_after: 0,
    };
    a.create_role(&role).await.unwrap();
    let t = 1_800_000_000_000;
    let seen = |s: Store, at: i64| async move {
        s.cached(at)
            .find_role_by_id("3000000000000000009")
            .await
            .unwrap()
            .unwrap()
            .sessions_valid_after
    };
    assert_eq!(seen(b.clone(), t).await, 0);
    a.update_role(&Role {
        sessions_valid_after: 42,
        ..role.clone()
    })
    .await
    .unwrap();
    assert_eq!(
        seen(a.clone(), t).await,
        42,
        "the changing replica sees it at once"
    );
    assert_eq!(seen(b.clone(), t + CACHE_TTL_MS - 1).await, 0, "cached");
    assert_eq!(seen(b.clone(), t + CACHE_TTL_MS).await, 42, "expired");
    // A clock that went backwards does not extend an entry's life.
    a.update_role(&Role {
        sessions_valid_after: 43,
        ..role
    })
    .await
    .unwrap();
    assert_eq!(seen(b.clone(), t - 1).await, 43);
}

#[tokio::test]
async fn sqlite_replicas_share_changes_within_the_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("r.db").display());
    let a = Store::connect(&url).await.unwrap();
    let b = Store::connect(&url).await.unwrap();
    another_replicas_change_is_seen_within_the_ttl(a, b).await;
}

#[tokio::test]
async fn postgres_replicas_share_changes_within_the_ttl() {
    let Some((a, guard)) = postgres().await else {
        return;
    };
    let url = guard
        .downcast_ref::<DropDb>()
        .map(|d| {
            let (base, _) = d.admin_url.rsplit_once('/').unwrap();
            format!("{base}/{}", d.name)
        })
        .unwrap();
    let b = Store::connect(&url).await.unwrap();
    another_replicas_change_is_seen_within_the_ttl(a, b).await;
}
