//! sources → raw (and deletions). Every source runs as its own task and
//! hands its messages, with their acknowledgement handles, to one forwarder
//! that publishes them on `onrust.raw.v1` keyed by source id; what a source
//! reports deleted (a Bluesky delete) goes on `onrust.deletions.v1`, keyed
//! by source id too. When every source has stopped the forwarder ends and
//! drops its publishers, which closes the topics and lets the rest of the
//! pipeline drain.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::Context;
use onrust_bus::{Ack, Record};
use onrust_classify::{Classifier, Input};
use onrust_ingest::bluesky::Relevance;
use onrust_ingest::source::SourceContext;
use onrust_model::{Deletion, Level, RawMessage, SourceId};
use tokio::sync::{mpsc, watch};

use crate::config::SourceConfig;

use crate::internal_events::StageProcessed;

/// Capacity of the hand-over from sources to the forwarder.
pub const HANDOVER: usize = 1024;

/// What every source task is given: the shared fetcher, keys and cursors,
/// where to hand messages and deletions, and the stop signal.
pub struct SourceEnds {
    pub context: SourceContext,
    pub messages: mpsc::Sender<(RawMessage, Ack)>,
    pub deletions: mpsc::Sender<(Deletion, Ack)>,
    pub stop: watch::Receiver<bool>,
    /// What a streaming source lets onto the bus (Bluesky); loaded only when one is configured.
    pub relevance: Option<Arc<dyn Relevance>>,
}

/// Lets a Bluesky post onto the bus when the classifier finds one of the
/// themes, or a place in the region, in it, or scores it level 2 or higher
/// wherever it is: the same lexicons that score it later, so nothing is let
/// in that could never count, and nothing that could is kept out. A call to
/// violence or a threat whose place the gazetteer does not know must still
/// reach the archive and the alerts. Runs on the source's task: one classification is tens of
/// microseconds, and the language filter before it leaves few posts.
pub struct LexiconRelevance {
    classifier: Arc<Classifier>,
    /// The region's municipalities; empty: any place the gazetteer knows.
    region: HashSet<String>,
}

impl LexiconRelevance {
    pub fn new(classifier: Arc<Classifier>, region: &[String]) -> Self {
        Self { classifier, region: region.iter().cloned().collect() }
    }
}

impl Relevance for LexiconRelevance {
    fn is_relevant(&self, text: &str) -> bool {
        let assessment = self.classifier.classify(&Input { text, ..Input::default() });
        assessment.level >= Level::Mobilisation
            || !assessment.themes.is_empty()
            || assessment.municipalities.iter().any(|m| self.region.is_empty() || self.region.contains(m.as_str()))
    }
}

/// A source's task, ready to spawn.
pub type SourceTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The task that runs one configured source, whatever its kind: the kind
/// builds it (`onrust_ingest::config`); the configuration was validated, so
/// an error here names what still fails.
pub fn source_task(source: &SourceConfig, ends: SourceEnds) -> anyhow::Result<SourceTask> {
    let id = SourceId::new(source.id.clone())?;
    let SourceEnds { context, messages, deletions, stop, relevance } = ends;
    let worker = source.params.build(id, source.interval.0, relevance)?;
    Ok(Box::pin(worker.run(context, messages, deletions, stop)))
}

/// Publishes what sources hand over until every source has hung up. A
/// message erased on request (`erased`, by id or by link) never reaches the
/// bus: it is acknowledged, so its source moves past it, and dropped (L3).
pub async fn forward(
    mut messages: mpsc::Receiver<(RawMessage, Ack)>,
    mut deletions: mpsc::Receiver<(Deletion, Ack)>,
    intake: super::Intake,
    erased: Arc<crate::erasure::tombstones::Tombstones>,
) -> anyhow::Result<()> {
    let (mut messages_open, mut deletions_open) = (true, true);
    while messages_open || deletions_open {
        tokio::select! {
            next = messages.recv(), if messages_open => match next {
                Some((message, ack)) if erased.covers(&message) => {
                    ack.ack();
                    StageProcessed { stage: "ingest", outcome: "erased", count: 1 }.emit();
                }
                Some((message, ack)) => {
                    let record = Record::json(message.source.as_str(), &message)?;
                    intake.raw.publish(record, ack).await.context("publishing raw message")?;
                    StageProcessed { stage: "ingest", outcome: "ok", count: 1 }.emit();
                }
                None => messages_open = false,
            },
            next = deletions.recv(), if deletions_open => match next {
                Some((deletion, ack)) => {
                    let record = Record::json(deletion.source.as_str(), &deletion)?;
                    intake.deletions.publish(record, ack).await.context("publishing deletion")?;
                    StageProcessed { stage: "ingest", outcome: "deletion", count: 1 }.emit();
                }
                None => deletions_open = false,
            },
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifier() -> Arc<Classifier> {
        let config = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let cfg = onrust_classify::ClassifierConfig::in_dir(&config);
        Arc::new(Classifier::load(&cfg).expect("shipped lexicons load"))
    }

    #[test]
    fn a_post_is_relevant_for_a_theme_or_a_place_in_the_region() {
        let region = ["GM0344".to_owned(), "GM0307".to_owned()];
        let relevance = LexiconRelevance::new(classifier(), &region);
        for text in [
            "Zaterdag demonstratie op de Neude tegen het nieuwe azc",
            "Morgen weer trekkers op de A28, de stikstofregels moeten weg",
            "Wie gaat er vanavond naar het concert in Amersfoort?",
        ] {
            assert!(relevance.is_relevant(text), "{text}");
        }
        for text in ["Lekker weer vandaag, even de hond uitlaten", "Vanavond in Groningen naar de film"] {
            assert!(!relevance.is_relevant(text), "{text}");
        }
        // Level 2 and 3 pass wherever they are, with no theme and no known place.
        for text in ["Ik schiet die burgemeester morgen neer", "Morgen stenen gooien naar de ME, neem alles mee!!"] {
            assert!(relevance.is_relevant(text), "{text}");
        }
        let anywhere = LexiconRelevance::new(classifier(), &[]);
        assert!(anywhere.is_relevant("Vanavond in Groningen naar de film"), "without a region, any known place");
    }
}
