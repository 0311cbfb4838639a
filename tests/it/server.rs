//! The real binary: CLI account management, serving, signed requests, master key file,
//! configuration layering and graceful shutdown.

use std::os::unix::fs::PermissionsExt as _;

use crate::common::{self, JsonOrNull as _, Server, cli, create_account, creds_of};

#[test]
fn account_create_prints_exactly_one_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = cli(dir.path(), &["account", "create", "--alias", "acme"], &[]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let obj = v.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "AccessKeyId",
            "AccessKeySecret",
            "AccountAlias",
            "AccountId"
        ]
    );
    let id = v["AccountId"].as_str().unwrap();
    assert!(
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    assert_eq!(v["AccountAlias"], "acme");
    assert!(v["AccessKeyId"].as_str().unwrap().starts_with("LTAI"));
    assert_eq!(v["AccessKeySecret"].as_str().unwrap().len(), 30);

    // Default database and generated master key live in the working directory.
    assert!(dir.path().join("rambridge.db").exists());
    let key_file = dir.path().join("rambridge.db.master-key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // The secret appears nowhere in the database files.
    let secret = v["AccessKeySecret"].as_str().unwrap().as_bytes().to_vec();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_slice()),
            "secret found in {}",
            path.display()
        );
    }
}

#[test]
fn account_create_rejects_bad_and_duplicate_aliases() {
    let dir = tempfile::tempdir().unwrap();
    create_account(dir.path(), "acme", &[]);
    let (code, out, err) = cli(dir.path(), &["account", "create", "--alias", "acme"], &[]);
    assert_ne!(code, 0);
    assert!(out.is_empty());
    assert!(err.contains("already taken"), "{err}");
    for bad in ["AB", "a_b", "-ab", "ab"] {
        let arg = format!("--alias={bad}");
        let (code, out, err) = cli(dir.path(), &["account", "create", &arg], &[]);
        assert_ne!(code, 0, "{bad}");
        assert!(out.is_empty());
        assert!(err.contains("invalid account alias"), "{bad}: {err}");
    }
    let (code, out, _) = cli(dir.path(), &["account", "list"], &[]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let accounts = v["Accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["AccountAlias"], "acme");
    assert!(accounts[0].get("AccessKeySecret").is_none());
}

#[test]
fn bad_configuration_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.toml"), "lisen = 1\n").unwrap();
    let (code, _, err) = cli(dir.path(), &["serve", "--config", "c.toml"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("lisen"), "{err}");
    let (code, _, err) = cli(
        dir.path(),
        &["account", "list"],
        &[("RAMBRIDGE_MASTER_KEY", "short")],
    );
    assert_ne!(code, 0);
    assert!(err.contains("master key"), "{err}");
}

#[tokio::test]
async fn serves_signed_requests_and_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let account = create_account(dir.path(), "acme", &[]);
    let server = Server::start(dir.path(), &[], &[]);
    let http = common::http_client();
    for path in ["/healthz", "/readyz"] {
        let r = http
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
    }
    let creds = creds_of(&account);
    let (status, body) =
        common::call_v1(&server, &creds, "2015-04-01", "GetCallerIdentity", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["AccountId"], account["AccountId"]);
    assert_eq!(body["IdentityType"], "Account");

    let metrics = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "rambridge_requests_total{action=\"GetCallerIdentity\",outcome=\"Success\"} 1"
        ),
        "{metrics}"
    );
    assert_eq!(server.terminate(), Some(0));
}

