//! `onrust train --spec config/escalation-train.toml --out config/escalation-learned.toml`:
//! the learned layer's weights from the training files the specification
//! lists, deterministically (same files, same bytes). With `--check`, the
//! fresh weights are compared with the file at `--out` instead of written,
//! and a difference fails.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use onrust_classify::Input;
use onrust_classify::learned::{Example, read_spec, train};

use super::classify::parse_line;
use super::lines::Lines;

/// Arguments of `onrust train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The configuration file (lexicons; the rules compute the features).
    #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
    config: PathBuf,
    /// The training specification: files, penalties, steps, thresholds, group words.
    #[arg(long, default_value = "config/escalation-train.toml")]
    spec: PathBuf,
    /// Where the weights go.
    #[arg(long, default_value = "config/escalation-learned.toml")]
    out: PathBuf,
    /// Compare a fresh training with `--out` instead of writing it; exit 1 when they differ.
    #[arg(long)]
    check: bool,
}

pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let classifier = super::load_rules(&config)?;
    let spec = read_spec(&args.spec).map_err(|e| anyhow::anyhow!(e))?;
    let base = args.spec.parent().unwrap_or(std::path::Path::new("."));
    let mut examples = Vec::new();
    for file in &spec.train {
        let path = base.join(file);
        let handle = std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut lines = Lines::new(std::io::BufReader::new(handle));
        while let Some((number, line)) = lines.next_line()? {
            let line = line.map_err(|e| anyhow::anyhow!("{}:{number}: {e}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let mut parsed = parse_line(&line).map_err(|e| anyhow::anyhow!("{}:{number}: {e}", path.display()))?;
            let expected = parsed
                .expect
                .take()
                .ok_or_else(|| anyhow::anyhow!("{}:{number}: no \"expect\" object to learn from", path.display()))?;
            let text = onrust_ingest::text::clean(&parsed.text, false, super::classify::MAX_TEXT_CHARS);
            let title = parsed.title.as_deref().map(|t| onrust_ingest::text::clean(t, false, 500));
            let features = classifier.learning_features(&Input {
                text: &text,
                title: title.as_deref(),
                lang_hint: parsed.lang.as_deref(),
                published_at: parsed.published_at,
                source_municipality: None,
            });
            examples.push(Example { features, level: expected.level });
        }
    }
    // Rule L11 (topic, target and group words), and place names: a place says where, not how far.
    let places = classifier.one_word_place_names();
    let never = |word: &str| {
        classifier.never_learned(word) || spec.never_words.iter().any(|w| w == word) || places.contains(word)
    };
    let weights = train(&examples, &spec, &never);
    if args.check {
        let committed =
            std::fs::read_to_string(&args.out).with_context(|| format!("cannot read {}", args.out.display()))?;
        if committed != weights {
            eprintln!(
                "{} differs from a fresh training on {} messages: rerun onrust train --spec {} --out {} and review the diff",
                args.out.display(),
                examples.len(),
                args.spec.display(),
                args.out.display()
            );
            return Ok(ExitCode::FAILURE);
        }
        eprintln!("{} is what training on {} messages gives", args.out.display(), examples.len());
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::write(&args.out, &weights).with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!("trained on {} messages: {}", examples.len(), args.out.display());
    Ok(ExitCode::SUCCESS)
}
