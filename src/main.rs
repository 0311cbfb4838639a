//! The `rambridge` command line: `serve`, `account create`, `account list`, `audit`, `login`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use rambridge::config::{Config, Settings};

/// rambridge: Resource Access Management with SSO federation, on the Alibaba Cloud RPC API.
#[derive(Parser, Debug)]
#[command(name = "rambridge", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server.
    Serve(Common),
    /// Manage accounts (tenants).
    #[command(subcommand)]
    Account(AccountCommand),
    /// Show an account's sign-in audit log (browser SSO, password sign-in, AssumeRoleWithSAML),
    /// newest first.
    Audit {
        /// Account alias or 16-digit id.
        #[arg(long)]
        account: String,
        /// At most this many events (1-10000).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        max: u32,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Get temporary role credentials through your IdP (browser, ECP or a SAML assertion);
    /// see docs/login.md.
    Login(Box<rambridge::login::LoginArgs>),
}

#[derive(clap::Args, Debug)]
struct Common {
    /// TOML configuration file (keys as in config.example.toml).
    #[arg(long, env = "RAMBRIDGE_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Subcommand, Debug)]
enum AccountCommand {
    /// Create an account and its root AccessKey; prints one JSON object (the secret is shown
    /// only here).
    Create {
        /// Account alias: 3-63 lowercase letters, digits and '-'.
        #[arg(long)]
        alias: String,
        #[command(flatten)]
        common: Common,
    },
    /// List accounts as JSON.
    List {
        #[command(flatten)]
        common: Common,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let common = match &cli.command {
        Command::Serve(c) => c,
        Command::Account(
            AccountCommand::Create { common, .. } | AccountCommand::List { common },
        )
        | Command::Audit { common, .. } => common,
        Command::Login(args) => return login(args),
    };
    let config = match Config::load(common.settings.clone(), common.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log);
    let Some(runtime) = runtime(tokio::runtime::Builder::new_multi_thread()) else {
        return ExitCode::FAILURE;
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(_) => rambridge::serve(config).await,
            Command::Account(AccountCommand::Create { alias, .. }) => {
                account_create(&config, &alias).await
            }
            Command::Account(AccountCommand::List { .. }) => account_list(&config).await,
            Command::Audit {
                account, max, json, ..
            } => audit(&config, &account, max, json).await,
            Command::Login(_) => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `rambridge login`: the result on stdout, one line on stderr and exit status 1 on failure.
fn login(args: &rambridge::login::LoginArgs) -> ExitCode {
    let Some(runtime) = runtime(tokio::runtime::Builder::new_current_thread()) else {
        return ExitCode::FAILURE;
    };
    let mut stdout = std::io::stdout();
    match runtime.block_on(rambridge::login::run(args, &mut stdout)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.one_line());
            ExitCode::FAILURE
        }
    }
}

/// Builds the async runtime, or says why it cannot.
fn runtime(mut builder: tokio::runtime::Builder) -> Option<tokio::runtime::Runtime> {
    match builder.enable_all().build() {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn account_create(config: &Config, alias: &str) -> anyhow::Result<()> {
    let (store, keys) = rambridge::open(config).await?;
    let clock: Arc<dyn rambridge::clock::Clock> = Arc::new(rambridge::clock::SystemClock);
    let created = rambridge::ram::create_account(&store, &keys, clock.as_ref(), alias).await;
    store.close().await;
    let created = created?;
    println!("{}", serde_json::to_string(&created)?);
    Ok(())
}

async fn account_list(config: &Config) -> anyhow::Result<()> {
    let (store, _keys) = rambridge::open(config).await?;
    let accounts = store.list_accounts().await;
    store.close().await;
    let list: Vec<serde_json::Value> = accounts?
        .into_iter()
        .map(|a| {
            serde_json::json!({
                "AccountId": a.id,
                "AccountAlias": a.alias,
                "CreateDate": chrono::DateTime::from_timestamp_millis(a.created_at)
                    .map(rambridge::clock::format_iso8601),
            })
        })
        .collect();
    println!(
        "{}",
        serde_json::to_string(&serde_json::json!({ "Accounts": list }))?
    );
    Ok(())
}

async fn audit(config: &Config, account: &str, max: u32, json: bool) -> anyhow::Result<()> {
    let (store, _keys) = rambridge::open(config).await?;
    let result = async {
        let found = match store.find_account_by_alias(account).await? {
            Some(a) => Some(a),
            None => store.find_account(account).await?,
        };
        let Some(found) = found else {
            anyhow::bail!("no account has the alias or id {account:?}");
        };
        Ok(store.list_audit(&found.id, i64::from(max)).await?)
    }
    .await;
    store.close().await;
    let events = result?;
    let time = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(rambridge::clock::format_iso8601)
            .unwrap_or_default()
    };
    if json {
        let list: Vec<serde_json::Value> = events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "EventId": e.id,
                    "EventTime": time(e.at),
                    "EventName": e.event,
                    "Provider": e.provider,
                    "Subject": e.subject,
                    "Outcome": e.outcome,
                    "Reason": e.reason,
                    "SourceIp": e.source_ip,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string(&serde_json::json!({ "SignInEvents": list }))?
        );
    } else {
        println!(
            "TIME                  OUTCOME  EVENT               SUBJECT / PROVIDER / SOURCE IP / REASON / REFERENCE"
        );
        for e in &events {
            println!(
                "{}  {:<7}  {:<18}  {} | {} | {} | {} | {}",
                time(e.at),
                e.outcome,
                e.event,
                e.subject,
                e.provider,
                e.source_ip,
                e.reason,
                e.id
            );
        }
    }
    Ok(())
}
