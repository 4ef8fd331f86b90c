//! `onrust docs`: the transparency documents of rule L12, in Dutch Markdown,
//! rendered from the configuration this installation runs, so that what is
//! published and what runs cannot drift apart.
//!
//! - `facts`: what the configuration, the classifier and the measured figures
//!   say, gathered once (sources, themes, rules and who receives what,
//!   retention, roles, the review gate).
//! - `documents`: the three documents: an entry for the government's
//!   Algoritmeregister, a DPIA and a fundamental-rights impact assessment
//!   (IAMA/FRIA), each built from the same sections.
//!
//! What the configuration cannot know (the decision that mandates the
//! monitoring, the DPIA's reference, a contact) is written as "In te vullen",
//! never made up.

mod documents;
mod facts;
mod mandates;

use std::path::PathBuf;
use std::process::ExitCode;

/// Which document to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Document {
    /// An entry for the Algoritmeregister, in the register's fields.
    Algoritmeregister,
    /// A data protection impact assessment (DPIA), after the Rijksdienst model.
    Dpia,
    /// A fundamental-rights impact assessment (IAMA / FRIA).
    Fria,
}

#[derive(Debug, clap::Args)]
pub struct DocsArgs {
    /// The document: algoritmeregister, dpia or fria.
    #[arg(value_enum)]
    pub document: Document,
    /// The configuration file.
    #[arg(long, env = "ONRUST_CONFIG", default_value = "config/onrust.toml")]
    pub config: PathBuf,
}

/// Renders the document to standard output.
pub fn run(args: &DocsArgs) -> anyhow::Result<ExitCode> {
    let config = super::load_config(&args.config)?;
    let classifier = super::load_classifier(&config)?;
    let facts = facts::Facts::gather(&config, &classifier)?;
    let text = match args.document {
        Document::Algoritmeregister => documents::algoritmeregister(&facts),
        Document::Dpia => documents::dpia(&facts),
        Document::Fria => documents::fria(&facts),
    };
    super::write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}
