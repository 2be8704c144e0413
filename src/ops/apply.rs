//! Apply: get a plan (a saved one, checked against the server, or a fresh one), show it,
//! get approval, carry it out; Ctrl-C stops scheduling, a second Ctrl-C abandons the run.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::plan::{list, load_and_plan, read_plan};
use super::{Event, Interrupts, Observer, OpsError};
use crate::apply::{
    check_deletes, check_fresh, check_saved_plan, check_secrets, execute, plan_secrets, AdminApi,
    ApplyOptions, ApplyReport, ChangeReport,
};
use crate::gotrue::{
    AdminClient, CreateUserRequest, GotrueError, InviteRequest, RemoteUser, UpdateUserRequest,
};
use crate::manifest::Policy;
use crate::plan::{server_fingerprint, Plan, PlanOptions, Target};

/// Where the plan comes from.
#[derive(Debug, Clone)]
pub enum PlanSource {
    /// A plan saved with `plan --out`, applied exactly as saved if the server still matches.
    Saved(PathBuf),
    /// Manifest files: plan now and apply in one go.
    Manifest {
        /// Files or directories.
        files: Vec<PathBuf>,
        /// Plan options.
        options: PlanOptions,
    },
}

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyRequest {
    /// The plan.
    pub source: PlanSource,
    /// Skip the approval prompt.
    pub auto_approve: bool,
    /// The delete bound, instead of the manifest's `policy.max_deletes` (a saved plan's
    /// number is never used: without this, the built-in default applies).
    pub max_deletes: Option<u32>,
    /// The server this run points at; a saved plan made for another is refused.
    pub target: Target,
    /// Whether a saved plan may give the admin role.
    pub allow_admin_role: bool,
    /// Changes in flight at once.
    pub parallelism: usize,
    /// Stop starting changes after the first failure.
    pub fail_fast: bool,
}

/// Asks whether to carry out the plan just shown.
#[allow(async_fn_in_trait)]
pub trait Prompter {
    /// `true` only for an explicit yes. [`OpsError::NoTerminal`] when nobody can answer.
    async fn approve(&self) -> Result<bool, OpsError>;
}

/// Nobody to ask: approval must come from [`ApplyRequest::auto_approve`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPrompt;

impl Prompter for NoPrompt {
    async fn approve(&self) -> Result<bool, OpsError> {
        Err(OpsError::NoTerminal)
    }
}

/// A change whose requests were sent but whose result never came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownOutcome {
    /// `invite`, `create`, `update`, `delete` or `reinvite`.
    pub action: &'static str,
    /// The user.
    pub email: String,
}

/// How an apply ended.
#[derive(Debug, Clone)]
pub enum ApplyOutcome {
    /// The plan has no changes; nothing was asked or done. `conflicts`: manifest users the
    /// plan could not act on (an error).
    NoChanges {
        /// Conflicts in the plan.
        conflicts: usize,
    },
    /// The answer to the prompt was not `yes`; nothing was changed.
    Declined,
    /// Ctrl-C before any change started; nothing was changed.
    Cancelled,
    /// Every change finished or was skipped (after a first Ctrl-C, `report.interrupted`).
    Applied(ApplyReport),
    /// A second Ctrl-C: stopped at once. `finished` are the results that came back;
    /// `unknown` the changes in flight, which may or may not have happened.
    Abandoned {
        /// Results received before the second Ctrl-C.
        finished: Vec<ChangeReport>,
        /// Changes sent to the server without an answer.
        unknown: Vec<UnknownOutcome>,
        /// Changes in the plan.
        total: usize,
    },
}

/// Runs `apply`.
pub async fn apply(
    client: &AdminClient,
    request: &ApplyRequest,
    prompter: &impl Prompter,
    observer: &dyn Observer,
    interrupts: &mut Interrupts,
) -> Result<ApplyOutcome, OpsError> {
    let prepared = tokio::select! {
        prepared = prepare(client, request, observer) => prepared?,
        () = interrupts.next() => return Ok(ApplyOutcome::Cancelled),
    };
    let (plan, secrets_dir) = prepared;
    emit(observer, Event::Plan(&plan))?;
    if !plan.summary.has_changes() {
        return Ok(ApplyOutcome::NoChanges {
            conflicts: plan.conflicts.len(),
        });
    }
    let max_deletes = match &request.source {
        PlanSource::Saved(_) => Policy::default().max_deletes,
        PlanSource::Manifest { .. } => plan.policy.max_deletes,
    };
    check_deletes(&plan, request.max_deletes.unwrap_or(max_deletes))?;
    if !request.auto_approve {
        tokio::select! {
            approved = prompter.approve() => if !approved? {
                return Ok(ApplyOutcome::Declined);
            },
            () = interrupts.next() => return Ok(ApplyOutcome::Cancelled),
        }
    }
    let options = ApplyOptions {
        parallelism: request.parallelism,
        fail_fast: request.fail_fast,
        secrets_dir,
        secrets: Arc::new(crate::secret::SystemSecrets),
        cancel: Arc::new(AtomicBool::new(false)),
    };
    carry_out(client, &plan, &options, observer, interrupts).await
}

