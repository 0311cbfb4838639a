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

/// New databases get the store's page size and the pool never checkpoints on commit.
#[tokio::test]
async fn new_sqlite_databases_use_small_pages_and_no_autocheckpoint() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let store = super::Store::connect(&url).await.unwrap();
    let super::Backend::Sqlite(pool) = &store.backend else {
        panic!("not SQLite");
    };
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
