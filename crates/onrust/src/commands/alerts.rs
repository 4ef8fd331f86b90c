//! `onrust alerts …`: the alerts API from the command line, and the notification log.
//!
//! `list`, `show`, `confirm`, `dismiss`, `ack`, `silence`, `silences`,
//! `unsilence` and `resend` talk to the running daemon's
//! API on `http.listen` with a bearer token (`--token-file` or `ONRUST_TOKEN`),
//! so the daemon stays the only owner of the alert state and every action is
//! audited under the token's name, exactly as through HTTP (rule L7,
//! L8, L10). `log` reads the notification log: who was told what, when, and
//! how each attempt went (issue 5, R8).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct ApiArgs {
    /// The configuration file (for `http.listen`).
    #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
    pub config: PathBuf,
    /// File holding your API token (`onrust token new`); or set ONRUST_TOKEN.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Print the API's JSON answer as is.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum AlertsCommand {
    /// The active alerts.
    List {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// One alert with its reasons and evidence.
    Show {
        /// The alert's id: its fingerprint, or a unique prefix of at least 8 characters (as in the mail).
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Confirm an alert for the mayor (supervisors; recorded with your name, the time and the reason).
    Confirm {
        /// The alert's id: its fingerprint, or a unique prefix of at least 8 characters (as in the mail).
        id: String,
        /// Why it goes to the mayor, for the record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Decide an alert does not go to the mayor (supervisors; recorded with your name, the time and the reason).
    Dismiss {
        /// The alert's id: its fingerprint, or a unique prefix of at least 8 characters (as in the mail).
        id: String,
        /// Why it does not go to the mayor, for the record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Acknowledge an alert: no more reminders or escalation.
    Ack {
        /// The alert's id: its fingerprint, or a unique prefix of at least 8 characters (as in the mail).
        id: String,
        /// What was done, for the record.
        #[arg(long, alias = "comment")]
        reason: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Send again what failed for good about an alert, once the address, relay or receiver is fixed
    /// (supervisors, admins; recorded with your name, the time and the reason).
    Resend {
        /// The alert's id as in the mail or the failure notice: its fingerprint, or a unique prefix of at
        /// least 8 characters. The alert may be over: what failed is looked up, not the active alerts.
        id: String,
        /// What was fixed, for the record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Hold back matching alerts for a while (supervisors).
    Silence {
        /// `label=value` (rule, municipality, theme, event, severity, kind, fingerprint); repeatable.
        #[arg(long = "match", required = true)]
        matchers: Vec<String>,
        /// Why, for the record.
        #[arg(long)]
        reason: String,
        /// How long, e.g. "2h".
        #[arg(long = "for")]
        duration: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// The silences in force.
    Silences {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// End a silence now (supervisors).
    Unsilence {
        /// The silence's id (`onrust alerts silences`).
        id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// The notification log: every attempt to tell someone, oldest first.
    Log {
        /// The configuration file (for `data_dir`).
        #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
        config: PathBuf,
        /// Only this alert.
        #[arg(long)]
        fingerprint: Option<String>,
        /// One JSON object per attempt.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: AlertsCommand) -> anyhow::Result<ExitCode> {
    match command {
        AlertsCommand::List { api } => {
            let body = call(&api, "GET", "/api/v1/alerts", None).await?;
            if api.json {
                println!("{body}");
                return Ok(ExitCode::SUCCESS);
            }
            let value: serde_json::Value = serde_json::from_str(&body).context("the api answered no json")?;
            let alerts = value["alerts"].as_array().cloned().unwrap_or_default();
            if alerts.is_empty() {
                println!("no active alerts");
            }
            // Each id as short as it can be and still name one alert, as in the mail.
            let fingerprints: Vec<String> =
                alerts.iter().filter_map(|a| a["fingerprint"].as_str().map(str::to_owned)).collect();
            for a in alerts {
                let s = |k: &str| a[k].as_str().unwrap_or("-").to_owned();
                let unplaced = a["unplaced"].as_bool() == Some(true);
                let place = a["municipality_name"].as_str().or(a["municipality"].as_str());
                let place = place.unwrap_or(if unplaced { "plaats onbekend" } else { "regio" });
                let fingerprint = s("fingerprint");
                let id = onrust_alert::unique_short_id(&fingerprint, fingerprints.iter().map(String::as_str));
                println!(
                    "{id}  {:<8} {:<8} {:<24} {:<20} {}",
                    s("status"),
                    s("severity"),
                    s("rule"),
                    place,
                    s("updated_at")
                );
                // Who decided what, when and why.
                for d in a["decisions"].as_array().into_iter().flatten() {
                    let f = |k: &str| d[k].as_str().unwrap_or("-").to_owned();
                    println!("          {} by {} at {}: {}", f("kind"), f("by"), f("at"), f("reason"));
                }
                if a["decisions"].as_array().is_none_or(Vec::is_empty)
                    && let Some(by) = a["acknowledged_by"].as_str()
                {
                    println!("          acknowledged by {by}: {}", a["ack_comment"].as_str().unwrap_or("-"));
                }
            }
        }
        AlertsCommand::Show { id, api } => {
            let fingerprint = resolve(&api, &id).await?;
            let body = call(&api, "GET", &format!("/api/v1/alerts/{fingerprint}"), None).await?;
            print_json(&body, api.json)?;
        }
        AlertsCommand::Confirm { id, reason, api } => {
            let fingerprint = resolve(&api, &id).await?;
            let body = serde_json::json!({ "reason": reason }).to_string();
            let answer = call(&api, "POST", &format!("/api/v1/alerts/{fingerprint}/confirm"), Some(body)).await?;
            print_json(&answer, api.json)?;
        }
        AlertsCommand::Dismiss { id, reason, api } => {
            let fingerprint = resolve(&api, &id).await?;
            let body = serde_json::json!({ "reason": reason }).to_string();
            let answer = call(&api, "POST", &format!("/api/v1/alerts/{fingerprint}/dismiss"), Some(body)).await?;
            print_json(&answer, api.json)?;
        }
        AlertsCommand::Silences { api } => {
            let body = call(&api, "GET", "/api/v1/silences", None).await?;
            if api.json {
                println!("{body}");
                return Ok(ExitCode::SUCCESS);
            }
            let value: serde_json::Value = serde_json::from_str(&body).context("the api answered no json")?;
            let silences = value["silences"].as_array().cloned().unwrap_or_default();
            if silences.is_empty() {
                println!("no silences");
            }
            for s in silences {
                let matchers: Vec<String> = s["matchers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| {
                        let op = if m["negate"].as_bool() == Some(true) { "!=" } else { "=" };
                        format!("{}{op}{}", m["label"].as_str().unwrap_or("?"), m["value"].as_str().unwrap_or("?"))
                    })
                    .collect();
                let f = |k: &str| s[k].as_str().unwrap_or("-").to_owned();
                println!(
                    "{}  until {}  {:<40} by {}: {}",
                    f("id"),
                    f("ends_at"),
                    matchers.join(","),
                    f("owner"),
                    f("reason")
                );
            }
        }
        AlertsCommand::Unsilence { id, api } => {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                anyhow::bail!("{id:?} is not a silence id (letters and digits)");
            }
            let body = call(&api, "POST", &format!("/api/v1/silences/{id}/expire"), Some(String::new())).await?;
            print_json(&body, api.json)?;
        }
        AlertsCommand::Ack { id, reason, api } => {
            let fingerprint = resolve(&api, &id).await?;
            let path = format!("/api/v1/alerts/{fingerprint}/ack");
            let body = serde_json::json!({ "reason": reason }).to_string();
            let answer = call(&api, "POST", &path, Some(body)).await?;
            print_json(&answer, api.json)?;
        }
        AlertsCommand::Resend { id, reason, api } => {
            let id = id.trim().to_ascii_lowercase();
            check_id(&id)?;
            let body = serde_json::json!({ "reason": reason }).to_string();
            let answer = call(&api, "POST", &format!("/api/v1/alerts/{id}/resend"), Some(body)).await?;
            if api.json {
                println!("{answer}");
                return Ok(ExitCode::SUCCESS);
            }
            let value: serde_json::Value = serde_json::from_str(&answer).context("the api answered no json")?;
            let resent = value["resent"].as_array().cloned().unwrap_or_default();
            let fingerprint = value["fingerprint"].as_str().unwrap_or("-");
            println!("{} queued again for alert {fingerprint}:", resent.len());
            for n in resent {
                let s = |k: &str| n[k].as_str().unwrap_or("-").to_owned();
                println!(
                    "  #{} {:<8} {:<10} {} (failed: {})",
                    n["sequence"],
                    s("channel"),
                    s("role"),
                    s("recipient"),
                    s("message")
                );
            }
        }
        AlertsCommand::Silence { matchers, reason, duration, api } => {
            let length = humantime::parse_duration(&duration)
                .with_context(|| format!("--for {duration:?} is not a duration such as \"2h\""))?;
            let ends_at = chrono::Utc::now() + chrono::TimeDelta::from_std(length).context("--for is too long")?;
            let mut parsed = Vec::new();
            for m in &matchers {
                let (label, value) = m.split_once('=').with_context(|| format!("--match {m:?} must be label=value"))?;
                parsed.push(serde_json::json!({ "label": label, "value": value }));
            }
            let body = serde_json::json!({ "matchers": parsed, "reason": reason, "ends_at": ends_at }).to_string();
            let answer = call(&api, "POST", "/api/v1/silences", Some(body)).await?;
            print_json(&answer, api.json)?;
        }
        AlertsCommand::Log { config, fingerprint, json } => {
            let config = super::load_config(&config)?;
            let dir = config.alerts_dir();
            let entries = if dir.join(onrust_notify::log::LOG_FILE).exists() {
                onrust_notify::log::read_log(&dir)?
            } else {
                Vec::new()
            };
            let entries: Vec<_> =
                entries.into_iter().filter(|e| fingerprint.as_ref().is_none_or(|f| &e.fingerprint == f)).collect();
            if entries.is_empty() && !json {
                println!("no notifications yet");
            }
            for mut e in entries {
                // A webhook's path may hold the receiver's own token (S9): scheme and host only.
                if e.channel == onrust_alert::Channel::Webhook {
                    e.address = onrust_notify::webhook::origin(&e.address);
                }
                if json {
                    println!("{}", serde_json::to_string(&e)?);
                } else {
                    let value = serde_json::to_value(&e)?;
                    let s = |k: &str| match &value[k] {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => "-".to_owned(),
                        other => other.to_string(),
                    };
                    // A requeue says who sent it again and why.
                    let message = match (&e.by, &e.reason) {
                        (Some(by), Some(reason)) => format!("by {by}: {reason}"),
                        _ => s("message"),
                    };
                    println!(
                        "{}  {} #{} {:<8} {:<10} {:<32} {} {message}",
                        s("time"),
                        s("fingerprint"),
                        s("sequence"),
                        s("outcome"),
                        s("role"),
                        s("address"),
                        s("attempt"),
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json(body: &str, raw: bool) -> anyhow::Result<()> {
    if raw {
        println!("{body}");
    } else {
        let value: serde_json::Value = serde_json::from_str(body).context("the api answered no json")?;
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(())
}

/// The full fingerprint of the alert `id` names: the fingerprint itself, or
/// a unique prefix of at least 8 hexadecimal digits (the short id in the
/// mail), looked up among the alerts the daemon lists for this token.
async fn resolve(api: &ApiArgs, id: &str) -> anyhow::Result<String> {
    let id = id.trim().to_ascii_lowercase();
    check_id(&id)?;
    if id.len() == 64 {
        return Ok(id);
    }
    let body = call(api, "GET", "/api/v1/alerts", None).await?;
    let value: serde_json::Value = serde_json::from_str(&body).context("the api answered no json")?;
    let fingerprints: Vec<String> = value["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["fingerprint"].as_str().map(str::to_owned))
        .collect();
    unique_prefix(&id, &fingerprints)
}

/// An alert id as a person types it: at least 8 hexadecimal digits.
fn check_id(id: &str) -> anyhow::Result<()> {
    if id.len() < onrust_alert::SHORT_ID_CHARS || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        anyhow::bail!(
            "{id:?} is not an alert id: give at least {} hexadecimal digits of its fingerprint, as in the mail",
            onrust_alert::SHORT_ID_CHARS
        );
    }
    Ok(())
}

/// The one fingerprint that starts with `prefix`, or why there is none.
pub(crate) fn unique_prefix(prefix: &str, fingerprints: &[String]) -> anyhow::Result<String> {
    let matching: Vec<&String> = fingerprints.iter().filter(|f| f.starts_with(prefix)).collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => anyhow::bail!("no active alert has an id starting with {prefix} (onrust alerts list shows them)"),
        many => anyhow::bail!(
            "{} alerts have an id starting with {prefix}; give more characters: {}",
            many.len(),
            many.iter().map(|f| f.get(..16).unwrap_or(f)).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn token(file: Option<&Path>) -> anyhow::Result<String> {
    match file {
        Some(path) => {
            // A token others can read is anyone's token (S13).
            onrust_durable::check_secret_file(path).context("--token-file")?;
            super::local_http::read_token_file(path)
        }
        None => {
            let token = std::env::var("ONRUST_TOKEN").context("give --token-file or set ONRUST_TOKEN")?;
            let token = token.trim();
            if token.is_empty() || token.contains(['\r', '\n']) {
                anyhow::bail!("the token must be one line");
            }
            Ok(token.to_owned())
        }
    }
}

/// One request to the daemon's own listener (plain http on `http.listen`);
/// the body of a 200 answer, else the API's error.
pub(super) async fn call(api: &ApiArgs, method: &str, path: &str, body: Option<String>) -> anyhow::Result<String> {
    let config = super::load_config(&api.config)?;
    let token = token(api.token_file.as_deref())?;
    let addr = super::local_http::reachable(config.http.listen);
    let body = body.unwrap_or_default();
    let answer = super::local_http::request(
        addr,
        method,
        path,
        Some(token.as_str()),
        Some(body.as_str()),
        Duration::from_secs(30),
    )
    .await?;
    if answer.status != 200 {
        let reason = serde_json::from_str::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| answer.body.trim().to_owned());
        anyhow::bail!("the api answered {}: {reason}", answer.status);
    }
    Ok(answer.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_id_names_one_alert_or_says_why_not() {
        let fingerprints = ["3f9a0c1e00aa".to_owned(), "3f9a0c1e11bb".to_owned(), "77aa0000ffff".to_owned()];
        assert_eq!(unique_prefix("77aa0000", &fingerprints).expect("unique"), "77aa0000ffff");
        let ambiguous = unique_prefix("3f9a0c1e", &fingerprints).expect_err("two match").to_string();
        assert!(ambiguous.starts_with("2 alerts have an id starting with 3f9a0c1e"), "{ambiguous}");
        assert_eq!(unique_prefix("3f9a0c1e1", &fingerprints).expect("longer"), "3f9a0c1e11bb");
        assert!(unique_prefix("12345678", &fingerprints).is_err());
    }
}
