//! Carrying out a plan: bounded concurrency, one result per change, stop on Ctrl-C.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::{Map, Value};

use super::api::AdminApi;
use super::precondition::Current;
use crate::gotrue::{CreateUserRequest, GotrueError, InviteRequest, RemoteUser, UpdateUserRequest};
use crate::metadata;
use crate::plan::{Change, KeyChange, NewUser, Plan, UserUpdate};
use crate::secret::{resolve, SecretSource, SystemSecrets};

/// How to run a plan.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Changes in flight at once.
    pub parallelism: usize,
    /// Stop starting changes after the first failure.
    pub fail_fast: bool,
    /// Where relative `file:` secrets are read from.
    pub secrets_dir: PathBuf,
    /// Where secrets are read from (the environment and files, or a map in tests and the demo).
    pub secrets: Arc<dyn SecretSource>,
    /// Set (by Ctrl-C) to stop starting new changes; in-flight ones finish.
    pub cancel: Arc<AtomicBool>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 8,
            fail_fast: false,
            secrets_dir: PathBuf::from("."),
            secrets: Arc::new(SystemSecrets),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// What happened to one change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Fully applied.
    Done,
    /// Failed; `done` says what part had already been carried out.
    Failed {
        /// The error, naming the request and user.
        error: String,
        /// What had been done before the failure.
        #[serde(skip_serializing_if = "Option::is_none")]
        done: Option<String>,
    },
    /// Not carried out because the server holds something in its way (a failed precondition,
    /// or a 422 "already registered"): re-running cannot fix it, a person must.
    Conflict {
        /// What is in the way, and what to do.
        reason: String,
    },
    /// Not started.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// The result of one change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeReport {
    /// `invite`, `create`, `update` or `delete`.
    pub action: &'static str,
    /// The user.
    pub email: String,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Where the server's answer differs from what was written (e.g. a webhook rewrote it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<String>,
}

/// The result of an apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApplyReport {
    /// One entry per change, in plan order.
    pub results: Vec<ChangeReport>,
    /// Whether Ctrl-C stopped it early.
    pub interrupted: bool,
    /// Set when the server's e-mail sending limit stopped the invitations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_limit: Option<MailLimit>,
    /// Manifest users the plan could not act on (its conflicts): nothing was sent for them,
    /// and the apply is not a success while they remain.
    #[serde(skip_serializing_if = "is_zero")]
    pub planning_conflicts: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// The server refused to send more e-mail (supabase/auth's `over_email_send_rate_limit`):
/// the remaining invitations were not sent, the other changes were carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailLimit {
    /// Invitations refused or not sent because of the limit.
    pub invitations_left: usize,
}

/// Why an invitation was not sent once the mail limit was reached.
const MAIL_LIMIT_SKIP: &str = "not sent: the server's e-mail sending limit is reached (see below)";

impl ApplyReport {
    /// Changes that completed.
    pub fn done(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Done))
    }
    /// Changes that failed, conflicts included.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed { .. } | Outcome::Conflict { .. }))
    }
    /// Changes refused because of a conflict on the server.
    pub fn conflicts(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Conflict { .. }))
    }
    /// Changes not started.
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped { .. }))
    }
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.outcome)).count()
    }
}

/// Runs every change of `plan` against `api`, `options.parallelism` at a time, calling
/// `on_result` as each finishes. A failed change does not stop the others unless
/// `fail_fast`; the report says exactly what was done and what was not.
///
/// The server is listed once more right before the first change, and a change whose
/// precondition no longer holds (see [`Current::violation`]) is reported as a conflict
/// without being sent. That costs one listing per apply (`users / page_size` requests).
pub async fn execute<A: AdminApi>(
    plan: &Plan,
    api: &A,
    options: &ApplyOptions,
    mut on_result: impl FnMut(&ChangeReport),
) -> ApplyReport {
    if plan.changes.is_empty() {
        return ApplyReport::default();
    }
    let listed = api.list_users().await;
    let current = listed.as_ref().map(|users| Current::new(plan, users));
    let failed = Cell::new(false);
    let interrupted = Cell::new(false);
    let mail_limited = Cell::new(0usize);
    let mut results: Vec<(usize, ChangeReport)> = Vec::with_capacity(plan.changes.len());
    let mut in_flight = stream::iter(plan.changes.iter().enumerate())
        .map(|(index, change)| {
            let failed = &failed;
            let interrupted = &interrupted;
            let mail_limited = &mail_limited;
            let current = &current;
            async move {
                let sends_mail = matches!(change, Change::Invite(_) | Change::Reinvite(_));
                // Checked when the change is about to start, not when it was queued.
                let skip = if options.cancel.load(Ordering::SeqCst) {
                    interrupted.set(true);
                    Some("not started: interrupted")
                } else if options.fail_fast && failed.get() {
                    Some("not started: an earlier change failed (--fail-fast)")
                } else if sends_mail && mail_limited.get() > 0 {
                    // Quick retries cannot succeed: the limit resets over the hour.
                    mail_limited.set(mail_limited.get() + 1);
                    Some(MAIL_LIMIT_SKIP)
                } else {
                    None
                };
                let report = match skip {
                    Some(reason) => ChangeReport {
                        action: change.action(),
                        email: change.email().to_owned(),
                        outcome: Outcome::Skipped {
                            reason: reason.into(),
                        },
                        drift: Vec::new(),
                    },
                    None => match current {
                        Err(error) => ChangeReport {
                            action: change.action(),
                            email: change.email().to_owned(),
                            outcome: Outcome::Failed {
                                error: format!("not sent: the server could not be listed again to check that the change still applies: {error}"),
                                done: None,
                            },
                            drift: Vec::new(),
                        },
                        Ok(current) => match current.violation(change) {
                            Some(reason) => ChangeReport {
                                action: change.action(),
                                email: change.email().to_owned(),
                                outcome: Outcome::Conflict { reason },
                                drift: Vec::new(),
                            },
                            None => {
                                let (report, hit_mail_limit) =
                                    run_change(change, api, options).await;
                                if hit_mail_limit {
                                    mail_limited.set(mail_limited.get() + 1);
                                }
                                report
                            }
                        },
                    },
                };
                if matches!(report.outcome, Outcome::Failed { .. } | Outcome::Conflict { .. }) {
                    failed.set(true);
                }
                (index, report)
            }
        })
        .buffer_unordered(options.parallelism.max(1));
    while let Some((index, report)) = in_flight.next().await {
        on_result(&report);
        results.push((index, report));
    }
    drop(in_flight);
    results.sort_by_key(|(index, _)| *index);
    ApplyReport {
        results: results.into_iter().map(|(_, r)| r).collect(),
        interrupted: interrupted.get(),
        mail_limit: (mail_limited.get() > 0).then(|| MailLimit {
            invitations_left: mail_limited.get(),
        }),
        planning_conflicts: 0,
    }
}