/// The plan to apply and the directory its `file:` secrets are read from.
async fn prepare(
    client: &AdminClient,
    request: &ApplyRequest,
    observer: &dyn Observer,
) -> Result<(Plan, PathBuf), OpsError> {
    match &request.source {
        PlanSource::Saved(path) => {
            let plan = read_plan(path)?;
            // The target's flavour is the server's as detected now, not as the CLI guessed.
            let mut target = request.target.clone();
            target.flavor = client.flavor().await?.name().to_owned();
            check_saved_plan(&plan, &target, request.allow_admin_role)?;
            let dir = PathBuf::from(plan.secrets_dir.clone().unwrap_or_else(|| ".".into()));
            check_secrets(plan_secrets(&plan), &dir, &crate::secret::SystemSecrets)?;
            emit(observer, Event::CheckingFreshness { plan_file: path })?;
            let users = list(client, observer).await?;
            check_fresh(&plan, &users)?;
            let now = server_fingerprint(&users);
            match &plan.server.fingerprint {
                Some(then) if *then == now => emit(observer, Event::ServerUnchanged)?,
                Some(_) => emit(
                    observer,
                    Event::ServerChangedElsewhere {
                        users_then: plan.server.users,
                        users_now: users.len(),
                    },
                )?,
                None => {}
            }
            Ok((plan, dir))
        }
        PlanSource::Manifest { files, options } => {
            let planned = load_and_plan(client, files, options, false, observer).await?;
            Ok((planned.plan, planned.loaded.base_dir()))
        }
    }
}

/// Executes the approved plan: the first interrupt stops scheduling, the second abandons
/// the changes in flight.
async fn carry_out(
    client: &AdminClient,
    plan: &Plan,
    options: &ApplyOptions,
    observer: &dyn Observer,
    interrupts: &mut Interrupts,
) -> Result<ApplyOutcome, OpsError> {
    let total = plan.changes.len();
    emit(observer, Event::ApplyStarting { total })?;
    let tracked = Tracked {
        client,
        started: RefCell::new(Vec::new()),
    };
    let finished: RefCell<Vec<ChangeReport>> = RefCell::new(Vec::with_capacity(total));
    let output_error: RefCell<Option<io::Error>> = RefCell::new(None);
    let execution = execute(plan, &tracked, options, |result| {
        let position = {
            let mut finished = finished.borrow_mut();
            finished.push(result.clone());
            finished.len()
        };
        let event = Event::ChangeFinished {
            result,
            position,
            total,
        };
        // The changes keep going: stopping half-way would leave more undone than a
        // missing line of output.
        if let Err(error) = observer.event(event) {
            output_error.borrow_mut().get_or_insert(error);
        }
    });
    tokio::pin!(execution);
    let report = loop {
        tokio::select! {
            report = &mut execution => break Some(report),
            () = interrupts.next() => {
                if options.cancel.swap(true, Ordering::SeqCst) {
                    break None;
                }
                emit(observer, Event::Interrupted)?;
            }
        }
    };
    if let Some(error) = output_error.borrow_mut().take() {
        return Err(OpsError::Output(error));
    }
    let Some(report) = report else {
        let finished = finished.take();
        let done: HashSet<&str> = finished.iter().map(|r| r.email.as_str()).collect();
        let started = tracked.started.borrow();
        let unknown = plan
            .changes
            .iter()
            .filter(|change| {
                let email = change.email();
                started.iter().any(|s| s == email) && !done.contains(email)
            })
            .map(|change| UnknownOutcome {
                action: change.action(),
                email: change.email().to_owned(),
            })
            .collect();
        return Ok(ApplyOutcome::Abandoned {
            finished: finished.clone(),
            unknown,
            total,
        });
    };
    Ok(ApplyOutcome::Applied(ApplyReport {
        planning_conflicts: plan.conflicts.len(),
        ..report
    }))
}

fn emit(observer: &dyn Observer, event: Event<'_>) -> Result<(), OpsError> {
    observer.event(event).map_err(OpsError::Output)
}

/// The admin client, remembering which users a request was sent for: after a second
/// Ctrl-C those without a result have an unknown outcome.
struct Tracked<'a> {
    client: &'a AdminClient,
    started: RefCell<Vec<String>>,
}

impl Tracked<'_> {
    fn start(&self, email: &str) {
        self.started.borrow_mut().push(email.to_owned());
    }
}

impl AdminApi for Tracked<'_> {
    async fn list_users(&self) -> Result<Vec<RemoteUser>, GotrueError> {
        AdminApi::list_users(self.client).await
    }
    async fn create_user(&self, request: &CreateUserRequest) -> Result<RemoteUser, GotrueError> {
        self.start(&request.email);
        self.client.create_user(request).await
    }
    async fn invite_user(&self, request: &InviteRequest) -> Result<RemoteUser, GotrueError> {
        self.start(&request.email);
        self.client.invite_user(request).await
    }
    async fn update_user(
        &self,
        id: &str,
        email: &str,
        request: &UpdateUserRequest,
    ) -> Result<RemoteUser, GotrueError> {
        self.start(email);
        self.client.update_user(id, email, request).await
    }
    async fn delete_user(&self, id: &str, email: &str) -> Result<(), GotrueError> {
        self.start(email);
        self.client.delete_user(id, email).await
    }
}
