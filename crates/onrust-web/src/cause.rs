//! What a backend's failure carries: the error it failed with, kept whole
//! (its own type and its causes), so that the line the operators read in
//! the log says what actually went wrong, while the answer to the client
//! says only that the service is unavailable.

/// The error a backend ([`crate::erase::EraseBackend`],
/// [`crate::alerts::AlertBackend`]) failed with.
pub type BackendCause = Box<dyn std::error::Error + Send + Sync>;

/// The error and its causes on one line, `a: b: c`, for the log. A cause
/// whose text the line already ends with is left out: some errors keep
/// their source *and* quote it, and would otherwise say it twice.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !line.ends_with(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        next = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot save the alert state")]
    struct Save(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot record the deletion: {0}")]
    struct Quoting(#[source] std::io::Error);

    #[test]
    fn the_line_names_every_cause_once() {
        let disk_full = || std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full");
        assert_eq!(chain(&Save(disk_full())), "cannot save the alert state: disk full");
        assert_eq!(chain(&Quoting(disk_full())), "cannot record the deletion: disk full");
        let boxed: BackendCause = Box::new(Save(disk_full()));
        assert_eq!(chain(boxed.as_ref()), "cannot save the alert state: disk full");
    }
}
