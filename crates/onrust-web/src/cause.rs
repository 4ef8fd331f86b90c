//! What a backend's failure carries: the error it failed with, kept whole
//! (its own type and its causes), so that the line the operators read in
//! the log ([`onrust_model::error_chain`]) says what actually went wrong,
//! while the answer to the client says only that the service is unavailable.

/// The error a backend ([`crate::erase::EraseBackend`],
/// [`crate::alerts::AlertBackend`]) failed with.
pub type BackendCause = Box<dyn std::error::Error + Send + Sync>;
