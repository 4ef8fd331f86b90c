//! `onrust halt` and `onrust resume` (rule L13): stop all ingestion and
//! alerting, and start them again, through the running daemon's API like
//! `onrust alerts`, so the change is audited under the token's name (who)
//! with the reason before it takes effect, and only supervisors and admins
//! may make it. `onrust halt --status` shows whether onrust is halted.

use std::process::ExitCode;

use anyhow::Context;

use super::alerts::{ApiArgs, call};

#[derive(Debug, clap::Args)]
pub struct HaltArgs {
    /// Why, for the audit log (required to halt).
    #[arg(long, required_unless_present = "status")]
    pub reason: Option<String>,
    /// Only show whether onrust is halted, since when, by whom and why.
    #[arg(long, conflicts_with = "reason")]
    pub status: bool,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// Why, for the audit log.
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub api: ApiArgs,
}

pub async fn halt(args: HaltArgs) -> anyhow::Result<ExitCode> {
    let answer = match &args.reason {
        Some(reason) if !args.status => {
            call(&args.api, "POST", "/api/v1/halt", Some(serde_json::json!({ "reason": reason }).to_string())).await?
        }
        _ => call(&args.api, "GET", "/api/v1/halt", None).await?,
    };
    show(&args.api, &answer)
}

pub async fn resume(args: ResumeArgs) -> anyhow::Result<ExitCode> {
    let body = serde_json::json!({ "reason": args.reason }).to_string();
    let answer = call(&args.api, "POST", "/api/v1/resume", Some(body)).await?;
    show(&args.api, &answer)
}

fn show(api: &ApiArgs, answer: &str) -> anyhow::Result<ExitCode> {
    if api.json {
        println!("{answer}");
        return Ok(ExitCode::SUCCESS);
    }
    let value: serde_json::Value = serde_json::from_str(answer).context("the api answered no json")?;
    println!("{}", describe(&value));
    Ok(ExitCode::SUCCESS)
}

/// One line on the switch as the API answered.
fn describe(value: &serde_json::Value) -> String {
    let halted = value["halted"].as_bool().unwrap_or(false);
    let last = &value["last"];
    let text = |key: &str| last[key].as_str().unwrap_or("?").to_owned();
    let already = value["changed"].as_bool() == Some(false);
    match (halted, last.is_object()) {
        (true, _) => format!(
            "onrust {} halted since {} by {} ({}): no source fetches and no notification is sent until `onrust resume`",
            if already { "was already" } else { "is" },
            text("since"),
            text("by"),
            text("reason")
        ),
        (false, true) => format!(
            "onrust {} since {} by {} ({})",
            if already { "was not halted; it runs" } else { "runs again" },
            text("since"),
            text("by"),
            text("reason")
        ),
        (false, false) => "onrust runs; it has never been halted".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_answer_is_one_plain_line() {
        let last = serde_json::json!({"halted": true, "since": "2026-12-07T05:40:00Z", "by": "sv", "reason": "DPIA"});
        let halted = serde_json::json!({"halted": true, "changed": true, "last": last});
        assert!(describe(&halted).starts_with("onrust is halted since 2026-12-07T05:40:00Z by sv (DPIA)"));
        let again = serde_json::json!({"halted": true, "changed": false, "last": last});
        assert!(describe(&again).starts_with("onrust was already halted"));
        let resumed = serde_json::json!({"halted": false, "changed": true, "last": {"halted": false, "since": "t", "by": "admin", "reason": "klaar"}});
        assert_eq!(describe(&resumed), "onrust runs again since t by admin (klaar)");
        assert_eq!(describe(&serde_json::json!({"halted": false})), "onrust runs; it has never been halted");
    }
}
