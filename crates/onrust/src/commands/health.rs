//! `onrust health`: is the daemon on this machine ready? Exit 0 if its
//! `/readyz` answers 200, 1 otherwise, with one line that says why.
//!
//! Made for container healthchecks (the slim image has no curl) and for
//! scripts. It asks the listener the configuration names (`http.listen`, an
//! unspecified address over loopback) and, when `http.token_file` is set,
//! presents that monitor token: off loopback, and on loopback whenever a
//! monitor token is configured, `/readyz` needs it (rule S8). Nothing else
//! is read or written; the request is not audited, as it shows no content.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::local_http;

/// Arguments of `onrust health`.
#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// The configuration file (for `http.listen` and `http.token_file`).
    #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
    config: PathBuf,
    /// Ask this address instead of `http.listen` (a process started with `run --listen`).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Give up after this long ("5s", "500ms").
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

pub async fn run(args: HealthArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let addr = local_http::reachable(args.listen.unwrap_or(config.http.listen));
    let token = config.http.token_file.as_deref().map(local_http::read_token_file).transpose()?;
    let answer = match local_http::request(addr, "GET", "/readyz", token.as_deref(), None, args.timeout).await {
        Ok(answer) => answer,
        Err(error) => {
            eprintln!("not ready: {error:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if answer.status == 200 {
        // Halted is ready (the API must stay reachable), but worth saying (rule L13).
        match answer.body.trim().strip_prefix("ready, ") {
            Some(halted) => println!("ready: onrust at {addr}, {halted}"),
            None => println!("ready: onrust at {addr}"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("not ready: {}", why_not(addr, answer.status, token.is_some()));
    Ok(ExitCode::FAILURE)
}

/// The line that says why a status other than 200 means "not ready".
fn why_not(addr: SocketAddr, status: u16, sent_token: bool) -> String {
    match status {
        503 => format!("onrust at {addr} answered 503: it is still starting, or one of its stages has stopped"),
        401 if sent_token => format!(
            "onrust at {addr} answered 401: it refused the token in http.token_file (is it the daemon's monitor token?)"
        ),
        401 => format!("onrust at {addr} answered 401: it wants the monitor token; set http.token_file"),
        other => format!("onrust at {addr} answered {other} to GET /readyz"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_says_what_to_do() {
        let addr: SocketAddr = "127.0.0.1:8080".parse().expect("address");
        assert!(why_not(addr, 503, false).contains("still starting"));
        assert!(why_not(addr, 401, true).contains("refused the token in http.token_file"));
        assert!(why_not(addr, 401, false).contains("set http.token_file"));
        assert_eq!(why_not(addr, 404, false), "onrust at 127.0.0.1:8080 answered 404 to GET /readyz");
    }
}
