use std::path::PathBuf;

use super::*;

fn settings_with_db(url: &str) -> Settings {
    Settings {
        database_url: Some(url.into()),
        ..Settings::default()
    }
}

#[test]
fn defaults_apply() {
    let c = Config::from_settings(Settings::default()).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
    assert_eq!(
        c.master_key,
        MasterKeySource::File {
            path: PathBuf::from("rambridge.db.master-key"),
            generate_if_missing: true
        }
    );
    assert_eq!(c.public_url_or(c.listen), "http://127.0.0.1:8080");
    assert_eq!(c.signature_window_seconds, 900);
}

#[test]
fn upper_layer_wins_field_by_field() {
    let cli = Settings {
        listen: Some("127.0.0.1:9000".parse().unwrap()),
        ..Settings::default()
    };
    let file = Settings::from_toml(
        "listen = \"127.0.0.1:7000\"\nlog = \"debug\"\ndatabase_url = \"sqlite://x.db\"\n",
    )
    .unwrap();
    let c = Config::from_settings(cli.or(file)).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:9000");
    assert_eq!(c.log, "debug");
    assert_eq!(c.database_url, "sqlite://x.db");
}

#[test]
fn unknown_file_keys_are_rejected() {
    let err = Settings::from_toml("lisen = \"127.0.0.1:1\"").unwrap_err();
    assert!(err.contains("lisen"), "{err}");
}

#[test]
fn example_config_parses() {
    let text = include_str!("../../config.example.toml");
    let s = Settings::from_toml(text).unwrap();
    Config::from_settings(s).unwrap();
}

#[test]
fn postgres_requires_explicit_key() {
    let err = Config::from_settings(settings_with_db("postgres://u@h/db")).unwrap_err();
    assert!(err.to_string().contains("master_key"), "{err}");
    let mut s = settings_with_db("postgres://u@h/db");
    s.master_key_file = Some("/k".into());
    assert!(Config::from_settings(s).is_ok());
}

#[test]
fn memory_database_gets_ephemeral_key() {
    let c = Config::from_settings(settings_with_db("sqlite::memory:")).unwrap();
    assert_eq!(c.master_key, MasterKeySource::Ephemeral);
}

#[test]
fn bad_values_are_rejected_with_their_key() {
    for (s, key) in [
        (settings_with_db("mysql://x"), "database_url"),
        (
            Settings {
                public_url: Some("ftp://x".into()),
                ..Settings::default()
            },
            "public_url",
        ),
        (
            Settings {
                master_key: Some(Secret("a".into())),
                master_key_file: Some("/k".into()),
                ..Settings::default()
            },
            "master_key",
        ),
        (
            Settings {
                signature_window_seconds: Some(5),
                ..Settings::default()
            },
            "signature_window_seconds",
        ),
    ] {
        let err = Config::from_settings(s).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
    }
}

#[test]
fn public_url_loses_trailing_slash() {
    let c = Config::from_settings(Settings {
        public_url: Some("https://sso.example.com/".into()),
        ..Settings::default()
    })
    .unwrap();
    assert_eq!(c.public_url.as_deref(), Some("https://sso.example.com"));
}

#[test]
fn secrets_are_redacted() {
    let s = Settings {
        master_key: Some(Secret("c2VjcmV0".into())),
        ..Settings::default()
    };
    assert!(!format!("{s:?}").contains("c2VjcmV0"));
}

#[test]
fn sqlite_paths() {
    assert_eq!(
        sqlite_path("sqlite://a/b.db?mode=rwc"),
        Some("a/b.db".into())
    );
    assert_eq!(sqlite_path("sqlite:b.db"), Some("b.db".into()));
    assert_eq!(sqlite_path("sqlite::memory:"), None);
}

