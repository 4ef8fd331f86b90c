//! One subscriber over two topics, for a stage that consumes both (the
//! archive takes scored messages and deletions). Deliveries keep their own
//! [`Origin`], so the stage tells them apart by `origin.topic` and stores
//! positions per topic; a seek goes to both (each backend takes only the
//! positions of its own topic). It ends when both have ended.

use crate::{BoxFuture, BusError, Delivery, Origin, Subscriber};

/// Two subscribers read as one, fairly.
pub struct Merged {
    first: Option<Box<dyn Subscriber>>,
    second: Option<Box<dyn Subscriber>>,
}

impl std::fmt::Debug for Merged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merged").field("first", &self.first.is_some()).field("second", &self.second.is_some()).finish()
    }
}

impl Merged {
    /// Reads `first` and `second` as one subscriber.
    pub fn new(first: Box<dyn Subscriber>, second: Box<dyn Subscriber>) -> Self {
        Self { first: Some(first), second: Some(second) }
    }
}

impl Subscriber for Merged {
    fn recv(&mut self) -> BoxFuture<'_, Option<Delivery>> {
        Box::pin(async move {
            loop {
                let delivery = match (self.first.as_mut(), self.second.as_mut()) {
                    (None, None) => return None,
                    (Some(first), None) => Ok(first.recv().await),
                    (None, Some(second)) => Err(second.recv().await),
                    // Both `recv`s are cancel-safe (the stages already race them against timers).
                    (Some(first), Some(second)) => tokio::select! {
                        d = first.recv() => Ok(d),
                        d = second.recv() => Err(d),
                    },
                };
                match delivery {
                    Ok(Some(d)) | Err(Some(d)) => return Some(d),
                    Ok(None) => self.first = None,
                    Err(None) => self.second = None,
                }
            }
        })
    }

    fn durable_positions(&self) -> bool {
        // Positions are stored only when both can resume from them.
        self.first.as_ref().is_none_or(|s| s.durable_positions())
            && self.second.as_ref().is_none_or(|s| s.durable_positions())
    }

    fn seek(&mut self, positions: &[Origin]) -> BoxFuture<'_, Result<(), BusError>> {
        let positions = positions.to_vec();
        Box::pin(async move {
            if let Some(first) = self.first.as_mut() {
                first.seek(&positions).await?;
            }
            if let Some(second) = self.second.as_mut() {
                second.seek(&positions).await?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ack, Bus, EmbeddedBus, EmbeddedOptions, Record, Topic};

    #[tokio::test]
    async fn reads_both_topics_and_ends_when_both_end() {
        let bus = EmbeddedBus::new(EmbeddedOptions::default());
        let scored = bus.subscribe(Topic::Scored, "archive").unwrap();
        let deletions = bus.subscribe(Topic::Deletions, "archive").unwrap();
        let mut merged = Merged::new(scored, deletions);
        let (p1, p2) = (bus.publisher(Topic::Scored).unwrap(), bus.publisher(Topic::Deletions).unwrap());
        bus.seal();
        for i in 0..3 {
            p1.publish(Record { key: "k".into(), payload: vec![i] }, Ack::none()).await.unwrap();
        }
        p2.publish(Record { key: "k".into(), payload: vec![9] }, Ack::none()).await.unwrap();
        drop(p2);
        let mut topics = Vec::new();
        for _ in 0..4 {
            let delivery = merged.recv().await.unwrap();
            delivery.ack.ack();
            topics.push(delivery.origin.topic);
        }
        topics.sort();
        assert_eq!(topics, ["onrust.deletions.v1", "onrust.scored.v1", "onrust.scored.v1", "onrust.scored.v1"]);
        drop(p1);
        assert!(merged.recv().await.is_none(), "both topics closed: the merged subscriber ends");
    }
}
