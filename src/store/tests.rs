use super::redact_url;

#[test]
fn redact_url_hides_password_only() {
    assert_eq!(
        redact_url("postgres://bob:s3cret@db:5432/x"),
        "postgres://bob:***@db:5432/x"
    );
    assert_eq!(redact_url("postgres://bob@db/x"), "postgres://bob@db/x");
    assert_eq!(redact_url("sqlite://rambridge.db"), "sqlite://rambridge.db");
}

/// A store on a new SQLite database file in a temporary directory (kept alive by the caller).
async fn file_store() -> (tempfile::TempDir, super::Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = super::Store::connect(&url).await.unwrap();
    (dir, store)
}

fn sqlite_pool(backend: &super::Backend) -> &sqlx::SqlitePool {
    match backend {
        super::Backend::Sqlite(pool) => pool,
        super::Backend::Postgres(_) => panic!("not SQLite"),
    }
}

/// New databases get the store's page size and the pool never checkpoints on commit.
#[tokio::test]
async fn new_sqlite_databases_use_small_pages_and_no_autocheckpoint() {
    let (_dir, store) = file_store().await;
    let pool = sqlite_pool(&store.backend);
    let (page_size,): (i64,) = sqlx::query_as("PRAGMA page_size")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(page_size, i64::from(super::SQLITE_PAGE_SIZE));
    assert_eq!(page_size, 1024);
    let (autocheckpoint,): (i64,) = sqlx::query_as("PRAGMA wal_autocheckpoint")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(autocheckpoint, 0);
}

/// The group-commit writer writes through one connection of its own, kept open, with the
/// larger page cache; every other connection keeps SQLite's default. Statement journals of
/// every connection stay in memory.
#[tokio::test]
async fn the_sqlite_writer_has_its_own_connection_and_cache() {
    let (_dir, store) = file_store().await;
    let pool = sqlite_pool(&store.backend);
    let writer = sqlite_pool(store.shared.writer.backend());
    let outcome = store
        .record_nonce("LTAIwriter", "n-1", 1_000, 2_000)
        .await
        .unwrap();
    assert_eq!(outcome, super::NonceOutcome::Fresh);
    assert_eq!(writer.size(), 1);
    assert_eq!(writer.options().get_max_connections(), 1);
    assert_eq!(writer.options().get_idle_timeout(), None);
    assert_eq!(writer.options().get_max_lifetime(), None);
    let cache = |p: &sqlx::SqlitePool| {
        let p = p.clone();
        async move {
            let (kib,): (i64,) = sqlx::query_as("PRAGMA cache_size")
                .fetch_one(&p)
                .await
                .unwrap();
            kib
        }
    };
    assert_eq!(
        cache(writer).await,
        -i64::from(super::SQLITE_WRITER_CACHE_KIB)
    );
    assert_eq!(cache(pool).await, -2000);
    for p in [writer, pool] {
        let (temp_store,): (i64,) = sqlx::query_as("PRAGMA temp_store")
            .fetch_one(p)
            .await
            .unwrap();
        assert_eq!(temp_store, 2, "MEMORY");
    }
    // The writer's row is visible to every other connection.
    let (n,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM request_nonces WHERE access_key_id = 'LTAIwriter'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(n, 1);
    store.close().await;
    assert!(writer.is_closed());
}