#[test]
fn trusted_proxies_and_domain_suffix() {
    let c = Config::from_settings(Settings {
        trusted_proxies: Some("127.0.0.1, 10.0.0.0/8".into()),
        ..Settings::default()
    })
    .unwrap();
    assert_eq!(c.trusted_proxies.len(), 2);
    assert_eq!(c.default_domain_suffix, "onaliyun.com");
    for (s, key) in [
        (
            Settings {
                trusted_proxies: Some("nope".into()),
                ..Settings::default()
            },
            "trusted_proxies",
        ),
        (
            Settings {
                default_domain_suffix: Some("a..b".into()),
                ..Settings::default()
            },
            "default_domain_suffix",
        ),
    ] {
        assert!(
            Config::from_settings(s)
                .unwrap_err()
                .to_string()
                .contains(key)
        );
    }
}

#[test]
fn saml_metadata_refresh_settings() {
    let c = Config::from_settings(Settings::default()).unwrap();
    assert_eq!(c.saml_metadata_refresh_seconds, 3600);
    assert_eq!(c.saml_metadata_extra_roots_file, None);
    assert!(!c.danger_saml_metadata_allow_private_addresses);
    let file = Settings::from_toml(
        "saml_metadata_refresh_seconds = 600\nsaml_metadata_extra_roots_file = \"/etc/ca.pem\"\n\
         danger_saml_metadata_allow_private_addresses = true\n",
    )
    .unwrap();
    let cli = Settings {
        saml_metadata_refresh_seconds: Some(120),
        ..Settings::default()
    };
    let c = Config::from_settings(cli.or(file)).unwrap();
    assert_eq!(c.saml_metadata_refresh_seconds, 120);
    assert_eq!(
        c.saml_metadata_extra_roots_file,
        Some(PathBuf::from("/etc/ca.pem"))
    );
    assert!(c.danger_saml_metadata_allow_private_addresses);
    for bad in [Some(59), Some(604_801)] {
        let err = Config::from_settings(Settings {
            saml_metadata_refresh_seconds: bad,
            ..Settings::default()
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("saml_metadata_refresh_seconds"),
            "{err}"
        );
    }
    let err = Config::from_settings(Settings {
        saml_metadata_extra_roots_file: Some(PathBuf::new()),
        ..Settings::default()
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("saml_metadata_extra_roots_file"),
        "{err}"
    );
}

#[test]
fn oidc_settings() {
    let c = Config::from_settings(Settings::default()).unwrap();
    assert_eq!(c.oidc_clock_skew_seconds, 120);
    assert_eq!(c.oidc_jwks_cache_seconds, 3600);
    assert_eq!(c.oidc_jwks_min_refetch_seconds, 60);
    assert!(!c.oidc_use_system_roots);
    assert!(!c.danger_oidc_allow_private_addresses);
    let file = Settings::from_toml(
        "oidc_clock_skew_seconds = 30\noidc_use_system_roots = true\n\
         oidc_jwks_cache_seconds = 600\noidc_jwks_min_refetch_seconds = 5\n\
         danger_oidc_allow_private_addresses = true\n",
    )
    .unwrap();
    let c = Config::from_settings(file).unwrap();
    assert_eq!(c.oidc_clock_skew_seconds, 30);
    assert!(c.oidc_use_system_roots);
    assert_eq!(c.oidc_jwks_cache_seconds, 600);
    assert_eq!(c.oidc_jwks_min_refetch_seconds, 5);
    assert!(c.danger_oidc_allow_private_addresses);
    for (s, key) in [
        (
            Settings {
                oidc_clock_skew_seconds: Some(601),
                ..Settings::default()
            },
            "oidc_clock_skew_seconds",
        ),
        (
            Settings {
                oidc_jwks_cache_seconds: Some(59),
                ..Settings::default()
            },
            "oidc_jwks_cache_seconds",
        ),
        (
            Settings {
                oidc_jwks_min_refetch_seconds: Some(0),
                ..Settings::default()
            },
            "oidc_jwks_min_refetch_seconds",
        ),
        (
            Settings {
                oidc_jwks_min_refetch_seconds: Some(3601),
                ..Settings::default()
            },
            "oidc_jwks_min_refetch_seconds",
        ),
    ] {
        let err = Config::from_settings(s).unwrap_err();
        assert!(err.to_string().contains(key), "{err}");
    }
}