/// Runs one change; the flag says whether the server refused it for its e-mail limit.
async fn run_change<A: AdminApi>(
    change: &Change,
    api: &A,
    options: &ApplyOptions,
) -> (ChangeReport, bool) {
    let mut hit_mail_limit = false;
    let mut note_mail_limit = |error: &GotrueError| {
        if matches!(error, GotrueError::MailRateLimited { .. }) {
            hit_mail_limit = true;
        }
    };
    let (outcome, drift) = match change {
        Change::Invite(user) => {
            let request = InviteRequest {
                email: user.email.clone(),
                data: non_empty(&user.user_metadata),
            };
            match api.invite_user(&request).await {
                Ok(created) => finish_new_user(api, user, &created, "invited").await,
                Err(error) => {
                    note_mail_limit(&error);
                    (failed(error, None), Vec::new())
                }
            }
        }
        Change::Create(user) => match create(api, user, options).await {
            Ok(created) => finish_new_user(api, user, &created, "created").await,
            Err(outcome) => (outcome, Vec::new()),
        },
        Change::Update(update) => {
            let request = update_request(update);
            match api.update_user(&update.id, &update.email, &request).await {
                // A server that ignores the confirmation field answers 200 all the same.
                Ok(answer) if request.confirm == Some(true) && answer.confirmed_at.is_none() => {
                    let error = format!(
                        "{}: the server accepted the update but did not confirm the address (check --flavor: the servers confirm with different fields)",
                        update.email
                    );
                    let done = "the other changes of this update were written".to_owned();
                    (
                        Outcome::Failed {
                            error,
                            done: Some(done),
                        },
                        Vec::new(),
                    )
                }
                Ok(answer) => (Outcome::Done, drift_of(&request, &answer)),
                Err(error) => (failed(error, None), Vec::new()),
            }
        }
        Change::Delete(removal) => match api.delete_user(&removal.id, &removal.email).await {
            Ok(()) => (Outcome::Done, Vec::new()),
            Err(error) => (failed(error, None), Vec::new()),
        },
        Change::Reinvite(reinvite) => match api.delete_user(&reinvite.id, &reinvite.email).await {
            Err(error) => (failed(error, None), Vec::new()),
            Ok(()) => {
                let user = &reinvite.invite;
                let request = InviteRequest {
                    email: user.email.clone(),
                    data: non_empty(&user.user_metadata),
                };
                match api.invite_user(&request).await {
                    Ok(created) => finish_new_user(api, user, &created, "re-invited").await,
                    Err(error) => {
                        note_mail_limit(&error);
                        let done = "the pending account was deleted but the new invitation failed; run apply again to invite".to_owned();
                        (failed(error, Some(done)), Vec::new())
                    }
                }
            }
        },
    };
    let report = ChangeReport {
        action: change.action(),
        email: change.email().to_owned(),
        outcome,
        drift,
    };
    (report, hit_mail_limit)
}

