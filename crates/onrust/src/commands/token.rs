//! `onrust token new`: a random bearer token for the HTTP API, and the
//! `[[http.tokens]]` entry that holds only its SHA-256 (rules S8, S9).

use std::process::ExitCode;

use anyhow::Context;
use onrust_web::auth::{TOKEN_PREFIX, check_token_name};
use onrust_web::{Role, TokenHash};

/// Bytes of operating-system randomness in a token.
const TOKEN_BYTES: usize = 32;

/// Arguments of `onrust token new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// Who will hold the token; written to the audit log. a-z, 0-9, '.', '_', '-'.
    #[arg(long)]
    name: String,
    /// What the holder may do: officer, analyst, supervisor, fg or admin.
    #[arg(long)]
    role: Role,
}

pub fn new(args: &NewArgs) -> anyhow::Result<ExitCode> {
    check_token_name(&args.name).map_err(anyhow::Error::msg)?;
    let token = generate()?;
    let hash = TokenHash::of(&token);
    println!("# the token for {} (role {}); it is shown only now, hand it over safely:", args.name, args.role);
    println!("{token}");
    println!();
    println!("# add this to the configuration (it holds only the token's SHA-256) and restart onrust:");
    println!("{}", snippet(&args.name, args.role, &hash));
    Ok(ExitCode::SUCCESS)
}

/// `onrust_` and 32 random bytes in hex.
fn generate() -> anyhow::Result<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).context("cannot read randomness from the operating system")?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

fn snippet(name: &str, role: Role, hash: &TokenHash) -> String {
    format!("[[http.tokens]]\nname = {name:?}\nrole = \"{role}\"\nsha256 = \"{}\"", hash.to_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_prefixed() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 2 * TOKEN_BYTES);
        assert!(a[TOKEN_PREFIX.len()..].bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn the_snippet_is_a_valid_token_entry_for_the_token() {
        let token = generate().unwrap();
        let text = snippet("analist-utrecht", Role::Analyst, &TokenHash::of(&token));
        let parsed: toml::Table = text.parse().unwrap();
        let entry = &parsed["http"]["tokens"][0];
        assert_eq!(entry["name"].as_str(), Some("analist-utrecht"));
        assert_eq!(entry["role"].as_str(), Some("analyst"));
        let hash = TokenHash::from_hex(entry["sha256"].as_str().unwrap()).unwrap();
        assert_eq!(hash, TokenHash::of(&token));
        assert!(!text.contains(&token), "the entry never holds the token");
    }
}
