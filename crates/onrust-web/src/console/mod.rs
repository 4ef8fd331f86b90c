//! The console: server-rendered Dutch pages for officers, supervisors,
//! analysts and the data protection officer (issue 17).
//!
//! # Why it is built this way
//!
//! - **Pages are routes like any other**: each is in the one route table
//!   ([`crate::routes`]) with the one [`crate::Permission`] it needs, so the
//!   route × role test covers them and no page exists without a check. A page
//!   is reached with a session cookie only (never a bearer token, so a
//!   browser cannot be made to send one), the API with a bearer token only
//!   (so a cookie cannot be ridden into the API: no CSRF there).
//! - **Templates are `maud`**: HTML is written in Rust, checked when it is
//!   compiled, and every value put into it is escaped unless it is wrapped in
//!   `PreEscaped`, which this module never does with anything from outside
//!   (a message's text, a query, a name). No template files, no run-time
//!   template engine, no JavaScript: the core flows are links and forms.
//! - **A strict Content-Security-Policy** on every response: nothing but
//!   our own stylesheet and forms posting to ourselves; no script at all.
//! - **CSRF**: every form carries the session's token in a hidden `csrf`
//!   field, and the router refuses a page `POST` without the right one
//!   before its handler runs, so a form cannot forget it. Cookies are
//!   `SameSite=Strict` besides.
//! - **No person is shown** (L1): the archive keeps no author for the pages
//!   to show, and what the pages show of a message is its title, text,
//!   source, time, level and themes.

mod alert_pages;
mod audit_page;
mod calendar;
pub mod coverage;
mod export;
mod halt_page;
pub(crate) mod html;
mod level_chart;
pub(crate) mod login;
mod municipality;
mod overview;
mod search_page;
pub mod session;
mod signals;
mod silences;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use onrust_model::MunicipalityCode;

pub use coverage::{CoverageView, SourceCoverage};
pub use export::{EXPORT_CAP, cell as csv_cell};
pub use session::{LoginPolicy, SessionPolicy, Sessions, SignedIn};
pub use users::Users;

pub(crate) use alert_pages::{acknowledge, alert, alerts, confirm, dismiss};
pub(crate) use audit_page::audit;
pub(crate) use export::export;
pub(crate) use halt_page::{halt_banner, halt_form, halt_page, resume_form};
pub(crate) use login::{login_form, sign_in, sign_out, stylesheet};
pub(crate) use municipality::municipality;
pub(crate) use overview::overview;
pub(crate) use search_page::search;
pub(crate) use silences::{expire_silence, silence, silences};

/// What time it is for the pages: the system clock in the daemon, a fixed
/// moment in tests and in the render benchmark (whose archive ends when it
/// was built).
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(Utc::now))
    }

    /// Always `at`.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self(Arc::new(move || at))
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// What the console needs besides the API's state: accounts, sessions, the
/// region's municipalities with their names, the clock, what the daemon
/// knows of its sources, and the archive's retention.
pub struct Console {
    pub users: Users,
    pub sessions: Sessions,
    /// The region's name, in the header.
    pub region_name: String,
    /// The region's municipalities: a tile each on the overview, in this order.
    pub region: Vec<MunicipalityCode>,
    /// Every municipality's name, to show beside its code.
    pub names: Vec<(MunicipalityCode, String)>,
    pub clock: Clock,
    /// Each source's delivery, for coverage; `None` in a process that runs no sources.
    pub coverage: Option<Arc<dyn CoverageView>>,
    /// How long the archive keeps a message after fetching it (`archive.retention`),
    /// for the audit page's retention per bucket; `None` when unknown here.
    pub retention: Option<Duration>,
    /// Every data class with its retention, as the FG's page lists them.
    pub data_classes: Vec<DataClass>,
}

/// A data class and how long it is kept (rule L6), named for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataClass {
    /// Its Dutch name ("notificatielog").
    pub name: String,
    /// What it holds, in Dutch.
    pub holds: String,
    pub keep: Duration,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("region_name", &self.region_name)
            .field("region", &self.region)
            .field("coverage", &self.coverage.is_some())
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl Console {
    /// A console nobody can sign in to (no accounts).
    pub fn closed() -> Self {
        Self {
            users: Users::none(),
            sessions: Sessions::new(SessionPolicy::default(), LoginPolicy::default()),
            region_name: String::new(),
            region: Vec::new(),
            names: Vec::new(),
            clock: Clock::system(),
            coverage: None,
            retention: None,
            data_classes: Vec::new(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn coverage_view(&self) -> Option<&dyn CoverageView> {
        self.coverage.as_deref()
    }

    /// `Utrecht`, or the code itself when the name is not known.
    pub fn name_of(&self, code: &str) -> String {
        self.names.iter().find(|(c, _)| c.as_str() == code).map_or_else(|| code.to_owned(), |(_, n)| n.clone())
    }
}

/// One audit record for a page, written before the page is answered (L7).
#[derive(Debug, Default)]
pub(crate) struct Record {
    pub action: &'static str,
    pub query: Option<String>,
    pub filters: serde_json::Value,
    pub hits: Option<u64>,
    pub refused: Option<String>,
    /// The mandates the action ran under (rule L5): for a search, those covering it.
    pub mandates: Vec<String>,
}

impl Record {
    pub fn new(action: &'static str, filters: serde_json::Value) -> Self {
        Self { action, filters, ..Self::default() }
    }

    /// Appends the record for `signed_in`; the error page to answer when it cannot be written.
    pub async fn write(self, state: &crate::WebState, signed_in: &SignedIn) -> Result<(), axum::response::Response> {
        let entry = onrust_audit::AuditEntry {
            who: signed_in.principal.name.clone(),
            action: self.action.to_owned(),
            query: self.query,
            filters: self.filters,
            hits: self.hits,
            refused: self.refused,
            mandates: self.mandates,
        };
        crate::api::record(state.audit_path.clone(), entry).await.map(|_| ()).map_err(|_| {
            html::error_page(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Some(signed_in),
                "Het auditlog kan niet worden geschreven, dus deze pagina wordt niet getoond. De beheerders zien waarom.",
            )
        })
    }
}
