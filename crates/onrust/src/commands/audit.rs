use std::path::Path;
use std::process::ExitCode;

/// `onrust audit verify`: checks the audit log's hash chain and its sealed
/// tail; a break, a removed tail or a recorded gap is an error naming the line.
pub fn verify(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let path = config.audit_path();
    let checkpoint = onrust_audit::checkpoint_path(&path);
    if !path.exists() && !checkpoint.exists() {
        println!("audit log {} is empty: no searches yet", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let verified = onrust_audit::verify_report(&path)?;
    println!("audit log {} verified: {} records, chain intact", path.display(), verified.records);
    match &verified.checkpoint {
        Some(sealed) => println!(
            "  sealed:       up to record {} by {} (hash {}); note it elsewhere to detect a rewrite of both",
            sealed.seq,
            checkpoint.display(),
            sealed.hash
        ),
        None => println!("  not sealed:   no checkpoint yet; the next record or `onrust run` writes it"),
    }
    if let Some(line) = verified.torn_line {
        println!(
            "  NOTE:         line {line} is not a whole record (a write that did not finish); \
             the next record or `onrust run` moves it aside"
        );
    }
    Ok(ExitCode::SUCCESS)
}
