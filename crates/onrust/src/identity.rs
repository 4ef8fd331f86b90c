//! Who runs a CLI command, as the audit log names them (`cli:<name>`, rule L7).
//!
//! The name comes from the process's real user id, looked up in the
//! system's account list, never from `$USER` or `$LOGNAME`: those are
//! whatever the caller sets (`USER=someone-else onrust search …`), and a
//! newline in one made a record that read as two. A user id without an
//! entry there (a container run as an arbitrary id, an account only a
//! directory service knows) is recorded as `cli:uid:<n>`. A name with a
//! control or bidi character is refused rather than written.

use std::path::Path;

/// The system's account list (`name:password:uid:gid:…`).
const PASSWD: &str = "/etc/passwd";

/// `cli:<account name>` of the user running this process, or `cli:uid:<n>`.
pub fn cli_user() -> anyhow::Result<String> {
    let uid = rustix::process::getuid().as_raw();
    let accounts = std::fs::read_to_string(Path::new(PASSWD)).unwrap_or_default();
    audit_name(uid, &accounts)
}

/// The audit name of `uid` given the account list `passwd`.
fn audit_name(uid: u32, passwd: &str) -> anyhow::Result<String> {
    let Some(name) = account_name(uid, passwd) else { return Ok(format!("cli:uid:{uid}")) };
    if name.is_empty() || name.chars().any(|c| c.is_control() || onrust_model::is_hidden_char(c)) {
        anyhow::bail!(
            "the account name of user id {uid} contains control or bidi characters; \
             it is not written to the audit log (rename the account)"
        );
    }
    Ok(format!("cli:{name}"))
}

/// The first account in `passwd` with user id `uid`.
fn account_name(uid: u32, passwd: &str) -> Option<&str> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?;
        (id.parse::<u32>().ok()? == uid).then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD_TEXT: &str = "root:x:0:0:root:/root:/bin/bash\n\
                               # a comment line\n\
                               analist:x:1000:1000:Analist,,,:/home/analist:/bin/bash\n\
                               broken-line\n\
                               tweede:x:1000:1000::/home/tweede:/bin/sh\n";

    #[test]
    fn the_name_comes_from_the_user_id_not_the_environment() {
        assert_eq!(audit_name(1000, PASSWD_TEXT).expect("name"), "cli:analist", "the first entry wins");
        assert_eq!(audit_name(0, PASSWD_TEXT).expect("name"), "cli:root");
        assert_eq!(audit_name(4242, PASSWD_TEXT).expect("name"), "cli:uid:4242", "no entry: the id");
        assert_eq!(audit_name(4242, "").expect("name"), "cli:uid:4242", "no account list: the id");
    }

    #[test]
    fn a_name_with_control_or_bidi_characters_is_refused() {
        for bad in ["ana\u{1b}[2Klist", "ana\u{202e}tsil", "ana\u{7}"] {
            let passwd = format!("{bad}:x:1000:1000::/home/x:/bin/sh\n");
            let message = audit_name(1000, &passwd).expect_err(bad).to_string();
            assert!(message.contains("control or bidi characters"), "{message}");
            assert!(!message.contains(bad), "the name itself is not echoed");
        }
    }

    #[test]
    fn this_process_has_a_name_without_a_newline() {
        let name = cli_user().expect("this process's user");
        assert!(name.starts_with("cli:") && !name.contains('\n'), "{name}");
    }
}
