//! Who is told, and how: the recipient roles of `[[recipients]]` and the
//! channels a notification leaves by. Plain names, shared by the renderers
//! here and the delivery in `onrust-notify`.

use serde::{Deserialize, Serialize};

use crate::mechanics::Role;

/// The way a notification leaves onrust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }
}

/// The role of a recipient, as in `[[recipients]]` (docs/ARCHITECTURE.md, "Configuration keys").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    Officer,
    Supervisor,
    Mayor,
}

impl RecipientRole {
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientRole::Officer => "officer",
            RecipientRole::Supervisor => "supervisor",
            RecipientRole::Mayor => "mayor",
        }
    }
}

impl From<Role> for RecipientRole {
    /// The recipients the mechanics' role of a notification goes to.
    fn from(role: Role) -> Self {
        match role {
            Role::Officer => RecipientRole::Officer,
            Role::Supervisor => RecipientRole::Supervisor,
            Role::Mayor => RecipientRole::Mayor,
        }
    }
}
