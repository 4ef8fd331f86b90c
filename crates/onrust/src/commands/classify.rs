//! `onrust classify` and the line handling it shares with `onrust eval`: the
//! classifier contract of docs/ARCHITECTURE.md. One JSON line in, one JSON line out, in
//! order, streaming in constant memory. A bad line gets an error line (and a
//! message on stderr naming the line), never a stop; the exit status says
//! whether any line failed.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, FixedOffset};
use onrust_classify::eval::Expected;
use onrust_classify::{Classifier, Input};
use onrust_model::Assessment;
use serde::{Deserialize, Serialize};

/// Longest input line read; longer lines are refused and skipped.
const MAX_LINE_BYTES: usize = 2 * 1024 * 1024;
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

#[derive(Debug, Serialize)]
struct Output<'a> {
    id: &'a serde_json::Value,
    #[serde(flatten)]
    assessment: &'a Assessment,
}

/// Reads the next line of at most [`MAX_LINE_BYTES`], without its line end
/// (`\n` or `\r\n`); `Ok(None)` at the end. A line that is too long or not
/// UTF-8 is an `Ok(Some(Err))` for that line only; a failing reader is an `Err`.
pub fn next_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<Result<String, String>>> {
    buf.clear();
    let mut too_long = false;
    let mut read_any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            if !read_any {
                return Ok(None);
            }
            break;
        }
        read_any = true;
        let (used, newline) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at, true),
            None => (available.len(), false),
        };
        if !too_long && buf.len() + used > MAX_LINE_BYTES {
            too_long = true;
            buf.clear();
        } else if !too_long {
            buf.extend_from_slice(&available[..used]);
        }
        reader.consume(used + usize::from(newline));
        if newline {
            break;
        }
    }
    if too_long {
        return Ok(Some(Err(format!("line is longer than {MAX_LINE_BYTES} bytes"))));
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(
        std::str::from_utf8(buf)
            .map(str::to_owned)
            .map_err(|e| format!("line is not valid UTF-8 (at byte {})", e.valid_up_to())),
    ))
}

/// Parses and checks one input line.
pub fn parse_line(line: &str) -> Result<Line, String> {
    let input: Line = serde_json::from_str(line).map_err(|e| format!("not a classifier input: {e}"))?;
    if input.text.trim().is_empty() {
        return Err("text is empty".to_owned());
    }
    let chars = input.text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(format!("text is {chars} characters; at most {MAX_TEXT_CHARS} are classified"));
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
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut refused = 0usize;
    let mut buf = Vec::new();
    let mut number = 0usize;
    while let Some(line) = next_line(&mut stdin, &mut buf)? {
        number += 1;
        let out = line.and_then(|line| {
            if line.trim().is_empty() {
                return Err("empty line".to_owned());
            }
            let input = parse_line(&line)?;
            let assessment = assess(&classifier, &input);
            serde_json::to_string(&Output { id: &input.id, assessment: &assessment }).map_err(|e| e.to_string())
        });
        let out = out.unwrap_or_else(|e| {
            refused += 1;
            eprintln!("line {number}: {e}");
            serde_json::json!({ "line": number, "error": e }).to_string()
        });
        writeln!(stdout, "{out}")?;
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

    fn lines(input: &[u8]) -> Vec<Result<String, String>> {
        let mut reader = std::io::BufReader::with_capacity(16, input);
        let mut buf = Vec::new();
        std::iter::from_fn(|| next_line(&mut reader, &mut buf).expect("in-memory reads do not fail")).collect()
    }

    #[test]
    fn lines_are_split_and_bad_utf8_is_one_error() {
        let got = lines(b"a\r\n\xff\xfe\nccc");
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], Ok("a".to_owned()), "CRLF line ends are removed");
        assert!(got[1].as_ref().is_err_and(|e| e.contains("UTF-8")));
        assert_eq!(got[2], Ok("ccc".to_owned()));
    }

    #[test]
    fn an_overlong_line_is_refused_and_the_next_one_read() {
        let mut input = vec![b'x'; MAX_LINE_BYTES + 10];
        input.extend_from_slice(b"\nnext\n");
        let got = lines(&input);
        assert_eq!(got.len(), 2);
        assert!(got[0].as_ref().is_err_and(|e| e.contains("longer than")));
        assert_eq!(got[1], Ok("next".to_owned()));
    }

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
