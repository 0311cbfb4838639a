//! The credential cache: one file per (endpoint, account, role, profile) under the user's cache
//! directory (`$XDG_CACHE_HOME/rambridge/login`, `~/.cache/rambridge/login`, or the platform's
//! equivalent), mode 0600 in a 0700 directory. A login whose request matches exactly one cached
//! credential that is still valid for at least [`MARGIN_SECONDS`] returns it without contacting
//! rambridge or the IdP; `--force` skips the lookup. Expired entries are removed when seen.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::IssuedCredentials;
use super::files::{ensure_private_dir, write_private_atomically};
use crate::clock::parse_iso8601;
use crate::crypto::sha256_hex;

/// A cached credential is used only while it has at least this long to live.
pub const MARGIN_SECONDS: i64 = 300;

/// One cached credential and what it was asked for with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// rambridge base URL.
    pub endpoint: String,
    /// `--profile`.
    pub profile: String,
    /// The role's account id.
    pub account_id: String,
    /// The account alias, when the login knew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_alias: Option<String>,
    /// The credentials.
    pub credentials: IssuedCredentials,
}

/// What a login asks for; unset fields match anything.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// rambridge base URL.
    pub endpoint: &'a str,
    /// `--profile`.
    pub profile: &'a str,
    /// `--account` (alias or id).
    pub account: Option<&'a str>,
    /// `--role` (ARN or name).
    pub role: Option<&'a str>,
}

/// The cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The default location, if the platform has a cache directory.
    pub fn default_dir() -> Option<PathBuf> {
        dirs::cache_dir().map(|d| d.join("rambridge").join("login"))
    }

    /// A cache in `dir`.
    pub fn new(dir: PathBuf) -> Cache {
        Cache { dir }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The only cached credential matching `query` that is valid until `now` + the margin.
    /// Several matches (e.g. no `--role` and two cached roles) count as none.
    pub fn find(&self, query: &Query<'_>, now: DateTime<Utc>) -> Option<Entry> {
        let entries = std::fs::read_dir(&self.dir).ok()?;
        let mut found: Vec<Entry> = Vec::new();
        for file in entries.flatten() {
            let path = file.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let Some(entry) = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<Entry>(&b).ok())
            else {
                continue;
            };
            let expires = parse_iso8601(&entry.credentials.expiration);
            if expires.is_none_or(|e| e <= now) {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            if expires.is_some_and(|e| (e - now).num_seconds() >= MARGIN_SECONDS)
                && matches(&entry, query)
            {
                found.push(entry);
            }
        }
        match found.len() {
            1 => found.pop(),
            _ => None,
        }
    }

    /// Stores `entry` (replacing the one for the same endpoint, account, role and profile).
    pub fn store(&self, entry: &Entry) -> Result<(), super::LoginError> {
        let file_error = |e: std::io::Error| super::LoginError::File {
            what: "credential cache",
            path: self.dir.display().to_string(),
            detail: e.to_string(),
            hint: "check its permissions or set XDG_CACHE_HOME",
        };
        ensure_private_dir(&self.dir).map_err(file_error)?;
        let text = serde_json::to_vec_pretty(entry).map_err(|e| super::LoginError::File {
            what: "credential cache",
            path: self.dir.display().to_string(),
            detail: e.to_string(),
            hint: "report this as a bug",
        })?;
        write_private_atomically(&self.path_of(entry), &text).map_err(file_error)
    }

    fn path_of(&self, entry: &Entry) -> PathBuf {
        let key = format!(
            "{}\n{}\n{}\n{}",
            entry.endpoint, entry.account_id, entry.credentials.role_arn, entry.profile
        );
        self.dir
            .join(format!("{}.json", sha256_hex(key.as_bytes())))
    }
}

fn matches(entry: &Entry, q: &Query<'_>) -> bool {
    let account_ok = q
        .account
        .is_none_or(|a| entry.account_id == a || entry.account_alias.as_deref() == Some(a));
    let role_ok = q
        .role
        .is_none_or(|r| entry.credentials.role_arn == r || entry.credentials.role_name() == r);
    entry.endpoint == q.endpoint && entry.profile == q.profile && account_ok && role_ok
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::clock::format_iso8601;

    fn entry(role: &str, expires: DateTime<Utc>) -> Entry {
        Entry {
            endpoint: "http://rb.test".into(),
            profile: "p".into(),
            account_id: "1234567890123456".into(),
            account_alias: Some("acme".into()),
            credentials: IssuedCredentials {
                access_key_id: format!("STS.{role}"),
                access_key_secret: "s".into(),
                security_token: "t".into(),
                expiration: format_iso8601(expires),
                role_arn: format!("acs:ram::1234567890123456:role/{role}"),
            },
        }
    }

    fn q<'a>(account: Option<&'a str>, role: Option<&'a str>) -> Query<'a> {
        Query {
            endpoint: "http://rb.test",
            profile: "p",
            account,
            role,
        }
    }

    #[test]
    fn finds_the_single_fresh_match_and_drops_expired_entries() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("c"));
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        assert_eq!(cache.find(&q(None, None), now), None, "no directory yet");
        let admin = entry("admin", now + Duration::hours(1));
        cache.store(&admin).unwrap();
        assert_eq!(cache.find(&q(None, None), now), Some(admin.clone()));
        for (account, role) in [
            (Some("acme"), Some("admin")),
            (
                Some("1234567890123456"),
                Some("acs:ram::1234567890123456:role/admin"),
            ),
        ] {
            assert_eq!(cache.find(&q(account, role), now), Some(admin.clone()));
        }
        assert_eq!(cache.find(&q(Some("other"), None), now), None);
        assert_eq!(cache.find(&q(None, Some("dev")), now), None);
        assert_eq!(
            cache.find(
                &Query {
                    profile: "other",
                    ..q(None, None)
                },
                now
            ),
            None
        );
        // Within the margin of its expiry it is not used (but kept until it expires).
        let late = now + Duration::seconds(3600 - MARGIN_SECONDS + 1);
        assert_eq!(cache.find(&q(None, None), late), None);
        // Two roles cached: without --role there is no single answer.
        let dev = entry("dev", now + Duration::hours(2));
        cache.store(&dev).unwrap();
        assert_eq!(cache.find(&q(None, None), now), None);
        assert_eq!(cache.find(&q(None, Some("dev")), now), Some(dev.clone()));
        // Storing the same role again replaces its file.
        let dev2 = Entry {
            credentials: IssuedCredentials {
                access_key_id: "STS.dev2".into(),
                ..dev.credentials.clone()
            },
            ..dev.clone()
        };
        cache.store(&dev2).unwrap();
        assert_eq!(std::fs::read_dir(cache.dir()).unwrap().count(), 2);
        // After admin's expiry its file is removed.
        let later = now + Duration::minutes(61);
        assert_eq!(cache.find(&q(None, None), later), Some(dev2));
        assert_eq!(std::fs::read_dir(cache.dir()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            for f in std::fs::read_dir(cache.dir()).unwrap() {
                let mode = f.unwrap().metadata().unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600);
            }
        }
    }

    #[test]
    fn unreadable_entries_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        std::fs::write(dir.path().join("junk.json"), "{").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let e = entry("admin", now + Duration::hours(1));
        cache.store(&e).unwrap();
        assert_eq!(cache.find(&q(None, None), now), Some(e));
    }
}
