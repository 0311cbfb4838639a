//! What `rambridge login` prints on stdout (nothing else is ever written there):
//!
//! - `env`: `export` lines for the variables the Alibaba Cloud SDKs, the credentials library
//!   and the aliyun CLI read (`ALIBABA_CLOUD_ACCESS_KEY_ID`, `..._SECRET`, `..._SECURITY_TOKEN`).
//! - `json`: the credentials with their expiry and role, in the shape of the credentials URI
//!   provider's answer (`Code: Success`, `AccessKeyId`, `AccessKeySecret`, `SecurityToken`,
//!   `Expiration`), so the same command also feeds `CredentialsURI`-style consumers.
//! - `credential-process`: the JSON the aliyun CLI's `External` mode parses from its process's
//!   stdout (`mode`, `access_key_id`, `access_key_secret`, `sts_token`; see docs/login.md).
//! - `aliyun-profile`: nothing on stdout; the profile is written to the aliyun CLI config.

use serde_json::json;

use super::IssuedCredentials;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// `export NAME='value'` lines for a POSIX shell (`eval "$(rambridge login ...)"`).
    Env,
    /// One JSON object with the credentials, expiry and role.
    Json,
    /// The JSON the aliyun CLI's External credential mode reads.
    CredentialProcess,
    /// Write a StsToken profile into the aliyun CLI configuration.
    AliyunProfile,
}

/// Quotes a value for a POSIX shell.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\"'\"'"))
}

/// `env`: export lines.
pub fn env(c: &IssuedCredentials) -> String {
    format!(
        "export ALIBABA_CLOUD_ACCESS_KEY_ID={}\nexport ALIBABA_CLOUD_ACCESS_KEY_SECRET={}\n\
         export ALIBABA_CLOUD_SECURITY_TOKEN={}\n# expires {} (role {})\n",
        shell_quote(&c.access_key_id),
        shell_quote(&c.access_key_secret),
        shell_quote(&c.security_token),
        c.expiration,
        c.role_arn,
    )
}

/// `json`.
pub fn json(c: &IssuedCredentials) -> String {
    let v = json!({
        "Code": "Success",
        "AccessKeyId": c.access_key_id,
        "AccessKeySecret": c.access_key_secret,
        "SecurityToken": c.security_token,
        "Expiration": c.expiration,
        "RoleArn": c.role_arn,
        "AccountId": c.account_id(),
    });
    format!("{v}\n")
}

/// `credential-process`: the aliyun CLI External mode's JSON (`mode` must be `StsToken`, or the
/// CLI would run the process again).
pub fn credential_process(c: &IssuedCredentials) -> String {
    let v = json!({
        "mode": "StsToken",
        "access_key_id": c.access_key_id,
        "access_key_secret": c.access_key_secret,
        "sts_token": c.security_token,
    });
    format!("{v}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> IssuedCredentials {
        IssuedCredentials {
            access_key_id: "STS.abc".into(),
            access_key_secret: "it's".into(),
            security_token: "RBS1.t".into(),
            expiration: "2026-11-22T13:00:00Z".into(),
            role_arn: "acs:ram::1234567890123456:role/admin".into(),
        }
    }

    #[test]
    fn env_lines_are_quoted_for_sh() {
        let out = env(&creds());
        assert!(out.contains("export ALIBABA_CLOUD_ACCESS_KEY_ID='STS.abc'\n"));
        assert!(out.contains("export ALIBABA_CLOUD_ACCESS_KEY_SECRET='it'\"'\"'s'\n"));
        assert!(out.contains("export ALIBABA_CLOUD_SECURITY_TOKEN='RBS1.t'\n"));
        // The shell reads the quoted value back exactly.
        let script = format!("{out}printf %s \"$ALIBABA_CLOUD_ACCESS_KEY_SECRET\"");
        let got = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(got.stdout).unwrap(), "it's");
    }

    #[test]
    fn credential_process_is_the_aliyun_external_shape() {
        let v: serde_json::Value = serde_json::from_str(&credential_process(&creds())).unwrap();
        assert_eq!(
            v,
            json!({"mode": "StsToken", "access_key_id": "STS.abc",
                   "access_key_secret": "it's", "sts_token": "RBS1.t"})
        );
        let v: serde_json::Value = serde_json::from_str(&json(&creds())).unwrap();
        assert_eq!(v["Code"], "Success");
        assert_eq!(v["Expiration"], "2026-11-22T13:00:00Z");
        assert_eq!(v["AccountId"], "1234567890123456");
    }
}
