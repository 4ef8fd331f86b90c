//! sources → raw (and deletions). Every source runs as its own task and
//! hands its messages, with their acknowledgement handles, to one forwarder
//! that publishes them on `onrust.raw.v1` keyed by source id; what a source
//! reports deleted (a Bluesky delete) goes on `onrust.deletions.v1`, keyed
//! by source id too. When every source has stopped the forwarder ends and
//! drops its publishers, which closes the topics and lets the rest of the
//! pipeline drain.

use std::future::Future;
use std::pin::Pin;

use anyhow::Context;
use onrust_bus::{Ack, Record};
use onrust_ingest::feed::FeedSource;
use onrust_ingest::mastodon::{self, MastodonSource};
use onrust_ingest::source::{SourceContext, SourceSettings};
use onrust_ingest::telegram::TelegramSource;
use onrust_model::{Deletion, RawMessage, SourceId};
use tokio::sync::{mpsc, watch};

use crate::config::{SourceConfig, SourceKindConfig};

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
}

/// A source's task, ready to spawn.
pub type SourceTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The task that runs one configured source, whatever its kind; the
/// configuration was validated, so an error here names what still fails.
pub fn source_task(source: &SourceConfig, ends: SourceEnds) -> anyhow::Result<SourceTask> {
    let id = SourceId::new(source.id.clone())?;
    let url = url::Url::parse(&source.url).with_context(|| format!("source {}: bad url", source.id))?;
    let SourceEnds { context, messages, deletions, stop } = ends;
    let kind = source.kind.message_kind();
    let settings = |identity: &str| SourceSettings::new(id.clone(), kind, identity, source.interval.0);
    Ok(match source.kind {
        SourceKindConfig::Feed | SourceKindConfig::Reddit | SourceKindConfig::Youtube | SourceKindConfig::Authority => {
            let feed = FeedSource::feed(settings(url.as_str()), url);
            Box::pin(feed.run(context, messages, stop))
        }
        SourceKindConfig::Mastodon => {
            let identity = mastodon::identity(&url, &source.tags);
            let instance = MastodonSource::mastodon(settings(&identity), url, source.tags.clone());
            Box::pin(instance.run(context, messages, stop))
        }
        SourceKindConfig::Telegram => {
            let channel = TelegramSource::telegram(settings(url.as_str()), url)
                .with_context(|| format!("source {}", source.id))?;
            Box::pin(channel.run(context, messages, stop))
        }
        SourceKindConfig::Bluesky => {
            drop(deletions);
            anyhow::bail!("source {}: the bluesky kind is not wired yet", source.id)
        }
    })
}

/// Publishes what sources hand over until every source has hung up.
pub async fn forward(
    mut messages: mpsc::Receiver<(RawMessage, Ack)>,
    mut deletions: mpsc::Receiver<(Deletion, Ack)>,
    intake: super::Intake,
) -> anyhow::Result<()> {
    let (mut messages_open, mut deletions_open) = (true, true);
    while messages_open || deletions_open {
        tokio::select! {
            next = messages.recv(), if messages_open => match next {
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
