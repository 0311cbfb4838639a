//! `rambridge login`: temporary role credentials on the command line through the IdP, without
//! a long-term AccessKey (docs/login.md).
//!
//! Three ways to sign in, one path out:
//! - browser mode (default, [`browser`]): loopback redirect with PKCE to a listener on
//!   127.0.0.1; the web sign-in and role chooser run in the system browser;
//! - ECP mode (`--ecp`, [`ecp`]): the SAML ECP profile against the IdP, for headless machines;
//! - assertion mode (`--saml-assertion-file F`, `-` for stdin): a SAML Response obtained
//!   otherwise.
//!
//! ECP and assertion mode read the roles the Response offers ([`crate::saml::offered`]), pick
//! one ([`roles`]: `--role`, an arrow-key picker on a terminal, or an error listing them) and
//! call `AssumeRoleWithSAML` ([`service`]). The credentials are cached per endpoint, account,
//! role and profile ([`cache`]) and printed ([`output`]) or written as an aliyun CLI profile
//! ([`aliyun_config`]). Every failure is one line on stderr saying what to do, exit status 1.
//!
//! [`server`] is the other side: what rambridge does for these modes (`web::cli_login` routes).

pub mod aliyun_config;
pub mod browser;
pub mod cache;
pub mod ecp;
mod error;
mod files;
pub mod output;
pub mod roles;
pub mod server;
pub mod service;

use std::fmt;
use std::io::Read as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use error::{LoginError, ServerError};
pub use output::OutputFormat;

use crate::clock::{Clock as _, SystemClock};
use crate::saml::offered::{self, Offered, OfferedRole};
use crate::sts::Minted;

/// Role credentials as `rambridge login` hands them over (also the `/cli-login/token` answer).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCredentials {
    /// Temporary AccessKeyId (`STS.`...).
    #[serde(rename = "AccessKeyId")]
    pub access_key_id: String,
    /// AccessKeySecret.
    #[serde(rename = "AccessKeySecret")]
    pub access_key_secret: String,
    /// SecurityToken.
    #[serde(rename = "SecurityToken")]
    pub security_token: String,
    /// Expiry, `yyyy-MM-ddTHH:mm:ssZ`.
    #[serde(rename = "Expiration")]
    pub expiration: String,
    /// The role assumed.
    #[serde(rename = "RoleArn")]
    pub role_arn: String,
}

impl fmt::Debug for IssuedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .field("role_arn", &self.role_arn)
            .finish_non_exhaustive()
    }
}

impl IssuedCredentials {
    /// The role's account id (from the role ARN).
    pub fn account_id(&self) -> &str {
        offered::role_account_id(&self.role_arn)
    }

    /// The role's name (from the role ARN).
    pub fn role_name(&self) -> &str {
        offered::role_name(&self.role_arn)
    }
}

impl From<&Minted> for IssuedCredentials {
    fn from(m: &Minted) -> IssuedCredentials {
        IssuedCredentials {
            access_key_id: m.claims.access_key_id.clone(),
            access_key_secret: m.secret.clone(),
            security_token: m.token.clone(),
            expiration: m.claims.expiration(),
            role_arn: format!("acs:ram::{}:role/{}", m.role.account_id, m.role.name),
        }
    }
}

