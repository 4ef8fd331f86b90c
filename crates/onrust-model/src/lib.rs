//! The types every onrust stage shares.
//!
//! A message flows through the stages as a [`RawMessage`] (from a source,
//! already plain text and pseudonymised) and then as a [`ScoredMessage`] (the
//! raw message plus the classifier's [`Assessment`]). These are the payloads
//! of the bus topics in docs/ARCHITECTURE.md ("Topics"); each carries a `schema` version so a
//! consumer can refuse what it does not understand instead of misreading it.
//!
//! This crate is serde only: no IO, no async, nothing that would make a stage
//! depend on another stage's machinery. The one piece of logic here is the
//! Dutch compound splitter ([`compound`]), which the classifier and the
//! archive must share and neither may take from the other.

mod ack;
pub mod compound;
mod error_chain;
mod ids;
mod message;
mod place;
mod problem;
mod text;

pub use ack::Ack;
pub use error_chain::error_chain;
pub use ids::{IdError, MessageId, MunicipalityCode, Pseudonym, SourceId};
pub use message::{
    Assessment, Deletion, Level, PUBLISHED_AFTER_FETCH_TOLERANCE, RawMessage, SCHEMA_VERSION, ScoredMessage, Signal,
    SourceKind,
};
pub use place::{Place, PlaceTier, Span, TextField, most_specific};
pub use problem::{Problem, problem_count};
pub use text::is_hidden_char;
