//! The plan: a pure diff of the desired users against the server's, as reviewable changes.

mod change;
mod diff;
mod fingerprint;
#[cfg(test)]
pub(crate) mod strategies;

pub use change::{
    Adoption, Change, KeyChange, NewUser, PendingInvite, Plan, PlanPolicy, Reinvite, Removal,
    Rename, RoleChange, RolesChange, ServerState, Summary, UserUpdate, PLAN_FORMAT_VERSION,
};
pub use diff::{marker_for, plan, plan_with, PlanOptions, MARKER_KEY};
pub use fingerprint::{record_server_fingerprint, server_fingerprint, user_fingerprint};
