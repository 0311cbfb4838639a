//! Cryptography owned by rambridge: the master key, AEAD sealing of secrets at rest and of
//! tokens, random identifiers, and the HMAC primitives request signatures use.
//!
//! Invariants:
//! - Nothing is sealed directly under the master key: each [`Purpose`] has its own AES-256-GCM
//!   key derived with HKDF-SHA256, so a value sealed for one purpose never opens as another.
//! - Every sealed value names the master key that sealed it (an 8-byte key id), so keys can be
//!   rotated: new values are sealed with the primary key, older ones still open with previous
//!   keys kept in the [`Keyring`].
//! - Callers bind a sealed value to where it lives through the associated data (for example
//!   the AccessKeyId a secret belongs to), so sealed blobs cannot be swapped between rows.
//! - Key material never appears in `Debug` output or logs.

mod error;
mod keyfile;
pub mod totp;

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hkdf, hmac};

pub use error::CryptoError;
pub use keyfile::{KeyFileError, load_keyring};

/// Format version byte of sealed values.
const SEAL_VERSION: u8 = 1;
/// Length of a key id in sealed values.
pub const KEY_ID_LEN: usize = 8;
/// Bytes a sealed value adds to its plaintext: version, key id, nonce, GCM tag.
pub const SEAL_OVERHEAD: usize = 1 + KEY_ID_LEN + NONCE_LEN + 16;

/// What a sealed value is for; each purpose seals under its own derived key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Secrets stored in the database (AccessKey secrets, MFA seeds).
    AtRest,
    /// STS SecurityTokens handed to clients.
    SessionToken,
}

impl Purpose {
    const ALL: [Purpose; 2] = [Purpose::AtRest, Purpose::SessionToken];

    fn label(self) -> &'static [u8] {
        match self {
            Purpose::AtRest => b"rambridge/seal/at-rest/v1",
            Purpose::SessionToken => b"rambridge/seal/session-token/v1",
        }
    }

    fn index(self) -> usize {
        match self {
            Purpose::AtRest => 0,
            Purpose::SessionToken => 1,
        }
    }
}

/// One 32-byte master key and the keys derived from it.
pub struct MasterKey {
    id: [u8; KEY_ID_LEN],
    sealers: Vec<LessSafeKey>,
    prk: hkdf::Prk,
    sts_secret_key: hmac::Key,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &hex::encode(self.id))
            .finish_non_exhaustive()
    }
}

struct HkdfLen(usize);

impl hkdf::KeyType for HkdfLen {
    fn len(&self) -> usize {
        self.0
    }
}

impl MasterKey {
    /// Builds a master key from its 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey, CryptoError> {
        if bytes.len() != 32 {
            return Err(CryptoError::InvalidMasterKey(format!(
                "got {} bytes",
                bytes.len()
            )));
        }
        let mut id = [0u8; KEY_ID_LEN];
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(b"rambridge/master-key-id/v1");
        ctx.update(bytes);
        id.copy_from_slice(ctx.finish().as_ref().get(..KEY_ID_LEN).unwrap_or_default());
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"rambridge/master-key/v1").extract(bytes);
        let mut sealers = Vec::with_capacity(Purpose::ALL.len());
        for purpose in Purpose::ALL {
            let mut key = [0u8; 32];
            derive_into(&prk, purpose.label(), &mut key)?;
            let unbound = UnboundKey::new(&AES_256_GCM, &key).map_err(|_| CryptoError::Random)?;
            sealers.push(LessSafeKey::new(unbound));
        }
        let mut sts = [0u8; 32];
        derive_into(&prk, b"rambridge/sts-secret/v1", &mut sts)?;
        Ok(MasterKey {
            id,
            sealers,
            prk,
            sts_secret_key: hmac::Key::new(hmac::HMAC_SHA256, &sts),
        })
    }

    /// Parses base64 (standard alphabet, padding optional, surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<MasterKey, CryptoError> {
        let trimmed = text.trim();
        let bytes = B64
            .decode(trimmed)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed))
            .map_err(|_| CryptoError::InvalidMasterKey("not valid base64".into()))?;
        MasterKey::from_bytes(&bytes)
    }

    /// Generates a fresh random key and returns it with its base64 text (for writing to a file).
    pub fn generate() -> Result<(MasterKey, String), CryptoError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| CryptoError::Random)?;
        let text = B64.encode(bytes);
        Ok((MasterKey::from_bytes(&bytes)?, text))
    }

    /// The key id sealed values carry, as hex.
    pub fn id_hex(&self) -> String {
        hex::encode(self.id)
    }

    /// Derives `out.len()` bytes of key material for `label` (HKDF-SHA256 expand). Used for
    /// keys that are not AEAD keys, such as the one temporary-credential secrets derive from.
    pub fn derive(&self, label: &[u8], out: &mut [u8]) -> Result<(), CryptoError> {
        derive_into(&self.prk, label, out)
    }

    /// The secret of temporary credentials `access_key_id`: derived, never stored (HMAC-SHA256
    /// under a key derived for this purpose; 32 URL-safe base64 characters).
    pub fn sts_secret(&self, access_key_id: &str) -> String {
        let tag = hmac::sign(&self.sts_secret_key, access_key_id.as_bytes());
        let bytes = tag.as_ref().get(..24).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn sealer(&self, purpose: Purpose) -> Result<&LessSafeKey, CryptoError> {
        self.sealers.get(purpose.index()).ok_or(CryptoError::Unseal)
    }
}