async fn create<A: AdminApi>(
    api: &A,
    user: &NewUser,
    options: &ApplyOptions,
) -> Result<RemoteUser, Outcome> {
    let Some(reference) = &user.password else {
        return Err(Outcome::Failed {
            error: format!(
                "{}: the plan has no password reference for this create",
                user.email
            ),
            done: None,
        });
    };
    let password =
        resolve(reference, &options.secrets_dir, options.secrets.as_ref()).map_err(|e| {
            Outcome::Failed {
                error: format!("{}: {e}", user.email),
                done: None,
            }
        })?;
    let request = CreateUserRequest {
        email: user.email.clone(),
        password,
        confirm: user.confirm,
        role: user.role.clone(),
        user_metadata: non_empty(&user.user_metadata),
        app_metadata: non_empty(&user.app_metadata),
    };
    let created = api
        .create_user(&request)
        .await
        .map_err(|e| failed(e, None))?;
    // A server that ignores the confirmation field answers 200 all the same.
    if request.confirm && created.confirmed_at.is_none() {
        return Err(Outcome::Failed {
            error: format!(
                "{}: the server created the user but did not confirm the address (check --flavor: the servers confirm with different fields)",
                user.email
            ),
            done: Some(format!("created as {}, unconfirmed", created.id)),
        });
    }
    Ok(created)
}

/// The second request of a create or invite, when needed: netlify/gotrue drops
/// `app_metadata` on create, and invite cannot set it or `role` on either server, so they are
/// written with a `PUT`. A create that already stored them (supabase/auth) needs none.
async fn finish_new_user<A: AdminApi>(
    api: &A,
    user: &NewUser,
    created: &RemoteUser,
    verb: &str,
) -> (Outcome, Vec<String>) {
    let request = UpdateUserRequest {
        app_metadata: Some(user.app_metadata.clone()),
        role: user.role.clone().filter(|r| *r != created.role),
        ..Default::default()
    };
    if drift_of(&request, created).is_empty() {
        return (Outcome::Done, Vec::new());
    }
    match api.update_user(&created.id, &user.email, &request).await {
        Ok(answer) => (Outcome::Done, drift_of(&request, &answer)),
        Err(error) => {
            let done = format!("{verb} as {}, but its app metadata and roles were not written; run apply again to finish", created.id);
            (failed(error, Some(done)), Vec::new())
        }
    }
}

fn failed(error: GotrueError, done: Option<String>) -> Outcome {
    if done.is_none() && is_already_registered(&error) {
        return Outcome::Conflict {
            reason: format!("{error}. Another account holds this address: most likely a signup since the plan, or an address the server's database takes for the same one (it ignores case and accents); check whose it is, then plan again"),
        };
    }
    Outcome::Failed {
        error: error.to_string(),
        done,
    }
}

/// A 422 refusing an address another account holds (netlify: "Email address already
/// registered by another user"; supabase: "… has already been registered").
fn is_already_registered(error: &crate::gotrue::GotrueError) -> bool {
    match error {
        crate::gotrue::GotrueError::Api {
            status: 422,
            message,
            ..
        } => message.contains("already registered") || message.contains("already been registered"),
        _ => false,
    }
}

fn non_empty(map: &Map<String, Value>) -> Option<Map<String, Value>> {
    (!map.is_empty()).then(|| map.clone())
}

/// The `PUT` body of an update: only what differs, `null` for keys to remove.
pub fn update_request(update: &UserUpdate) -> UpdateUserRequest {
    let mut app = patch(&update.app_metadata);
    if let Some(roles) = &update.roles {
        app.insert(
            "roles".into(),
            Value::Array(roles.after.iter().cloned().map(Value::String).collect()),
        );
    }
    let user = patch(&update.user_metadata);
    UpdateUserRequest {
        email: update.rename.as_ref().map(|r| r.to.clone()),
        role: update.role.as_ref().map(|r| r.after.clone()),
        confirm: update.confirm.then_some(true),
        app_metadata: (!app.is_empty()).then_some(app),
        user_metadata: (!user.is_empty()).then_some(user),
    }
}

fn patch(changes: &[KeyChange]) -> Map<String, Value> {
    changes
        .iter()
        .map(|c| (c.key.clone(), c.after.clone().unwrap_or(Value::Null)))
        .collect()
}

/// Compares what the server answered with what was written. Site webhooks
/// (`usermodified`) may replace metadata, and this is where the user learns of it.
fn drift_of(request: &UpdateUserRequest, answer: &RemoteUser) -> Vec<String> {
    let mut drift = Vec::new();
    let sections = [
        ("app_metadata", &request.app_metadata, &answer.app_metadata),
        (
            "user_metadata",
            &request.user_metadata,
            &answer.user_metadata,
        ),
    ];
    for (name, sent, stored) in sections {
        for (key, value) in sent.iter().flatten() {
            let found = stored.get(key);
            let as_sent = if value.is_null() {
                found.is_none()
            } else {
                found.is_some_and(|found| metadata::holds(found, value))
            };
            if !as_sent {
                let found = found.map_or_else(
                    || "(absent)".to_owned(),
                    |found| metadata::parsed(found).to_string(),
                );
                drift.push(format!("{name}.{key}: wrote {value}, server has {found}"));
            }
        }
    }
    if let Some(role) = &request.role {
        if *role != answer.role {
            drift.push(format!(
                "role: wrote {role:?}, server has {:?}",
                answer.role
            ));
        }
    }
    drift
}

#[cfg(test)]
mod tests;
