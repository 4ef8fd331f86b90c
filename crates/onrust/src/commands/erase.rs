//! `onrust erase --id ID | --url URL --reason TEXT`: erasure on request
//! through the running daemon's API (`POST /api/v1/erase`), like `onrust
//! alerts`: the daemon is the only writer of the archive and the owner of
//! the alert state, so it does the erasing, and the audit log names the
//! token's holder (fg or admin, rule L8). When the daemon is not running the
//! command says so and erases nothing: start it and ask again.

use std::process::ExitCode;

use anyhow::Context;

use super::alerts::ApiArgs;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["id", "url"])))]
pub struct EraseArgs {
    /// The message's id, as a search hit or an alert's evidence shows it.
    #[arg(long)]
    pub id: Option<String>,
    /// Every message with this link (compared as onrust keeps links).
    #[arg(long)]
    pub url: Option<String>,
    /// Why, for the record: the request's reference, never the person's name.
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub api: ApiArgs,
}

pub async fn run(args: EraseArgs) -> anyhow::Result<ExitCode> {
    let body = match (&args.id, &args.url) {
        (Some(id), None) => serde_json::json!({ "id": id, "reason": args.reason }),
        (None, Some(url)) => serde_json::json!({ "url": url, "reason": args.reason }),
        // clap's group allows exactly one; this keeps the command honest without it.
        _ => anyhow::bail!("give exactly one of --id and --url"),
    };
    let answer = super::alerts::call(&args.api, "POST", "/api/v1/erase", Some(body.to_string())).await?;
    if args.api.json {
        println!("{answer}");
        return Ok(ExitCode::SUCCESS);
    }
    let value: serde_json::Value = serde_json::from_str(&answer).context("the api answered no json")?;
    let count = |key: &str| value[key].as_u64().unwrap_or(0);
    let messages = value["messages"].as_array().map_or(0, Vec::len);
    println!(
        "erased {messages} message(s): {} archived document(s), {} evidence entr(y/ies), {} queued notification(s), \
         {} dead letter(s); tombstoned, so it is not taken in again",
        count("archive_documents"),
        count("evidence_entries"),
        count("queued_notifications"),
        count("dead_letters"),
    );
    let counted = ["archive_documents", "evidence_entries", "queued_notifications", "dead_letters"];
    if counted.iter().all(|key| count(key) == 0) {
        println!("nothing held it now; the tombstone keeps it out should it come");
    }
    Ok(ExitCode::SUCCESS)
}
