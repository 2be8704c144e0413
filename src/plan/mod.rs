//! The plan: a pure diff of the desired users against the server's, as reviewable changes.

mod change;
mod diff;
mod fingerprint;
mod schema;
#[cfg(test)]
pub(crate) mod strategies;

pub use change::{
    Adoption, Change, Conflict, ConflictingAccount, KeyChange, NewUser, PendingInvite, Plan,
    PlanPolicy, Reinvite, Removal, Rename, RoleChange, RolesChange, ServerState, Summary, Target,
    UserUpdate, PLAN_FORMAT_VERSION,
};
pub use diff::{plan, plan_with, PlanOptions};
// The emulator's manifest seeding still imports the marker from here; it moves to
// `crate::ownership` when the emulator becomes its own crate.
pub use crate::ownership::{marker_for, MARKER_KEY};
pub use fingerprint::{record_server_fingerprint, server_fingerprint, user_fingerprint};
pub use schema::plan_schema_text;
