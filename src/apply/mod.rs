//! Apply: carry out a [`Plan`](crate::plan::Plan) through the [`AdminApi`] trait.

mod api;
#[cfg(test)]
mod convergence_tests;
mod execute;
#[cfg(test)]
pub(crate) mod fake;
mod guard;
mod precondition;

pub use api::AdminApi;
pub use execute::{
    execute, update_request, ApplyOptions, ApplyReport, ChangeReport, MailLimit, Outcome,
};
pub use guard::{
    check_deletes, check_fresh, check_saved_plan, check_secrets, plan_secrets, ApplyRefusal,
};
