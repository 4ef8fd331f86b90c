//! An error and its causes on one line, for logs and refusals.

/// The error and its causes on one line, `a: b: c`. A cause whose text the
/// line already ends with is left out: many errors keep their source *and*
/// quote it ("cannot record the deletion: disk full"), and `{:#}` or a plain
/// walk would say it twice.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
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
    use super::error_chain;

    #[derive(Debug)]
    struct Wrapping {
        message: &'static str,
        source: std::io::Error,
    }

    impl std::fmt::Display for Wrapping {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.message)
        }
    }

    impl std::error::Error for Wrapping {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    fn disk_full() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full")
    }

    #[test]
    fn the_line_names_every_cause_once() {
        let plain = Wrapping { message: "cannot save the alert state", source: disk_full() };
        assert_eq!(error_chain(&plain), "cannot save the alert state: disk full");
        let quoting = Wrapping { message: "cannot record the deletion: disk full", source: disk_full() };
        assert_eq!(error_chain(&quoting), "cannot record the deletion: disk full");
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(plain);
        assert_eq!(error_chain(boxed.as_ref()), "cannot save the alert state: disk full");
        assert_eq!(error_chain(&disk_full()), "disk full");
    }
}
