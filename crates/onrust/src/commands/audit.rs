use std::path::Path;
use std::process::ExitCode;

/// `onrust audit verify`: checks the audit log's hash chain.
pub fn verify(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let path = config.audit_path();
    if !path.exists() {
        println!("audit log {} is empty: no searches yet", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let records = onrust_audit::verify(&path)?;
    println!("audit log {} verified: {records} records, chain intact", path.display());
    Ok(ExitCode::SUCCESS)
}