fn derive_into(prk: &hkdf::Prk, label: &[u8], out: &mut [u8]) -> Result<(), CryptoError> {
    let info = [label];
    prk.expand(&info, HkdfLen(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| CryptoError::Random)
}

/// The primary master key (seals) and any previous keys (open only), for rotation.
#[derive(Debug)]
pub struct Keyring {
    primary: MasterKey,
    previous: Vec<MasterKey>,
}

impl Keyring {
    /// A keyring holding one key.
    pub fn new(primary: MasterKey) -> Keyring {
        Keyring {
            primary,
            previous: Vec::new(),
        }
    }

    /// Adds a retired key that can still open values it sealed.
    pub fn with_previous(mut self, key: MasterKey) -> Keyring {
        self.previous.push(key);
        self
    }

    /// The key new values are sealed with.
    pub fn primary(&self) -> &MasterKey {
        &self.primary
    }

    /// Seals `plaintext` for `purpose`, bound to `context` (authenticated, not encrypted).
    /// Layout: version (1) | key id (8) | nonce (12) | ciphertext | tag (16).
    pub fn seal(
        &self,
        purpose: Purpose,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let key = &self.primary;
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| CryptoError::Random)?;
        let mut out = Vec::with_capacity(plaintext.len() + SEAL_OVERHEAD);
        out.push(SEAL_VERSION);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        let header_len = out.len();
        out.extend_from_slice(plaintext);
        let (_, body) = out.split_at_mut(header_len);
        let tag = key
            .sealer(purpose)?
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                body,
            )
            .map_err(|_| CryptoError::Random)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Opens a value sealed by [`Keyring::seal`] with the same purpose and context.
    pub fn open(
        &self,
        purpose: Purpose,
        context: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.open_with_key(purpose, context, sealed)
            .map(|(plain, _)| plain)
    }

    /// Like [`Keyring::open`], also returning the master key that sealed the value (values
    /// derived from a token, such as its secret, must come from the same key).
    pub fn open_with_key(
        &self,
        purpose: Purpose,
        context: &[u8],
        sealed: &[u8],
    ) -> Result<(Vec<u8>, &MasterKey), CryptoError> {
        if sealed.len() < SEAL_OVERHEAD {
            return Err(CryptoError::Unseal);
        }
        let (version, rest) = sealed.split_at(1);
        if version != [SEAL_VERSION] {
            return Err(CryptoError::Unseal);
        }
        let (key_id, rest) = rest.split_at(KEY_ID_LEN);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let key = std::iter::once(&self.primary)
            .chain(self.previous.iter())
            .find(|k| k.id.as_slice() == key_id)
            .ok_or_else(|| CryptoError::UnknownKeyId {
                key_id: hex::encode(key_id),
            })?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Unseal)?;
        let mut buf = ciphertext.to_vec();
        let plain = key
            .sealer(purpose)?
            .open_in_place(nonce, Aad::from(context), &mut buf)
            .map_err(|_| CryptoError::Unseal)?;
        Ok((plain.to_vec(), key))
    }
}