#[tokio::test]
async fn server_keeps_serving_after_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let account = create_account(dir.path(), "acme", &[]);
    let server = Server::start(dir.path(), &["--max-request-bytes", "4096"], &[]);
    let http = common::http_client();
    let big = http
        .post(format!("{}/", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 64 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status().as_u16(), 413);
    assert_eq!(big.json_or_null().await["Code"], "RequestTooLarge");
    let garbage = http
        .post(format!("{}/?%%%", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status().as_u16(), 400);
    assert_eq!(garbage.json_or_null().await["Code"], "InvalidParameter");
    let (status, _) = common::call_v1(
        &server,
        &creds_of(&account),
        "2015-04-01",
        "GetCallerIdentity",
        &[],
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn configuration_layers_flags_env_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    std::fs::write(
        dir.path().join("c.toml"),
        "database_url = \"sqlite://from-file.db\"\nlisten = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    // File gives the database; env gives the key; the flag (--listen 127.0.0.1:0) beats the file.
    let env = [
        ("RAMBRIDGE_MASTER_KEY", key),
        ("RAMBRIDGE_CONFIG", "c.toml"),
    ];
    let (code, out, err) = cli(
        dir.path(),
        &["account", "create", "--alias", "layered"],
        &env,
    );
    assert_eq!(code, 0, "{err}");
    let account: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(dir.path().join("from-file.db").exists());
    assert!(
        !dir.path().join("from-file.db.master-key").exists(),
        "inline key must be used"
    );
    let server = Server::start(dir.path(), &[], &env);
    let (status, body) = common::call_v1(
        &server,
        &creds_of(&account),
        "2015-04-01",
        "GetCallerIdentity",
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // A different key cannot open the sealed secrets: the server fails closed.
    drop(server);
    let other = [
        (
            "RAMBRIDGE_MASTER_KEY",
            "HwECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ),
        ("RAMBRIDGE_CONFIG", "c.toml"),
    ];
    let server = Server::start(dir.path(), &[], &other);
    let (status, body) = common::call_v1(
        &server,
        &creds_of(&account),
        "2015-04-01",
        "GetCallerIdentity",
        &[],
    )
    .await;
    assert_eq!(
        (status, body["Code"].as_str()),
        (500, Some("InternalError"))
    );
}

#[tokio::test]
async fn sp_metadata_with_and_without_sp_key() {
    let dir = tempfile::tempdir().unwrap();
    let account = create_account(dir.path(), "acme", &[]);
    let server = Server::start(dir.path(), &[], &[]);
    let http = common::http_client();
    let role = http
        .get(format!("{}/saml-role/sp-metadata.xml", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(role.status().as_u16(), 200);
    let xml = role.text().await.unwrap();
    assert!(
        xml.contains(&format!("entityID=\"{}/saml-role\"", server.base)),
        "{xml}"
    );
    assert!(xml.contains(&format!("Location=\"{}/saml-role/sso\"", server.base)));
    assert!(!xml.contains("KeyDescriptor"));
    let id = account["AccountId"].as_str().unwrap();
    let user = http
        .get(format!(
            "{}/saml/sp-metadata.xml?AccountId={id}",
            server.base
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        user.contains(&format!("entityID=\"{}/{id}/saml/SSO\"", server.base)),
        "{user}"
    );
    let missing = http
        .get(format!("{}/saml/sp-metadata.xml?AccountId=1", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    drop(server);

    let certs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("certs");
    let key = certs.join("sp-test-key.pem");
    let cert = certs.join("sp-test-cert.pem");
    let server = Server::start(
        dir.path(),
        &[
            "--saml-sp-key-file",
            key.to_str().unwrap(),
            "--saml-sp-cert-file",
            cert.to_str().unwrap(),
        ],
        &[],
    );
    let xml = http
        .get(format!("{}/saml-role/sp-metadata.xml", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        xml.contains("<md:KeyDescriptor use=\"encryption\">"),
        "{xml}"
    );
    assert!(xml.contains("<md:KeyDescriptor use=\"signing\">"));
    drop(server);
    // A key without its certificate is a configuration error.
    let (code, _, err) = cli(
        dir.path(),
        &["serve", "--saml-sp-key-file", key.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("saml_sp_cert_file"), "{err}");
}

#[test]
fn serve_refuses_a_bad_saml_metadata_roots_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("roots.pem"), "not a certificate").unwrap();
    for (file, expect) in [
        ("missing.pem", "reading saml_metadata_extra_roots_file"),
        ("roots.pem", "no PEM certificate"),
    ] {
        let (code, _, err) = cli(
            dir.path(),
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--saml-metadata-extra-roots-file",
                file,
            ],
            &[],
        );
        assert_ne!(code, 0, "{file}");
        assert!(err.contains(expect), "{file}: {err}");
    }
}