/// `rambridge login` flags.
#[derive(clap::Args, Debug, Clone)]
pub struct LoginArgs {
    /// rambridge's base URL, e.g. https://sso.example.com.
    #[arg(long, env = "RAMBRIDGE_ENDPOINT")]
    pub endpoint: String,
    /// Account alias (or id) to sign in to: browser and ECP mode start at its IdP.
    #[arg(long, env = "RAMBRIDGE_ACCOUNT")]
    pub account: Option<String>,
    /// Role to assume: its ARN or its name (otherwise: the only one offered, or a picker).
    #[arg(long)]
    pub role: Option<String>,
    /// SAML provider (name or ARN), when the account has several or a role comes via several.
    #[arg(long)]
    pub provider: Option<String>,
    /// Profile name: keys the credential cache and names the aliyun CLI profile written.
    #[arg(long, default_value = "rambridge")]
    pub profile: String,
    /// What to print: env (export lines), json, credential-process (aliyun CLI External mode)
    /// or aliyun-profile (write a StsToken profile into the aliyun CLI config).
    #[arg(long, value_enum, default_value_t = OutputFormat::Env)]
    pub output: OutputFormat,
    /// aliyun CLI configuration file for --output aliyun-profile [default: ~/.aliyun/config.json].
    #[arg(long, value_name = "PATH")]
    pub aliyun_config: Option<PathBuf>,
    /// region_id of a profile created by --output aliyun-profile.
    #[arg(long, default_value = "cn-hangzhou")]
    pub region: String,
    /// Session duration in seconds (900 to the role's maximum; default: the assertion's
    /// SessionDuration or 3600). ECP and assertion mode.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<u32>,
    /// Sign in again even when a cached credential is still valid.
    #[arg(long)]
    pub force: bool,
    /// Print the roles offered (ECP and assertion mode) and exit.
    #[arg(long)]
    pub list_roles: bool,
    /// Browser mode: print the sign-in URL instead of opening a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Browser mode: seconds to wait for the sign-in.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// ECP mode: sign in with the SAML ECP profile (no browser), with --idp-url and --username.
    #[arg(long, conflicts_with = "saml_assertion_file")]
    pub ecp: bool,
    /// ECP mode: the IdP's SAML ECP (SOAP) endpoint.
    #[arg(long, value_name = "URL")]
    pub idp_url: Option<String>,
    /// ECP mode: user name at the IdP (the password is prompted without echo, or taken from
    /// RAMBRIDGE_LOGIN_PASSWORD).
    #[arg(long, env = "RAMBRIDGE_LOGIN_USERNAME")]
    pub username: Option<String>,
    /// Assertion mode: a SAML Response (XML or base64) from this file, or "-" for stdin.
    #[arg(long, value_name = "FILE")]
    pub saml_assertion_file: Option<PathBuf>,
    /// Extra CA certificates (PEM) to trust for rambridge and the IdP.
    #[arg(long, env = "RAMBRIDGE_CA_FILE", value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
}

/// Environment variable holding the ECP password for automation.
pub const PASSWORD_ENV: &str = "RAMBRIDGE_LOGIN_PASSWORD";

/// The sign-in mode, with the flags it needs.
enum Mode<'a> {
    Browser {
        account: &'a str,
    },
    Ecp {
        account: &'a str,
        idp_url: &'a str,
        username: &'a str,
    },
    Assertion(&'a std::path::Path),
}

/// Picks the mode and checks its flags (before anything else, a cached credential included).
fn mode(args: &LoginArgs) -> Result<Mode<'_>, LoginError> {
    let account = || {
        args.account.as_deref().ok_or_else(|| {
            LoginError::usage(if args.ecp {
                "--ecp needs --account (your account's alias, or RAMBRIDGE_ACCOUNT)"
            } else {
                "browser login needs --account (your account's alias, or RAMBRIDGE_ACCOUNT)"
            })
        })
    };
    let mode = match (&args.saml_assertion_file, args.ecp) {
        (Some(f), _) => Mode::Assertion(f),
        (None, true) => Mode::Ecp {
            account: account()?,
            idp_url: args.idp_url.as_deref().ok_or_else(|| {
                LoginError::usage("--ecp needs --idp-url (the IdP's SAML ECP endpoint)")
            })?,
            username: args.username.as_deref().ok_or_else(|| {
                LoginError::usage("--ecp needs --username (or RAMBRIDGE_LOGIN_USERNAME)")
            })?,
        },
        (None, false) => {
            if args.list_roles {
                return Err(LoginError::usage(
                    "--list-roles needs --ecp or --saml-assertion-file (in browser mode the role \
                     chooser lists them)",
                ));
            }
            if args.duration.is_some() {
                return Err(LoginError::usage(
                    "--duration applies to --ecp and --saml-assertion-file; in browser mode the \
                     role sign-in sets the session length",
                ));
            }
            Mode::Browser {
                account: account()?,
            }
        }
    };
    Ok(mode)
}

