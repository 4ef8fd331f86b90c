//! raw → classify → scored. Classification is CPU work, so each batch runs on
//! a blocking thread; the async side only moves records.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use anyhow::Context;
use onrust_bus::{Delivery, Publisher, Record, Subscriber};
use onrust_classify::{Classifier, Input};
use onrust_model::{RawMessage, SCHEMA_VERSION, ScoredMessage};

use crate::internal_events::{Classified, StageBatchDone, StageProcessed};

const BATCH: usize = 512;

/// Runs until the raw topic closes and is drained.
pub async fn run(
    mut input: Box<dyn Subscriber>,
    output: Arc<dyn Publisher>,
    dead: Arc<dyn Publisher>,
    classifier: Arc<Classifier>,
) -> anyhow::Result<()> {
    // Classification is the pipeline's CPU-heaviest step: a batch is spread over every core.
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    loop {
        let batch = super::next_batch(input.as_mut(), BATCH).await;
        if batch.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let results = classify_batch(&classifier, batch, workers).await?;
        StageBatchDone { stage: "classify", took: started.elapsed() }.emit();
        let count = results.len() as u64;
        for (result, delivery) in results {
            match result {
                Ok(record) => output.publish(record, delivery.ack).await.context("publishing scored message")?,
                Err(reason) => super::dead_letter("classify", dead.as_ref(), delivery, reason).await?,
            }
        }
        StageProcessed { stage: "classify", outcome: "ok", count }.emit();
    }
}

/// Classifies a batch in up to `workers` chunks on blocking threads; results keep the batch order.
async fn classify_batch(
    classifier: &Arc<Classifier>,
    mut batch: Vec<Delivery>,
    workers: usize,
) -> anyhow::Result<Vec<(Result<Record, String>, Delivery)>> {
    let chunk = batch.len().div_ceil(workers.max(1)).max(64);
    let mut handles = Vec::new();
    while !batch.is_empty() {
        let rest = batch.split_off(chunk.min(batch.len()));
        let part = std::mem::replace(&mut batch, rest);
        let classifier = Arc::clone(classifier);
        handles.push(tokio::task::spawn_blocking(move || {
            part.into_iter().map(|d| (classify_one(&classifier, &d), d)).collect::<Vec<_>>()
        }));
    }
    let mut results = Vec::new();
    for handle in handles {
        results.extend(handle.await.context("classifier thread failed")?);
    }
    Ok(results)
}

/// The scored record for one raw delivery, or why it cannot be classified.
/// A classifier panic on one message becomes that message's dead letter, so a
/// poison message cannot stop the stage or crash-loop the daemon (R4).
fn classify_one(classifier: &Classifier, delivery: &Delivery) -> Result<Record, String> {
    let raw: RawMessage = super::decode(&delivery.payload, "raw message", |m: &RawMessage| m.schema)?;
    let input = Input {
        text: &raw.text,
        title: raw.title.as_deref(),
        lang_hint: raw.lang_hint.as_deref(),
        // Times in the text resolve against publication, else against the fetch.
        published_at: raw.published_at.or(Some(raw.fetched_at.fixed_offset())),
        // A source that covers one municipality lends it to messages that name no place.
        source_municipality: classifier.source_municipality(raw.source.as_str()),
    };
    let assessment = std::panic::catch_unwind(AssertUnwindSafe(|| classifier.classify(&input)))
        .map_err(|_| "the classifier panicked on this message".to_owned())?;
    Classified {
        level: assessment.level.as_u8(),
        themes: &assessment.themes,
        municipalities: &assessment.municipalities,
    }
    .emit();
    let scored = ScoredMessage { schema: SCHEMA_VERSION, message: raw, assessment };
    Record::json(scored.bus_key(), &scored).map_err(|e| e.to_string())
}
