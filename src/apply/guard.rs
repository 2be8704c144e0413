//! Checks made before anything is written: delete bound, secrets, and (for saved plans)
//! that the server has not changed under the plan.

use std::collections::HashMap;
use std::path::Path;

use crate::gotrue::{Flavor, RemoteUser};
use crate::identity::email_key;
use crate::manifest::SecretRef;
use crate::plan::{user_fingerprint, Change, Plan, Target};
use crate::secret::{resolve, SecretError, SecretSource};

/// Why apply refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum ApplyRefusal {
    /// More deletes than allowed.
    #[error("the plan deletes {deletes} users (re-invites included), more than the allowed {max}; review it, then raise the bound with --max-deletes {deletes} if it is right")]
    TooManyDeletes {
        /// Deletes in the plan.
        deletes: usize,
        /// The bound.
        max: u32,
    },
    /// A saved plan no longer matches the server.
    #[error("plan is stale: {} user(s) changed on the server since the plan was made ({}); make a new plan", changed.len(), changed.join(", "))]
    Stale {
        /// What changed, per user.
        changed: Vec<String>,
    },
    /// A saved plan made against another server.
    #[error("this plan was made for {planned}, but the configured server is {configured}; apply it to the server it was made for, or make a new plan for this one")]
    WrongTarget {
        /// Where the plan was made.
        planned: Box<Target>,
        /// Where this run points.
        configured: Box<Target>,
    },
    /// A saved plan sets a `role` without the operator saying so now.
    #[error("the plan sets the `role` of {}; which roles open this server's admin API is a setting of the server that a saved plan, a file anyone could have edited, cannot vouch for, so pass --allow-admin-role if this is intended", users.join(", "))]
    AdminRole {
        /// The users who would get it.
        users: Vec<String>,
    },
    /// A referenced secret is missing.
    #[error("cannot read the password of {}", describe_secret_problems(problems))]
    Secrets {
        /// (user e-mail, problem) pairs.
        problems: Vec<(String, SecretError)>,
    },
}

fn describe_secret_problems(problems: &[(String, SecretError)]) -> String {
    problems
        .iter()
        .map(|(email, error)| format!("{email}: {error}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Refuses a saved plan made against another server than `configured`, or one that gives the
/// admin role unless `allow_admin_role`. Nothing in the file is trusted for these: the
/// target is compared, and the admin grants are read from the changes themselves.
pub fn check_saved_plan(
    plan: &Plan,
    configured: &Target,
    allow_admin_role: bool,
) -> Result<(), ApplyRefusal> {
    if plan.target != *configured {
        return Err(ApplyRefusal::WrongTarget {
            planned: Box::new(plan.target.clone()),
            configured: Box::new(configured.clone()),
        });
    }
    let users = admin_role_grants(plan);
    if !users.is_empty() && !allow_admin_role {
        return Err(ApplyRefusal::AdminRole { users });
    }
    Ok(())
}

/// The users a saved plan gives a `role` (the column), other than the server's default one.
/// Any of them may open the admin API: the defaults of both servers do, and so does whatever
/// the server adds (`GOTRUE_JWT_ADMIN_GROUP_NAME`, `GOTRUE_JWT_ADMIN_ROLES`); the plan's
/// `policy.admin_roles` says which, but that is the file's word, and one deleted line
/// would silence a check that trusted it.
fn admin_role_grants(plan: &Plan) -> Vec<String> {
    let default_role = Flavor::from_name(&plan.target.flavor).map(Flavor::default_role);
    plan.changes
        .iter()
        .filter(|change| {
            let role = match change {
                Change::Invite(user) | Change::Create(user) => user.role.as_deref(),
                Change::Reinvite(reinvite) => reinvite.invite.role.as_deref(),
                Change::Update(update) => update.role.as_ref().map(|r| r.after.as_str()),
                Change::Delete(_) => None,
            };
            role.map(str::trim)
                .is_some_and(|r| !r.is_empty() && Some(r) != default_role)
        })
        .map(|change| change.email().to_owned())
        .collect()
}

/// Refuses a plan with more deletes than `max`.
pub fn check_deletes(plan: &Plan, max: u32) -> Result<(), ApplyRefusal> {
    let deletes = plan.summary.removals();
    if deletes > max as usize {
        return Err(ApplyRefusal::TooManyDeletes { deletes, max });
    }
    Ok(())
}

/// Checks that every secret referenced by `references` can be read, before touching the server.
pub fn check_secrets<'a>(
    references: impl IntoIterator<Item = (&'a str, &'a SecretRef)>,
    base_dir: &Path,
    source: &dyn SecretSource,
) -> Result<(), ApplyRefusal> {
    let problems: Vec<(String, SecretError)> = references
        .into_iter()
        .filter_map(|(email, reference)| {
            resolve(reference, base_dir, source)
                .err()
                .map(|e| (email.to_owned(), e))
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApplyRefusal::Secrets { problems })
    }
}

/// Every secret reference in a plan, with its user.
pub fn plan_secrets(plan: &Plan) -> impl Iterator<Item = (&str, &SecretRef)> {
    plan.changes.iter().filter_map(|change| match change {
        Change::Create(user) => user.password.as_ref().map(|p| (user.email.as_str(), p)),
        _ => None,
    })
}

/// Refuses a saved plan if any user it touches changed since it was made: a user it would
/// create now exists, or a user it would update or delete is gone or different.
pub fn check_fresh(plan: &Plan, current: &[RemoteUser]) -> Result<(), ApplyRefusal> {
    let by_id: HashMap<&str, &RemoteUser> = current.iter().map(|u| (u.id.as_str(), u)).collect();
    let by_email: HashMap<std::borrow::Cow<'_, str>, &RemoteUser> =
        current.iter().map(|u| (email_key(&u.email), u)).collect();
    let mut changed = Vec::new();
    for change in &plan.changes {
        match change {
            Change::Invite(user) | Change::Create(user) => {
                if by_email.contains_key(&email_key(&user.email)) {
                    changed.push(format!("{} now exists", user.email));
                }
            }
            Change::Update(update) => match by_id.get(update.id.as_str()) {
                None => changed.push(format!("{} was deleted", update.email)),
                Some(user) if user_fingerprint(user) != update.expected => {
                    changed.push(format!("{} was modified", update.email))
                }
                Some(_) => {}
            },
            Change::Reinvite(reinvite) => match by_id.get(reinvite.id.as_str()) {
                None => changed.push(format!("{} was deleted", reinvite.email)),
                Some(user) if user_fingerprint(user) != reinvite.expected => {
                    changed.push(format!("{} was modified", reinvite.email))
                }
                Some(_) => {}
            },
            Change::Delete(removal) => match by_id.get(removal.id.as_str()) {
                None => changed.push(format!("{} was already deleted", removal.email)),
                Some(user) if user_fingerprint(user) != removal.expected => {
                    changed.push(format!("{} was modified", removal.email))
                }
                Some(_) => {}
            },
        }
    }
    if changed.is_empty() {
        Ok(())
    } else {
        Err(ApplyRefusal::Stale { changed })
    }
}