/// Runs `rambridge login`; what it prints goes to `stdout`.
pub async fn run(args: &LoginArgs, stdout: &mut dyn std::io::Write) -> Result<(), LoginError> {
    let mode = mode(args)?;
    let extra_roots = match &args.ca_file {
        Some(p) => Some(std::fs::read(p).map_err(|e| LoginError::File {
            what: "CA file",
            path: p.display().to_string(),
            detail: e.to_string(),
            hint: "check --ca-file",
        })?),
        None => None,
    };
    let http = service::http_client(extra_roots.as_deref())?;
    let service = service::Service::new(&args.endpoint, http.clone())?;
    let cache = cache::Cache::default_dir().map(cache::Cache::new);
    let query = cache::Query {
        endpoint: service.base(),
        profile: &args.profile,
        account: args.account.as_deref(),
        role: args.role.as_deref(),
    };
    if !args.force
        && !args.list_roles
        && let Some(hit) = cache
            .as_ref()
            .and_then(|c| c.find(&query, SystemClock.now()))
    {
        return emit(args, &hit.credentials, stdout);
    }

    let mut aliases = roles::Aliases::new();
    let (credentials, alias) = match mode {
        Mode::Browser { account } => {
            let creds = browser::sign_in(
                &service,
                &browser::BrowserLogin {
                    account,
                    provider: args.provider.as_deref(),
                    role: args.role.as_deref(),
                    no_browser: args.no_browser,
                    timeout: Duration::from_secs(args.timeout),
                },
            )
            .await?;
            (creds, Some(account.to_string()))
        }
        Mode::Ecp {
            account,
            idp_url,
            username,
        } => {
            let target = service.check(account, args.provider.as_deref()).await?;
            aliases.insert(target.account_id.clone(), target.account_alias.clone());
            let password = password(username, idp_url)?;
            let response = ecp::sign_in(
                &service,
                &http,
                &target.account_alias,
                Some(&target.provider),
                &ecp::IdpLogin {
                    idp_url,
                    username,
                    password: &password,
                },
            )
            .await?;
            match assume(args, &service, &response, &aliases, stdout).await? {
                Some(c) => (c, Some(target.account_alias)),
                None => return Ok(()),
            }
        }
        Mode::Assertion(path) => {
            let raw = read_assertion(path)?;
            let response = offered::decode_any(&raw)?;
            match assume(args, &service, &response, &aliases, stdout).await? {
                Some(c) => (c, args.account.clone()),
                None => return Ok(()),
            }
        }
    };

    if let Some(cache) = &cache {
        let entry = cache::Entry {
            endpoint: service.base().to_string(),
            profile: args.profile.clone(),
            account_id: credentials.account_id().to_string(),
            account_alias: alias,
            credentials: credentials.clone(),
        };
        if let Err(e) = cache.store(&entry) {
            // A cache that cannot be written costs a later re-login, not this one.
            eprintln!("warning: {}", e.one_line());
        }
    }
    emit(args, &credentials, stdout)
}

