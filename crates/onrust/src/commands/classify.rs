//! `onrust classify`: the classifier contract of DESIGN.md. One JSON line in,
//! one JSON line out, in order; a bad line gets an error line, never a stop.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, FixedOffset};
use onrust_classify::{Classifier, Input};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
struct Line {
    id: serde_json::Value,
    text: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    published_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    lang: Option<String>,
}

#[derive(Debug, Serialize)]
struct Output<'a> {
    id: &'a serde_json::Value,
    #[serde(flatten)]
    assessment: &'a onrust_model::Assessment,
}

/// Reads stdin to the end; exits 1 if any line was refused.
pub fn run(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let classifier = super::load_classifier(&config)?;
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut refused = 0usize;
    for (index, line) in stdin.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let out = classify_line(&classifier, &line).unwrap_or_else(|e| {
            refused += 1;
            serde_json::json!({ "line": index + 1, "error": e }).to_string()
        });
        writeln!(stdout, "{out}")?;
    }
    stdout.flush()?;
    if refused > 0 {
        eprintln!("{refused} line(s) refused; see the error lines in the output");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn classify_line(classifier: &Classifier, line: &str) -> Result<String, String> {
    let input: Line = serde_json::from_str(line).map_err(|e| format!("not a classifier input: {e}"))?;
    let text = onrust_ingest::text::clean(&input.text, false, 20_000);
    let title = input.title.as_deref().map(|t| onrust_ingest::text::clean(t, false, 500));
    let assessment = classifier.classify(&Input {
        text: &text,
        title: title.as_deref(),
        lang_hint: input.lang.as_deref(),
        published_at: input.published_at,
    });
    serde_json::to_string(&Output { id: &input.id, assessment: &assessment }).map_err(|e| e.to_string())
}
