//! The file descriptors `onrust run` needs, checked against the process's
//! limit (`RLIMIT_NOFILE`) before anything starts.
//!
//! Every HTTP connection, source fetch, archive segment being merged, state
//! file being saved and relay connection is a descriptor. Before the
//! listener had a connection limit, clients holding connections took them
//! all and the archive and alert stages failed on their next file (issue 18).
//! Now the listener holds at most `http.max_connections`, and at start the
//! limit must cover those plus what the stages need; the soft limit is raised
//! to the hard limit when that is what it takes.

use crate::config::{BusKind, Config};

/// What the stages need whatever the configuration: standard streams, the
/// listener, the runtime, the archive writer's lock, the segments it keeps
/// open and merges, the audit log and the state files being saved, the SMTP
/// and webhook connections. Measured: an idle `onrust run` with the shipped
/// configuration holds about 40 (docs/PERFORMANCE.md); this leaves room for
/// merges, which open a segment's files while the old ones are still open.
pub const STAGE_BASE: u64 = 256;
/// Per enabled source: its connection while fetching and its cursor file while saving.
pub const PER_SOURCE: u64 = 2;
/// On Kafka, librdkafka's sockets and wake-up pipes per broker and client.
pub const KAFKA: u64 = 64;

/// How many descriptors a configuration needs, by whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// `http.max_connections`.
    pub http: u64,
    /// What the stages need besides.
    pub stages: u64,
}

impl Budget {
    pub fn of(config: &Config) -> Self {
        let sources = config.sources.iter().filter(|s| s.enabled).count() as u64;
        let kafka = if config.bus.kind == BusKind::Kafka { KAFKA } else { 0 };
        Self { http: config.http.max_connections as u64, stages: STAGE_BASE + PER_SOURCE * sources + kafka }
    }

    pub fn total(self) -> u64 {
        self.http.saturating_add(self.stages)
    }
}

/// The process's descriptor limit: soft (what applies) and hard (how far the soft one may be raised).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

impl Limit {
    /// The limit now; `None` means unlimited.
    pub fn current() -> Self {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        Self { soft: limit.current, hard: limit.maximum }
    }

    fn covers(self, needed: u64) -> bool {
        self.soft.is_none_or(|soft| soft >= needed)
    }
}

/// `1024 (hard 4096)`, or `unlimited`.
impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let number = |n: Option<u64>| n.map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
        match self.soft {
            None => f.write_str("unlimited"),
            Some(soft) => write!(f, "{soft} (hard {})", number(self.hard)),
        }
    }
}

/// The limit does not cover what the configuration needs.
#[derive(Debug)]
pub struct TooFew {
    soft: u64,
    hard: String,
    total: u64,
    http: u64,
    stages: u64,
}

impl std::fmt::Display for TooFew {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the process may open {} files and connections (hard limit {}), but onrust needs {}: {} for \
             http.max_connections and {} for the stages; raise the limit (ulimit -n, LimitNOFILE= in a \
             systemd unit, --ulimit nofile= for a container) or lower http.max_connections",
            self.soft, self.hard, self.total, self.http, self.stages
        )
    }
}

impl std::error::Error for TooFew {}

/// Makes sure the process may open what `budget` needs, raising the soft
/// limit to the hard one if that is needed and enough. Returns the limit
/// before and after.
pub fn ensure(budget: Budget) -> Result<Ensured, TooFew> {
    let before = Limit::current();
    if before.covers(budget.total()) {
        return Ok(Ensured { before, now: before });
    }
    let hard = Limit { soft: before.hard, hard: before.hard };
    if hard.covers(budget.total()) {
        // Failing to raise it is reported by the error below, with the limit that stayed.
        let _ = rustix::process::setrlimit(
            rustix::process::Resource::Nofile,
            rustix::process::Rlimit { current: before.hard, maximum: before.hard },
        );
    }
    let now = Limit::current();
    if now.covers(budget.total()) {
        return Ok(Ensured { before, now });
    }
    Err(TooFew {
        soft: now.soft.unwrap_or(u64::MAX),
        hard: now.hard.map_or_else(|| "unlimited".to_owned(), |h| h.to_string()),
        total: budget.total(),
        http: budget.http,
        stages: budget.stages,
    })
}

/// The limit before [`ensure`] and the one in force after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ensured {
    pub before: Limit,
    pub now: Limit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_counts_connections_sources_and_kafka() {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/test.toml");
        let text = "[http]\nmax_connections = 100\n\
                    [[sources]]\nmandate = \"test\"\nid = \"a\"\nkind = \"feed\"\nurl = \"https://example.org/a\"\n\
                    [[sources]]\nmandate = \"test\"\nid = \"b\"\nkind = \"feed\"\nurl = \"https://example.org/b\"\nenabled = false\n";
        let config = Config::parse(&path, &crate::config::mandates::with_test_mandate(text)).expect("valid");
        let budget = Budget::of(&config);
        assert_eq!(budget, Budget { http: 100, stages: STAGE_BASE + PER_SOURCE });
        assert_eq!(budget.total(), 100 + STAGE_BASE + PER_SOURCE);
    }

    #[test]
    fn a_limit_covers_what_it_allows_and_unlimited_covers_all() {
        assert!(Limit { soft: Some(1024), hard: Some(4096) }.covers(1024));
        assert!(!Limit { soft: Some(1024), hard: Some(4096) }.covers(1025));
        assert!(Limit { soft: None, hard: None }.covers(u64::MAX));
    }

    #[test]
    fn the_error_names_the_numbers_and_the_ways_out() {
        let message = TooFew { soft: 256, hard: "256".into(), total: 768, http: 512, stages: 256 }.to_string();
        for needle in
            ["256", "768", "512 for http.max_connections", "ulimit -n", "LimitNOFILE=", "lower http.max_connections"]
        {
            assert!(message.contains(needle), "{needle}: {message}");
        }
    }
}
