//! `onrust classify` and the line handling it shares with `onrust eval`: the
//! classifier contract of docs/ARCHITECTURE.md. One JSON line in, one JSON line out, in
//! order, streaming in constant memory (lines are read by [`super::lines`],
//! capped at its `MAX_LINE_BYTES`). A bad line gets an error line (and a
//! message on stderr naming the line), never a stop; the exit status says
//! whether any line failed.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, FixedOffset};
use onrust_classify::eval::Expected;
use onrust_classify::{Classifier, Input};
use onrust_model::Assessment;
use serde::Deserialize;

use super::lines::Lines;

mod json;

/// Longest text classified, in characters (the pipeline caps texts at the
/// same length); longer is refused rather than silently cut.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// One input line of the contract (plus `expect` for `onrust eval`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub id: serde_json::Value,
    pub text: String,
    #[serde(default)]
    pub title: Option<String>,
    /// As given; checked by [`parse_line`] so a bad value gets its own message.
    #[serde(rename = "published_at")]
    published_raw: Option<String>,
    #[serde(skip)]
    pub published_at: Option<DateTime<FixedOffset>>,
    /// A language the source declared, if any.
    #[serde(default)]
    pub lang: Option<String>,
    /// The labels, for `onrust eval`.
    #[serde(default)]
    pub expect: Option<Expected>,
}

/// Parses and checks one input line.
pub fn parse_line(line: &str) -> Result<Line, String> {
    let input: Line = serde_json::from_str(line).map_err(|e| format!("not a classifier input: {e}"))?;
    if input.text.trim().is_empty() {
        return Err("text is empty".to_owned());
    }
    // A character is at least one byte: only a long text needs counting.
    if input.text.len() > MAX_TEXT_CHARS {
        let chars = input.text.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(format!("text is {chars} characters; at most {MAX_TEXT_CHARS} are classified"));
        }
    }
    let mut input = input;
    let Some(raw) = input.published_raw.as_deref() else {
        return Err("published_at is missing; times in the text are resolved against it".to_owned());
    };
    let published_at = DateTime::parse_from_rfc3339(raw)
        .map_err(|e| format!("published_at {raw:?} is not an RFC 3339 time such as 2026-12-30T21:40:00+01:00: {e}"))?;
    input.published_at = Some(published_at);
    Ok(input)
}

/// Classifies a parsed line the way the pipeline does: cleaned text first.
pub fn assess(classifier: &Classifier, line: &Line) -> Assessment {
    let text = onrust_ingest::text::clean(&line.text, false, MAX_TEXT_CHARS);
    let title = line.title.as_deref().map(|t| onrust_ingest::text::clean(t, false, 500));
    classifier.classify(&Input {
        text: &text,
        title: title.as_deref(),
        lang_hint: line.lang.as_deref(),
        published_at: line.published_at,
        source_municipality: None,
    })
}

/// Reads stdin to the end; exits 1 if any line was refused.
pub fn run(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let classifier = super::load_classifier(&config)?;
    let mut lines = Lines::new(std::io::stdin().lock());
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut refused = 0usize;
    let mut number = 0usize;
    // One buffer for every output line: a line is written whole or, when it
    // cannot be, replaced by its error line.
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    while let Some((at, line)) = lines.next_line()? {
        number = at;
        out.clear();
        let written = line.map_err(|e| e.to_string()).and_then(|line| {
            if line.trim().is_empty() {
                return Err("empty line".to_owned());
            }
            let input = parse_line(&line)?;
            let assessment = assess(&classifier, &input);
            json::write_output(&mut out, &input.id, &assessment).map_err(|e| e.to_string())
        });
        if let Err(e) = written {
            refused += 1;
            eprintln!("line {number}: {e}");
            out.clear();
            out.extend_from_slice(serde_json::json!({ "line": number, "error": e }).to_string().as_bytes());
        }
        out.push(b'\n');
        stdout.write_all(&out)?;
    }
    stdout.flush()?;
    if refused > 0 {
        eprintln!("{refused} of {number} line(s) refused");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_name_the_problem() {
        let cases = [
            (r#"{"id": 1, "text": "", "published_at": "2026-01-01T00:00:00+01:00"}"#, "text is empty"),
            (r#"{"id": 1, "text": "x"}"#, "published_at is missing"),
            (r#"{"id": 1, "text": "x", "published_at": "gisteren"}"#, "published_at"),
            (
                r#"{"id": 1, "text": "x", "published_at": "2026-01-01T00:00:00+01:00", "colour": 1}"#,
                "unknown field `colour`",
            ),
            ("{", "not a classifier input"),
        ];
        for (line, needle) in cases {
            let err = parse_line(line).expect_err(line);
            assert!(err.contains(needle), "{line}: {err}");
        }
        let big = format!(
            r#"{{"id": 1, "text": "{}", "published_at": "2026-01-01T00:00:00+01:00"}}"#,
            "a".repeat(1024 * 1024)
        );
        assert!(parse_line(&big).is_err_and(|e| e.contains("at most")));
        let fits = format!(
            r#"{{"id": 1, "text": "{}", "published_at": "2026-01-01T00:00:00+01:00"}}"#,
            "é".repeat(MAX_TEXT_CHARS)
        );
        assert!(parse_line(&fits).is_ok(), "the limit counts characters, not bytes");
    }
}
