//! `onrust user add` and `onrust user disable`: the console's accounts
//! (`users.json` in the data folder; `onrust_web::console::users` says why
//! there). The password is read from standard input, never from an argument
//! (which other users of the machine could see in the process list), and
//! only its argon2id hash is stored. A running daemon sees the change at the
//! next sign-in or request; no restart is needed.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use onrust_model::MunicipalityCode;
use onrust_web::Role;
use onrust_web::console::users::{Account, UserFile, check_password, hash_password};

/// Arguments of `onrust user add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The configuration file (its data_dir holds the accounts).
    #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
    config: PathBuf,
    /// The sign-in name, also written to the audit log: a-z, 0-9, '.', '_', '-'.
    #[arg(long)]
    name: String,
    /// officer, supervisor, analyst or fg.
    #[arg(long)]
    role: Role,
    /// A CBS code (GM0344) the account's alerts and searches are limited to; repeatable.
    /// Only for officers and supervisors; left out, the whole region.
    #[arg(long = "municipality")]
    municipalities: Vec<String>,
}

/// Arguments of `onrust user disable`.
#[derive(Debug, clap::Args)]
pub struct DisableArgs {
    #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
    config: PathBuf,
    /// The account to disable; its sessions end at their next request.
    #[arg(long)]
    name: String,
}

/// Longest password read from standard input, in bytes (more is refused, not cut).
const MAX_INPUT_BYTES: u64 = 4096;

pub fn add(args: &AddArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let mut problems = Vec::new();
    let mut codes = Vec::new();
    for given in &args.municipalities {
        match MunicipalityCode::new(given.clone()) {
            Ok(code) => codes.push(code),
            Err(e) => problems.push(format!("--municipality {given:?}: {e}")),
        }
    }
    let password = read_password()?;
    if let Err(e) = check_password(&password) {
        problems.push(e);
    }
    if !problems.is_empty() {
        anyhow::bail!("{}", problems.join("; "));
    }
    if config.http.tokens.iter().any(|t| t.name == args.name) {
        anyhow::bail!("{:?} is already the name of an [[http.tokens]] entry; choose another name", args.name);
    }
    let account = Account {
        name: args.name.clone(),
        role: args.role,
        municipalities: (!codes.is_empty()).then_some(codes),
        password_hash: hash_password(&password)?,
        disabled: false,
    };
    let path = config.users_path();
    let mut file = UserFile::open(&path)?;
    let replaced = file.accounts().iter().any(|a| a.name == account.name);
    file.upsert(account)?;
    file.save()?;
    let verb = if replaced { "updated" } else { "added" };
    println!("account {} ({}) {verb} in {}", args.name, args.role, path.display());
    Ok(ExitCode::SUCCESS)
}

pub fn disable(args: &DisableArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let path = config.users_path();
    let mut file = UserFile::open(&path)?;
    file.disable(&args.name)?;
    file.save()?;
    println!("account {} disabled in {}", args.name, path.display());
    Ok(ExitCode::SUCCESS)
}

/// The password from standard input: everything up to the first line end.
fn read_password() -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .context("cannot read the password from standard input")?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        anyhow::bail!("the password on standard input is longer than {MAX_INPUT_BYTES} bytes");
    }
    let text = String::from_utf8(bytes).context("the password on standard input is not UTF-8")?;
    Ok(text.lines().next().unwrap_or_default().to_owned())
}
