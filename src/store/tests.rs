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
