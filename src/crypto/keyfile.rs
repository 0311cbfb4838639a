//! Loading the master key from its configured source, generating it on first start when the
//! configuration says so (mode 0600, path logged, key never logged).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use thiserror::Error;

use super::{CryptoError, Keyring, MasterKey};
use crate::config::MasterKeySource;

/// Errors loading the master key.
#[derive(Debug, Error)]
pub enum KeyFileError {
    /// The key file could not be read or written.
    #[error("master key file {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The key is not 32 bytes of base64.
    #[error("master key from {origin}: {source}")]
    Invalid {
        /// Where the key came from.
        origin: String,
        /// Cause.
        source: CryptoError,
    },
}

/// Builds the keyring from the configured source.
pub fn load_keyring(source: &MasterKeySource) -> Result<Keyring, KeyFileError> {
    let key = match source {
        MasterKeySource::Inline(secret) => {
            MasterKey::from_base64(secret.expose()).map_err(|source| KeyFileError::Invalid {
                origin: "RAMBRIDGE_MASTER_KEY / master_key".into(),
                source,
            })?
        }
        MasterKeySource::File {
            path,
            generate_if_missing,
        } => load_or_generate(path, *generate_if_missing)?,
        MasterKeySource::Ephemeral => {
            tracing::warn!("in-memory database: using an ephemeral master key");
            MasterKey::generate()
                .map_err(|source| KeyFileError::Invalid {
                    origin: "generator".into(),
                    source,
                })?
                .0
        }
    };
    Ok(Keyring::new(key))
}

fn load_or_generate(path: &Path, generate: bool) -> Result<MasterKey, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => MasterKey::from_base64(&text).map_err(|source| KeyFileError::Invalid {
            origin: path.display().to_string(),
            source,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && generate => {
            let (key, text) = MasterKey::generate().map_err(|source| KeyFileError::Invalid {
                origin: "generator".into(),
                source,
            })?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(mut f) => {
                    f.write_all(format!("{text}\n").as_bytes()).map_err(io)?;
                    f.sync_all().map_err(io)?;
                    tracing::info!(path = %path.display(), key_id = %key.id_hex(), "generated a new master key");
                    Ok(key)
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_generate(path, false)
                }
                Err(e) => Err(io(e)),
            }
        }
        Err(e) => Err(io(e)),
    }
}