/// Alphabet for AccessKey ids and secrets.
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `len` characters drawn uniformly from `[A-Za-z0-9]` with the OS random source, 64 random
/// bytes per system call (one byte per character before: an STS AccessKeyId cost 24 system
/// calls). Uniform by rejection: a byte is used only below 248 (4 x 62), as `byte % 62`.
pub fn random_alnum(len: usize) -> String {
    const LIMIT: u8 = (ALNUM.len() * 4) as u8;
    let mut out = String::with_capacity(len);
    let mut pool = [0u8; 64];
    let mut next = pool.len();
    while out.len() < len {
        if next == pool.len() {
            OsRng.fill_bytes(&mut pool);
            next = 0;
        }
        let byte = pool.get(next).copied().unwrap_or(LIMIT);
        next += 1;
        if byte < LIMIT
            && let Some(&c) = ALNUM.get(usize::from(byte) % ALNUM.len())
        {
            out.push(char::from(c));
        }
    }
    out
}

/// A request id, uppercase hyphenated: a version 7 UUID, whose first 48 bits are `now_ms` and
/// the other 74 random (thread-local CSPRNG, no system call). Also the id of a sign-in audit
/// event: ids made close in time sort close together, so the audit table's primary-key index
/// grows at its end instead of at a random page per event (docs/performance.md).
pub fn new_request_id(now_ms: i64) -> String {
    let millis = u64::try_from(now_ms).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &rand::random())
        .into_uuid()
        .hyphenated()
        .encode_upper(&mut uuid::Uuid::encode_buffer())
        .to_string()
}

/// `len` decimal digits, the first one non-zero (account and user ids).
pub fn random_digits(len: usize) -> String {
    let mut rng = OsRng;
    (0..len)
        .map(|i| {
            let lo = if i == 0 { 1 } else { 0 };
            char::from(b'0' + rng.gen_range(lo..10u8))
        })
        .collect()
}

/// A new long-term AccessKeyId: `LTAI` + 20 alphanumerics (24 characters, as Alibaba's).
pub fn new_access_key_id() -> String {
    format!("LTAI{}", random_alnum(20))
}

/// A new AccessKey secret: 30 alphanumerics (as Alibaba's).
pub fn new_access_key_secret() -> String {
    random_alnum(30)
}

// Request-signature MACs and hashes use aws-lc-rs: its SHA-1 and SHA-256 use the CPU's SHA
// extensions where present, where ring's SHA-1 is portable Rust (docs/performance.md).
use aws_lc_rs::{digest as fast_digest, hmac as fast_hmac};

/// HMAC-SHA1 as the v1 RPC signature uses it (legacy algorithm mandated by the wire format).
pub fn hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    let k = fast_hmac::Key::new(fast_hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    fast_hmac::sign(&k, message).as_ref().to_vec()
}

/// HMAC-SHA256 (v3 `ACS3-HMAC-SHA256` signatures).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let k = fast_hmac::Key::new(fast_hmac::HMAC_SHA256, key);
    fast_hmac::sign(&k, message).as_ref().to_vec()
}

/// Hashes a password with argon2id (default parameters: 19 MiB, 2 passes) into a PHC string.
pub fn hash_password(password: &str) -> Result<String, CryptoError> {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| CryptoError::Random)
}

/// Checks a password against a PHC string from [`hash_password`] (constant time in the hash).
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
    PasswordHash::new(phc)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(fast_digest::digest(&fast_digest::SHA256, data))
}

/// Checks an HMAC-SHA1 tag in constant time.
pub fn hmac_sha1_verify(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    let k = fast_hmac::Key::new(fast_hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    fast_hmac::verify(&k, message, tag).is_ok()
}

/// Checks an HMAC-SHA256 tag in constant time.
pub fn hmac_sha256_verify(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    let k = fast_hmac::Key::new(fast_hmac::HMAC_SHA256, key);
    fast_hmac::verify(&k, message, tag).is_ok()
}

#[cfg(test)]
mod tests;
