//! `onrust eval FILE.jsonl`: the classifier over labelled lines (the
//! classifier contract's input plus an `expect` object), streaming, with
//! precision, recall and F1 per level and theme, municipality scores and
//! event-date accuracy, a confusion matrix of the levels, and whether the
//! targets are met. With `--mistakes`, every line that differs is printed,
//! and a level that differs first with the clause that decided it and the
//! signals that missed or fired wrongly.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use onrust_classify::eval::{Evaluation, agrees as evaluation_agrees, diagnose};

use super::classify::{assess, parse_line};
use super::lines::Lines;

/// Arguments of `onrust eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The configuration file (lexicons, model).
    #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
    config: PathBuf,
    /// Labelled JSON lines: {"id", "text", "title"?, "published_at", "expect": {"level", "themes", "municipalities", "event_time"}}.
    file: PathBuf,
    /// Print the counts as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Print every line whose level, themes, places or event date differ from the labels (on stderr);
    /// for a level, also the deciding clause and the signals that missed or fired wrongly.
    #[arg(long)]
    mistakes: bool,
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let classifier = super::load_classifier(&config)?;
    let file = std::fs::File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let mut lines = Lines::new(std::io::BufReader::new(file));
    let mut evaluation = Evaluation::default();
    let (mut number, mut refused) = (0usize, 0usize);
    while let Some((at, line)) = lines.next_line()? {
        number = at;
        let line = line.map_err(|e| e.to_string());
        if line.as_ref().is_ok_and(|l| l.trim().is_empty()) {
            continue;
        }
        let parsed = line.and_then(|l| parse_line(&l));
        let (line, expected) = match parsed {
            Ok(mut line) => match line.expect.take() {
                Some(expected) => (line, expected),
                None => {
                    refused += 1;
                    eprintln!("line {number}: no \"expect\" object to evaluate against");
                    continue;
                }
            },
            Err(e) => {
                refused += 1;
                eprintln!("line {number}: {e}");
                continue;
            }
        };
        let got = assess(&classifier, &line);
        if args.mistakes && !evaluation_agrees(&expected, &got) {
            let codes: Vec<&str> = got.municipalities.iter().map(|m| m.as_str()).collect();
            if expected.level != got.level {
                eprintln!("{}: {}", line.id, diagnose(&expected, &got));
            }
            eprintln!(
                "{}: level {}→{} themes {:?}→{:?} places {:?}→{:?} event {:?}→{:?} | {}",
                line.id,
                expected.level.as_u8(),
                got.level.as_u8(),
                expected.themes,
                got.themes,
                expected.municipalities,
                codes,
                expected.event_time.map(|t| t.to_rfc3339()),
                got.event_time.map(|t| t.to_rfc3339()),
                got.explanation
                    .iter()
                    .map(|s| format!("{}={}[{}]", s.signal, s.weight, s.evidence))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
        evaluation.add(&expected, &got);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&evaluation)?);
    } else {
        print!("{}", evaluation.report());
    }
    if refused > 0 {
        eprintln!("{refused} of {number} line(s) refused");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