/// ECP and assertion mode after the sign-in: lists roles (returns `None`) or picks one and
/// assumes it.
async fn assume(
    args: &LoginArgs,
    service: &service::Service,
    response: &[u8],
    aliases: &roles::Aliases,
    stdout: &mut dyn std::io::Write,
) -> Result<Option<IssuedCredentials>, LoginError> {
    let offered = match offered::offered_roles(response)? {
        Offered::Roles(r) => r,
        Offered::Encrypted => {
            // Only rambridge can read an encrypted assertion: the role must be named fully.
            match (args.role.as_deref(), args.provider.as_deref()) {
                (Some(r), Some(p)) if r.contains(":role/") && p.contains(":saml-provider/") => {
                    vec![OfferedRole {
                        role_arn: r.to_string(),
                        provider_arn: p.to_string(),
                    }]
                }
                _ => {
                    return Err(LoginError::usage(
                        "the assertion is encrypted for rambridge, so its roles cannot be read \
                         here; pass --role and --provider as full ARNs",
                    ));
                }
            }
        }
    };
    if args.list_roles {
        write_out(stdout, &roles::list(&offered, aliases))?;
        return Ok(None);
    }
    let picker = |labels: &[String]| roles::terminal_picker(labels);
    let pick: Option<roles::Picker<'_>> = if roles::is_interactive() {
        Some(&picker)
    } else {
        None
    };
    let role = roles::choose(
        &offered,
        args.role.as_deref(),
        args.provider.as_deref(),
        aliases,
        pick,
    )?;
    service
        .assume_role_with_saml(&role, response, args.duration)
        .await
        .map(Some)
}

fn emit(
    args: &LoginArgs,
    c: &IssuedCredentials,
    stdout: &mut dyn std::io::Write,
) -> Result<(), LoginError> {
    match args.output {
        OutputFormat::Env => write_out(stdout, &output::env(c)),
        OutputFormat::Json => write_out(stdout, &output::json(c)),
        OutputFormat::CredentialProcess => write_out(stdout, &output::credential_process(c)),
        OutputFormat::AliyunProfile => {
            let path = match &args.aliyun_config {
                Some(p) => p.clone(),
                None => aliyun_config::default_path().ok_or_else(|| {
                    LoginError::usage(
                        "no home directory for ~/.aliyun/config.json; pass --aliyun-config",
                    )
                })?,
            };
            aliyun_config::write_profile(
                &path,
                &aliyun_config::StsProfile {
                    name: &args.profile,
                    access_key_id: &c.access_key_id,
                    access_key_secret: &c.access_key_secret,
                    sts_token: &c.security_token,
                    region_id: &args.region,
                },
            )?;
            eprintln!(
                "wrote aliyun CLI profile {:?} to {} (role {}, expires {}); use: aliyun --profile {}",
                args.profile,
                path.display(),
                c.role_arn,
                c.expiration,
                args.profile
            );
            Ok(())
        }
    }
}

fn write_out(stdout: &mut dyn std::io::Write, text: &str) -> Result<(), LoginError> {
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| LoginError::File {
            what: "standard output",
            path: "-".into(),
            detail: e.to_string(),
            hint: "check where the output goes",
        })
}

fn read_assertion(path: &std::path::Path) -> Result<Vec<u8>, LoginError> {
    let limit = (crate::saml::response::MAX_RESPONSE_BYTES * 2) as u64;
    let mut buf = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().take(limit).read_to_end(&mut buf)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut buf))
    };
    read.map_err(|e| LoginError::File {
        what: "SAML assertion file",
        path: path.display().to_string(),
        detail: e.to_string(),
        hint: "check --saml-assertion-file",
    })?;
    if buf.iter().all(u8::is_ascii_whitespace) {
        return Err(LoginError::usage(format!(
            "the SAML assertion file {} is empty; save the IdP's SAMLResponse (base64 or XML) into it",
            path.display()
        )));
    }
    Ok(buf)
}

/// The ECP password: `RAMBRIDGE_LOGIN_PASSWORD`, or a prompt without echo on the terminal.
fn password(username: &str, idp_url: &str) -> Result<String, LoginError> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        return Ok(p);
    }
    rpassword::prompt_password(format!("Password for {username} at {idp_url}: ")).map_err(|e| {
        LoginError::usage(format!(
            "cannot read the password ({e}); run in a terminal or set {PASSWORD_ENV}"
        ))
    })
}
