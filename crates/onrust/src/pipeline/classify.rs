//! raw → classify → scored. Classification is CPU work, so each batch runs on
//! a blocking thread; the async side only moves records.

use std::sync::Arc;

use anyhow::Context;
use onrust_bus::{DeadLetter, Delivery, Publisher, Record, Subscriber};
use onrust_classify::{Classifier, Input};
use onrust_model::{RawMessage, SCHEMA_VERSION, ScoredMessage};

use crate::internal_events::{Classified, DeadLettered, StageProcessed};

const BATCH: usize = 512;

/// Runs until the raw topic closes and is drained.
pub async fn run(
    mut input: Box<dyn Subscriber>,
    output: Arc<dyn Publisher>,
    dead: Arc<dyn Publisher>,
    classifier: Arc<Classifier>,
) -> anyhow::Result<()> {
    loop {
        let batch = super::next_batch(input.as_mut(), BATCH).await;
        if batch.is_empty() {
            return Ok(());
        }
        let classifier = Arc::clone(&classifier);
        let results = tokio::task::spawn_blocking(move || {
            batch.into_iter().map(|d| (classify_one(&classifier, &d), d)).collect::<Vec<_>>()
        })
        .await
        .context("classifier thread failed")?;
        let count = results.len() as u64;
        for (result, delivery) in results {
            match result {
                Ok(record) => output.publish(record, delivery.ack).await.context("publishing scored message")?,
                Err(reason) => {
                    DeadLettered { stage: "classify", reason: &reason, offset: delivery.origin.offset }.emit();
                    let letter = Record::json(delivery.key.clone(), &DeadLetter::of(&delivery, reason))?;
                    dead.publish(letter, delivery.ack).await.context("publishing dead letter")?;
                }
            }
        }
        StageProcessed { stage: "classify", outcome: "ok", count }.emit();
    }
}

/// The scored record for one raw delivery, or why it cannot be classified.
fn classify_one(classifier: &Classifier, delivery: &Delivery) -> Result<Record, String> {
    let raw: RawMessage = serde_json::from_slice(&delivery.payload).map_err(|e| format!("not a raw message: {e}"))?;
    if raw.schema != SCHEMA_VERSION {
        return Err(format!("schema version {} is not {SCHEMA_VERSION}", raw.schema));
    }
    let assessment = classifier.classify(&Input {
        text: &raw.text,
        title: raw.title.as_deref(),
        lang_hint: raw.lang_hint.as_deref(),
        published_at: raw.published_at,
    });
    Classified { level: assessment.level.as_u8(), themes: &assessment.themes }.emit();
    let scored = ScoredMessage { schema: SCHEMA_VERSION, message: raw, assessment };
    Record::json(scored.bus_key(), &scored).map_err(|e| e.to_string())
}
