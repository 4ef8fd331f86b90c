//! The onrust binary: the command line, configuration, and the wiring of
//! the stages onto the bus. Library crates know nothing of each other; only
//! this crate puts them together (docs/ARCHITECTURE.md, "Crates").

mod commands;
mod config;
mod descriptors;
mod erasure;
mod identity;
mod internal_events;
mod pipeline;
mod shutdown;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: the indexer and the classifier allocate many small, short-lived
/// strings; glibc's allocator cost about a tenth of the replay benchmark's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Early warning of online unrest for Dutch municipalities.
#[derive(Debug, Parser)]
#[command(name = "onrust", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct ConfigArg {
    /// The configuration file.
    #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
    config: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: every stage in one process on the embedded bus, or the
    /// given roles on Kafka (`bus.kind = "kafka"`).
    Run {
        #[command(flatten)]
        config: ConfigArg,
        /// A role for this process (repeatable): ingest, classify, archive, alert, web. Default: all.
        #[arg(long = "role", value_enum)]
        roles: Vec<commands::roles::Role>,
        /// Listen here instead of `http.listen` (several processes on one machine).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Is the daemon on this machine ready? Exit 0 if so, 1 with the reason if not (container healthchecks).
    Health(commands::health::HealthArgs),
    /// Validate the configuration and explain what it will do.
    CheckConfig {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Classify JSON lines from stdin; one JSON line per input on stdout, in order.
    Classify {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Score the classifier against labelled JSON lines (precision, recall, F1, targets).
    Eval(commands::eval::EvalArgs),
    /// Train the escalation model's learned layer from labelled JSON lines (deterministic).
    Train(commands::train::TrainArgs),
    /// Search the archive (works while the daemon runs); every search is audited.
    Search(commands::search::SearchArgs),
    /// Push recorded messages (JSON lines) through classify and archive.
    Replay(commands::replay::ReplayArgs),
    /// Replay a period of the archive through alert rules: the alerts they would have sent, with lead times.
    Backtest(commands::backtest::BacktestArgs),
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The archive's buckets and retention.
    Archive {
        #[command(subcommand)]
        command: ArchiveCommand,
    },
    /// Alerts through the running daemon's API, and the notification log.
    Alerts {
        #[command(subcommand)]
        command: commands::alerts::AlertsCommand,
    },
    /// Stop all ingestion and alerting through the running daemon, with a reason (supervisors, admins; audited).
    Halt(commands::halt::HaltArgs),
    /// Start ingestion and alerting again after `onrust halt`, with a reason (supervisors, admins; audited).
    Resume(commands::halt::ResumeArgs),
    /// Erase a message on request, by id or every one with a link, through the running daemon's API
    /// (fg, admin): from the archive, alert evidence and queued notifications, and never taken in again.
    Erase(commands::erase::EraseArgs),
    /// Bearer tokens for the HTTP API.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Console accounts: sign-in names with a role and a password (argon2id).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The transparency documents (Algoritmeregister entry, DPIA, FRIA) in Dutch Markdown, from the configuration.
    Docs(commands::transparency::DocsArgs),
    /// Feed subscriptions: a secret address per recipient for the Atom feed and the calendar.
    Feed {
        #[command(subcommand)]
        command: FeedCommand,
    },
}

#[derive(Debug, Subcommand)]
enum FeedCommand {
    /// Give a recipient their own secret feed and calendar address; it is shown once.
    Add(commands::feed::AddArgs),
    /// The subscriptions: id, recipient, role, place, since when, revoked or not (never a secret).
    List(commands::feed::ListArgs),
    /// Revoke a subscription by its id, or every one of a recipient: its address answers 404.
    Revoke(commands::feed::RevokeArgs),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add an account, or give an existing one a new password, role or municipalities; the password is read from stdin.
    Add(commands::user::AddArgs),
    /// Disable an account: it cannot sign in, and its sessions end.
    Disable(commands::user::DisableArgs),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Make a random token: prints it once, and the [[http.tokens]] entry with its SHA-256.
    New(commands::token::NewArgs),
}

#[derive(Debug, Subcommand)]
enum ArchiveCommand {
    /// List the buckets (one index per period) with documents, size and when each will be deleted.
    Status {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Delete the buckets past archive.retention now, each recorded in the audit log
    /// (the daemon does this hourly; this refuses while it runs).
    Retention {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Convert an archive written by an older onrust to this one's format, bucket by bucket
    /// (refuses while the daemon runs; safe to run again after an interruption).
    Migrate {
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chain of the audit log.
    Verify {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// The audit log over a period, in Dutch, for the data protection officer (Markdown, or --csv).
    Report(commands::audit_report::ReportArgs),
}

fn main() -> ExitCode {
    owner_only_files();
    let cli = Cli::parse();
    init_logging();
    hide_panic_payloads();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run { config, roles, listen } => commands::roles::run(&config.config, &roles, listen).await,
            Command::Health(args) => commands::health::run(args).await,
            Command::CheckConfig { config } => commands::check_config::run(&config.config),
            Command::Classify { config } => commands::classify::run(&config.config),
            Command::Eval(args) => commands::eval::run(args),
            Command::Train(args) => commands::train::run(args),
            Command::Search(args) => commands::search::run(args),
            Command::Replay(args) => commands::replay::run(args).await,
            Command::Backtest(args) => commands::backtest::run(args),
            Command::Audit { command: AuditCommand::Verify { config } } => commands::audit::verify(&config.config),
            Command::Audit { command: AuditCommand::Report(args) } => commands::audit_report::run(&args),
            Command::Token { command: TokenCommand::New(args) } => commands::token::new(&args),
            Command::User { command: UserCommand::Add(args) } => commands::user::add(&args),
            Command::User { command: UserCommand::Disable(args) } => commands::user::disable(&args),
            Command::Docs(args) => commands::transparency::run(&args),
            Command::Feed { command: FeedCommand::Add(args) } => commands::feed::add(&args),
            Command::Feed { command: FeedCommand::List(args) } => commands::feed::list(&args),
            Command::Feed { command: FeedCommand::Revoke(args) } => commands::feed::revoke(&args),
            Command::Alerts { command } => commands::alerts::run(command).await,
            Command::Halt(args) => commands::halt::halt(args).await,
            Command::Resume(args) => commands::halt::resume(args).await,
            Command::Erase(args) => commands::erase::run(args).await,
            Command::Archive { command: ArchiveCommand::Status { config } } => {
                commands::archive::status(&config.config)
            }
            Command::Archive { command: ArchiveCommand::Migrate { config } } => {
                commands::archive::migrate(&config.config)
            }
            Command::Archive { command: ArchiveCommand::Retention { config } } => {
                commands::archive::retention(&config.config)
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            let chain = error_chain(&e);
            tracing::error!("{chain}");
            eprintln!("error: {chain}");
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line (see [`onrust_model::error_chain`]).
fn error_chain(error: &anyhow::Error) -> String {
    onrust_model::error_chain(error.as_ref())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ONRUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .init();
}

/// Whatever this process creates is its owner's only: a file is 0600 and a
/// folder 0700 at most. onrust's own files are created with these modes
/// explicitly (`onrust_durable::private`); the umask covers what libraries
/// create, the archive's index files above all.
fn owner_only_files() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// A panic's message can quote the input that caused it (a message text, an
/// author handle). Log where it happened, never what it said (rules L2, S9).
fn hide_panic_payloads() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        tracing::error!(%location, "internal error (panic); its message is withheld because it may quote input");
    }));
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    /// An error that quotes its source and keeps it, as many of ours do.
    #[derive(Debug)]
    struct Recording(std::io::Error);

    impl std::fmt::Display for Recording {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "cannot record the deletion: {}", self.0)
        }
    }

    impl std::error::Error for Recording {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_the_message_already_quotes_is_printed_once() {
        let disk = std::io::Error::other("disk full");
        let error = anyhow::Error::new(Recording(disk)).context("archive stage");
        assert_eq!(error_chain(&error), "archive stage: cannot record the deletion: disk full");
        let plain = anyhow::anyhow!("root").context("middle").context("top");
        assert_eq!(error_chain(&plain), "top: middle: root");
    }
}
