//! `session-server`: serve the sessions API, or mint and revoke its tokens.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use session_server::http::{self, Config, DEFAULT_MAX_BODY_BYTES};
use session_server::sql::SqlSessionManager;

/// Agent sessions on PostgreSQL or SQLite, behind an authenticated HTTP API.
#[derive(Parser)]
#[command(name = "session-server", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API under /v1 and print the http:// address it listens on.
    Serve {
        /// Address to listen on (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: SocketAddr,
        #[command(flatten)]
        database: Database,
        /// Largest request body, in bytes; larger ones get 413.
        #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES)]
        max_body_bytes: usize,
        /// Browser origin allowed to call the API (CORS), e.g. https://app.example.com; repeatable.
        #[arg(long = "allow-origin", value_name = "ORIGIN")]
        allow_origins: Vec<String>,
        /// Days a change is kept for devices to sync from; a device away longer gets every
        /// session again (0: a change is pruned by the next push).
        #[arg(long, default_value_t = 30)]
        keep_changes_days: u64,
    },
    /// Mint or revoke API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Mint a token for an owner; the token is printed alone on the last line.
    Create {
        /// Whose sessions the token opens.
        #[arg(long)]
        owner: String,
        #[command(flatten)]
        database: Database,
    },
    /// Revoke a token: requests bearing it get 401 from then on.
    Revoke {
        /// The token, as `token create` printed it.
        token: String,
        #[command(flatten)]
        database: Database,
    },
}

/// Where the sessions are: a database URL, or SQLite in a data directory.
#[derive(Args)]
struct Database {
    /// postgres://USER@HOST/DB or sqlite://PATH; default: SQLite in --data-dir.
    #[arg(long = "database", env = "DATABASE_URL", value_name = "URL")]
    url: Option<String>,
    /// Directory of the default SQLite database (sessions.db), created if missing.
    #[arg(long, env = "SESSION_SERVER_DATA", default_value = "session-data")]
    data_dir: PathBuf,
}

impl Database {
    async fn open(&self) -> Result<SqlSessionManager, String> {
        let url = match &self.url {
            Some(url) => url.clone(),
            None => {
                std::fs::create_dir_all(&self.data_dir).map_err(|e| {
                    format!(
                        "cannot create the data directory {}: {e}",
                        self.data_dir.display()
                    )
                })?;
                format!("sqlite://{}", self.data_dir.join("sessions.db").display())
            }
        };
        SqlSessionManager::connect(&url)
            .await
            .map_err(|e| format!("cannot open the database: {e}"))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("session-server: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Serve {
            listen,
            database,
            max_body_bytes,
            allow_origins,
            keep_changes_days,
        } => {
            let horizon = Duration::from_secs(keep_changes_days * 24 * 3600);
            let store = database.open().await?.keep_changes(horizon);
            let backend = store.backend().name();
            let config = Config {
                max_body_bytes,
                allow_origins,
            };
            let app = http::router(store.clone(), &config).map_err(|e| e.to_string())?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let address = listener.local_addr().map_err(|e| e.to_string())?;
            println!("session-server listening on http://{address} (database: {backend})");
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown())
                .await
                .map_err(|e| format!("server failed: {e}"))?;
            store.close().await;
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create { owner, database },
        } => {
            let token = database
                .open()
                .await?
                .create_token(&owner)
                .await
                .map_err(|e| e.to_string())?;
            println!("Token for owner \"{owner}\" (only its hash is stored: keep it now):");
            println!("{token}");
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Revoke { token, database },
        } => {
            database
                .open()
                .await?
                .revoke_token(&token)
                .await
                .map_err(|e| e.to_string())?;
            println!("Token revoked.");
            Ok(())
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests finish before the process ends.
async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
