//! IMS SAML providers in process: the six real-world metadata files import, bad metadata is
//! refused with a message saying what is wrong, rollover through UpdateSAMLProvider.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::test_support::{Harness, code};

const IMS: &str = "2019-08-15";

fn metadata(name: &str) -> String {
    B64.encode(
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("metadata")
                .join(name),
        )
        .unwrap(),
    )
}

async fn ims(
    h: &Harness,
    action: &str,
    params: &[(&str, &str)],
) -> (StatusCode, serde_json::Value) {
    h.call(&h.creds(), IMS, action, params).await
}

#[tokio::test]
async fn real_world_metadata_imports() {
    let h = Harness::new().await;
    for (name, file) in [
        ("adfs", "adfs-federation-metadata.xml"),
        ("entra", "entra-id-federation-metadata.xml"),
        ("google", "google-workspace-idp-metadata.xml"),
        ("okta", "okta-idp-metadata.xml"),
        ("onelogin", "onelogin-idp-metadata.xml"),
        ("shibboleth", "shibboleth-testshib-idp-metadata.xml"),
    ] {
        let (status, body) = ims(
            &h,
            "CreateSAMLProvider",
            &[
                ("SAMLProviderName", name),
                ("EncodedSAMLMetadataDocument", &metadata(file)),
                ("Description", file),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{file}: {body}");
        assert_eq!(
            body["SAMLProvider"]["Arn"],
            format!("acs:ram::{}:saml-provider/{name}", h.account.account_id)
        );
        let stored = h
            .state
            .store
            .find_saml_provider(&h.account.account_id, name)
            .await
            .unwrap()
            .unwrap();
        assert!(!stored.certificates.is_empty(), "{file}");
        assert!(
            stored.entity_id.starts_with("http"),
            "{file}: {}",
            stored.entity_id
        );
    }
    let google = h
        .state
        .store
        .find_saml_provider(&h.account.account_id, "google")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        google.certificates.len(),
        2,
        "rollover: both signing keys kept"
    );
    let (_, got) = ims(&h, "GetSAMLProvider", &[("SAMLProviderName", "okta")]).await;
    assert_eq!(
        got["SAMLProvider"]["EncodedSAMLMetadataDocument"],
        metadata("okta-idp-metadata.xml")
    );
    let (_, list) = ims(&h, "ListSAMLProviders", &[("MaxItems", "4")]).await;
    assert_eq!(
        list["SAMLProviders"]["SAMLProvider"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(list["IsTruncated"], true);
    let (_, rest) = ims(
        &h,
        "ListSAMLProviders",
        &[("Marker", list["Marker"].as_str().unwrap())],
    )
    .await;
    assert_eq!(
        rest["SAMLProviders"]["SAMLProvider"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn bad_metadata_is_refused_and_changes_nothing() {
    let h = Harness::new().await;
    let cases: Vec<(String, &str)> = vec![
        (B64.encode(b"definitely not xml"), "xml"),
        (B64.encode(b"<html><body>login</body></html>"), "not SAML metadata"),
        ("***".into(), "base64"),
        (B64.encode(br#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#), "signing certificate"),
        (B64.encode(br#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>"#), "SP"),
    ];
    for (doc, why) in cases {
        let (status, body) = ims(
            &h,
            "CreateSAMLProvider",
            &[
                ("SAMLProviderName", "bad"),
                ("EncodedSAMLMetadataDocument", &doc),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {body}");
        assert!(
            code(&body).starts_with("InvalidParameter.EncodedSAMLMetadataDocument"),
            "{why}: {body}"
        );
        let msg = body["Message"].as_str().unwrap().to_lowercase();
        assert!(msg.contains(&why.to_lowercase()), "{why}: {msg}");
    }
    // Expired metadata: Google's validUntil is 2026-12-16; move the clock past it.
    h.clock.advance(chrono::Duration::days(30));
    let (_, body) = ims(
        &h,
        "CreateSAMLProvider",
        &[
            ("SAMLProviderName", "google"),
            (
                "EncodedSAMLMetadataDocument",
                &metadata("google-workspace-idp-metadata.xml"),
            ),
        ],
    )
    .await;
    assert!(
        body["Message"].as_str().unwrap().contains("2026-12-16"),
        "{body}"
    );
    assert!(
        h.state
            .store
            .find_saml_provider(&h.account.account_id, "bad")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        h.state
            .store
            .find_saml_provider(&h.account.account_id, "google")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn provider_lifecycle_and_rollover() {
    let h = Harness::new().await;
    let test_idp = B64.encode(
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/fixtures/saml/idp-metadata.xml"),
        )
        .unwrap(),
    );
    let (s, _) = ims(
        &h,
        "CreateSAMLProvider",
        &[
            ("SAMLProviderName", "idp"),
            ("EncodedSAMLMetadataDocument", &test_idp),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, body) = ims(
        &h,
        "CreateSAMLProvider",
        &[
            ("SAMLProviderName", "idp"),
            ("EncodedSAMLMetadataDocument", &test_idp),
        ],
    )
    .await;
    assert_eq!(code(&body), "EntityAlreadyExists.SAMLProvider");
    let (_, body) = ims(
        &h,
        "CreateSAMLProvider",
        &[
            ("SAMLProviderName", "-bad"),
            ("EncodedSAMLMetadataDocument", &test_idp),
        ],
    )
    .await;
    assert_eq!(code(&body), "InvalidParameter.SAMLProviderName.Format");
    // Rollover: new metadata (here Google's two keys) replaces the certificates.
    let (s, body) = ims(
        &h,
        "UpdateSAMLProvider",
        &[
            ("SAMLProviderName", "idp"),
            (
                "NewEncodedSAMLMetadataDocument",
                &metadata("google-workspace-idp-metadata.xml"),
            ),
            ("NewDescription", "rolled"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["SAMLProvider"]["Description"], "rolled");
    assert_eq!(
        h.state
            .store
            .find_saml_provider(&h.account.account_id, "idp")
            .await
            .unwrap()
            .unwrap()
            .certificates
            .len(),
        2
    );
    let (_, body) = ims(&h, "UpdateSAMLProvider", &[("SAMLProviderName", "idp")]).await;
    assert!(
        code(&body).starts_with("InvalidParameter.NewEncodedSAMLMetadataDocument"),
        "{body}"
    );
    let (s, _) = ims(&h, "DeleteSAMLProvider", &[("SAMLProviderName", "idp")]).await;
    assert_eq!(s, StatusCode::OK);
    let (_, body) = ims(&h, "GetSAMLProvider", &[("SAMLProviderName", "idp")]).await;
    assert_eq!(code(&body), "EntityNotExist.SAMLProvider");
}
