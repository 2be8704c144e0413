//! The steps of a smoke run, in the order a site's visitor goes through them.

use std::future::Future;
use std::time::{Duration, Instant};

use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;
use serde_json::{json, Value};

use super::confirm::{from_command, from_inbox, ConfirmVia, MailKind};
use super::jwt;
use super::report::{SmokeReport, StepFailure, StepResult, StepStatus};
use crate::gotrue::{
    unix_now, AdminClient, GotrueError, InviteRequest, Session, UpdateUserRequest, UserClient,
};
use crate::secret::Secret;

/// Which flows a run walks (`--flow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Signup, confirm, login, read and update the user, refresh, logout.
    Signup,
    /// Admin invite, accept with a password, login.
    Invite,
}

/// What a run does.
#[derive(Debug, Clone)]
pub struct SmokeOptions {
    /// Domain of the test addresses (`gotrue-sync-smoke+<random>@DOMAIN`).
    pub email_domain: String,
    /// Where confirmation and invitation tokens come from; `None` when not configured.
    pub confirm_via: Option<ConfirmVia>,
    /// The flows to walk, in order.
    pub flows: Vec<Flow>,
    /// Keep the test users instead of deleting them.
    pub keep_user: bool,
}

/// Walks the flows once against `user` (and `admin` for invitations, admin confirmation and
/// clean-up) and reports every step. Never fails as a whole: a failure is a failed step, and
/// the steps that depend on it are reported as skipped.
pub async fn run(
    user: &UserClient,
    admin: Option<&AdminClient>,
    options: &SmokeOptions,
) -> SmokeReport {
    let suffix = Alphanumeric
        .sample_string(&mut rand::thread_rng(), 10)
        .to_lowercase();
    let email = format!("gotrue-sync-smoke+{suffix}@{}", options.email_domain);
    let mut walk = Walk {
        user,
        admin,
        options,
        steps: Vec::new(),
        blocked_by: None,
        created: Vec::new(),
    };
    let settings = walk.preflight().await;
    for flow in &options.flows {
        walk.blocked_by = walk.blocked_by.filter(|step| PREFLIGHT.contains(step));
        match flow {
            Flow::Signup => walk.signup_flow(&email, &suffix, settings).await,
            Flow::Invite => {
                let invited = format!("gotrue-sync-smoke+{suffix}-invite@{}", options.email_domain);
                walk.invite_flow(&invited, &suffix).await;
            }
        }
    }
    let left_behind = walk.clean_up().await;
    SmokeReport {
        url: user.base_url().to_owned(),
        email,
        steps: walk.steps,
        left_behind,
    }
}

/// Runs [`run`] `repeat` times, `interval` apart, handing each report to `each` as it is
/// done (monitoring wants to see every run, not only the last).
pub async fn run_repeated(
    user: &UserClient,
    admin: Option<&AdminClient>,
    options: &SmokeOptions,
    repeat: u32,
    interval: Duration,
    mut each: impl FnMut(&SmokeReport, u32),
) -> Vec<SmokeReport> {
    let mut reports = Vec::new();
    for round in 1..=repeat.max(1) {
        if round > 1 {
            tokio::time::sleep(interval).await;
        }
        let report = run(user, admin, options).await;
        each(&report, round);
        reports.push(report);
    }
    reports
}

/// Steps whose failure blocks every flow, not only the one it belongs to.
const PREFLIGHT: [&str; 2] = ["health", "settings"];

/// What the instance said in `GET /settings`, as far as the flows need it.
#[derive(Debug, Clone, Copy, Default)]
struct Instance {
    autoconfirm: bool,
}

/// A user the run created (or may have created), to delete at the end.
struct Created {
    email: String,
    id: Option<String>,
}

struct Walk<'a> {
    user: &'a UserClient,
    admin: Option<&'a AdminClient>,
    options: &'a SmokeOptions,
    steps: Vec<StepResult>,
    /// The failed step that the remaining steps of this flow depend on.
    blocked_by: Option<&'static str>,
    created: Vec<Created>,
}

/// What a step's work returns: its value and a line on what was checked.
type StepOutcome<T> = Result<(T, String), StepFailure>;

impl Walk<'_> {
    /// Runs one step, unless an earlier one it depends on failed; times it and records it.
    async fn step<T>(
        &mut self,
        name: &'static str,
        work: impl Future<Output = StepOutcome<T>>,
    ) -> Option<T> {
        if let Some(failed) = self.blocked_by {
            self.skip(name, format!("not run: `{failed}` failed"));
            return None;
        }
        let started = Instant::now();
        let outcome = work.await;
        let latency = started.elapsed();
        match outcome {
            Ok((value, detail)) => {
                self.steps.push(StepResult {
                    name,
                    status: StepStatus::Passed,
                    latency,
                    detail: Some(detail),
                    failure: None,
                });
                Some(value)
            }
            Err(failure) => {
                self.steps.push(StepResult {
                    name,
                    status: StepStatus::Failed,
                    latency,
                    detail: None,
                    failure: Some(failure),
                });
                self.blocked_by = Some(name);
                None
            }
        }
    }

    /// Notes that the next step may create `email`. Recorded before the request, since a
    /// request that fails or times out may still have created the user.
    fn may_create(&mut self, email: &str) {
        if self.blocked_by.is_none() {
            self.created.push(Created {
                email: email.to_owned(),
                id: None,
            });
        }
    }

    /// Records the id of the user the last [`Walk::may_create`] step created (if it did) and
    /// returns it, empty when unknown.
    fn created_as(&mut self, id: Option<&str>) -> String {
        let id = id.unwrap_or_default().to_owned();
        if let Some(record) = self.created.last_mut().filter(|_| !id.is_empty()) {
            record.id = Some(id.clone());
        }
        id
    }

    fn skip(&mut self, name: &'static str, reason: String) {
        self.steps.push(StepResult {
            name,
            status: StepStatus::Skipped,
            latency: Duration::ZERO,
            detail: Some(reason),
            failure: None,
        });
    }

    async fn preflight(&mut self) -> Instance {
        let user = self.user;
        self.step("health", async {
            let health = user.health().await.map_err(|e| StepFailure::request(&e))?;
            let name = health.get("name").and_then(Value::as_str).unwrap_or("?");
            let version = health.get("version").and_then(Value::as_str).unwrap_or("?");
            Ok(((), format!("{name} {version}")))
        })
        .await;
        self.step("settings", async {
            let settings = user.settings().await.map_err(|e| StepFailure::request(&e))?;
            if !settings.external.email {
                return Err(StepFailure::check("the e-mail provider is disabled").with_hint(
                    "signup, login and invitations all need the e-mail provider (GOTRUE_EXTERNAL_EMAIL_ENABLED)",
                ));
            }
            let detail = format!(
                "autoconfirm {}, signup {}, e-mail provider enabled",
                if settings.autoconfirm { "on" } else { "off" },
                if settings.disable_signup { "disabled" } else { "allowed" },
            );
            Ok((
                Instance {
                    autoconfirm: settings.autoconfirm,
                },
                detail,
            ))
        })
        .await
        .unwrap_or_default()
    }

    async fn signup_flow(&mut self, email: &str, suffix: &str, instance: Instance) {
        let user = self.user;
        let password = random_password();
        let data = json!({"smoke_test": "gotrue-sync", "run": suffix});
        self.may_create(email);
        let signed_up = self
            .step("signup", async {
                let created = user
                    .signup(email, &password, &data)
                    .await
                    .map_err(|e| StepFailure::request(&e))?;
                let detail = format!("user {} created", created.id);
                Ok((created, detail))
            })
            .await;
        let id = self.created_as(signed_up.as_ref().map(|u| u.id.as_str()));
        let expected_aud = match self.user.aud() {
            Some(aud) => Some(aud.to_owned()),
            None => signed_up.as_ref().map(|u| u.aud.clone()),
        };

        self.confirm(email, &id, instance).await;
        let Some(session) = self
            .login("login", email, &password, &id, expected_aud.as_deref())
            .await
        else {
            for name in ["get user", "update user", "refresh", "logout"] {
                self.skip(
                    name,
                    format!("not run: `{}` failed", self.blocked_by.unwrap_or("login")),
                );
            }
            return;
        };

        // Each of the remaining steps needs only the session, so one failing does not skip
        // the others: they are unblocked before each.
        let access = session.access_token.clone();
        self.step("get user", async {
            let me = user
                .user(email, &access)
                .await
                .map_err(|e| StepFailure::request(&e))?;
            if me.id != id || !me.email.eq_ignore_ascii_case(email) {
                return Err(StepFailure::check(format!(
                    "GET /user returned {} ({}), not the test user {id}",
                    me.email, me.id
                )));
            }
            Ok(((), "the access token reads its own user".to_owned()))
        })
        .await;

        let marker = format!("updated-{suffix}");
        self.blocked_by = None;
        self.step("update user", async {
            let update = json!({ "smoke_update": marker });
            user.update_data(email, &access, &update)
                .await
                .map_err(|e| StepFailure::request(&e))?;
            let me = user
                .user(email, &access)
                .await
                .map_err(|e| StepFailure::request(&e))?;
            let stored = me
                .user_metadata
                .as_ref()
                .and_then(|m| m.get("smoke_update"));
            if stored != Some(&Value::String(marker.clone())) {
                return Err(StepFailure::check(format!(
                    "PUT /user data did not read back: user_metadata.smoke_update is {}",
                    stored.map_or_else(|| "missing".to_owned(), Value::to_string)
                )));
            }
            Ok(((), "PUT /user data read back by GET /user".to_owned()))
        })
        .await;

        // The renewed session is kept outside the step: once the grant succeeded the first
        // refresh token is revoked, so logout must use the new pair even when the step fails
        // later (on the rejection check), or logout's own check would pass on a token that was
        // already dead.
        let first_refresh = session.refresh_token.clone();
        let mut renewed: Option<Session> = None;
        self.blocked_by = None;
        self.step("refresh", async {
            let fresh = user
                .refresh(email, &first_refresh)
                .await
                .map_err(|e| StepFailure::request(&e))?;
            let rotated = fresh.refresh_token.expose() != first_refresh.expose();
            renewed = Some(fresh);
            if !rotated {
                return Err(StepFailure::check(
                    "the refresh grant returned the same refresh token (no rotation)",
                ));
            }
            expect_rejected(
                user.refresh(email, &first_refresh).await,
                "the old refresh token still works after rotation",
            )?;
            Ok((
                (),
                "a new pair was issued and the old refresh token is rejected".to_owned(),
            ))
        })
        .await;

        let (access, refresh) = match &renewed {
            Some(renewed) => (renewed.access_token.clone(), renewed.refresh_token.clone()),
            None => (session.access_token.clone(), session.refresh_token.clone()),
        };
        self.blocked_by = None;
        self.step("logout", async {
            user.logout(email, &access)
                .await
                .map_err(|e| StepFailure::request(&e))?;
            expect_rejected(
                user.refresh(email, &refresh).await,
                "the refresh token still works after logout",
            )?;
            Ok(((), "204, and the refresh token no longer works".to_owned()))
        })
        .await;
    }

    /// The confirmation step: skipped on an autoconfirming instance, else by `--confirm-via`.
    async fn confirm(&mut self, email: &str, id: &str, instance: Instance) {
        if self.blocked_by.is_none() && instance.autoconfirm {
            self.skip("confirm", "the instance autoconfirms new users".to_owned());
            return;
        }
        let (user, admin, via) = (self.user, self.admin, self.options.confirm_via.clone());
        self.step("confirm", async {
            match via {
                None => Err(StepFailure::check("the instance requires e-mail confirmation").with_hint(
                    "pass --confirm-via inbox (the emulator), command:CMD (a mail catcher) or admin",
                )),
                Some(ConfirmVia::Admin) => {
                    let admin = admin.ok_or_else(needs_admin)?;
                    let request = UpdateUserRequest {
                        confirm: Some(true),
                        ..UpdateUserRequest::default()
                    };
                    admin
                        .update_user(id, email, &request)
                        .await
                        .map_err(|e| StepFailure::request(&e))?;
                    Ok(((), "confirmed through the admin API (weaker check: the mail and /verify were not exercised)".to_owned()))
                }
                Some(via) => {
                    let token = mail_token(user, &via, email, MailKind::Confirmation).await?;
                    user.verify_signup(email, &token, None)
                        .await
                        .map_err(|e| StepFailure::request(&e))?;
                    Ok(((), format!("mail token accepted by /verify ({})", via_name(&via))))
                }
            }
        })
        .await;
    }

    /// A password login whose token must name the user.
    async fn login(
        &mut self,
        name: &'static str,
        email: &str,
        password: &Secret,
        id: &str,
        aud: Option<&str>,
    ) -> Option<Session> {
        let user = self.user;
        self.step(name, async {
            let session = user
                .login(email, password)
                .await
                .map_err(|e| StepFailure::request(&e))?;
            let claims = jwt::claims(&session.access_token).map_err(StepFailure::check)?;
            let problems = jwt::check(&claims, id, email, aud, session.expires_in, unix_now());
            if !problems.is_empty() {
                return Err(StepFailure::check(format!(
                    "the access token does not match the user: {}",
                    problems.join("; ")
                )));
            }
            let detail = format!(
                "token for {} (aud {:?}), expires in {} s",
                claims.sub, claims.aud, session.expires_in
            );
            Ok((session, detail))
        })
        .await
    }

    async fn invite_flow(&mut self, email: &str, suffix: &str) {
        let (user, admin, via) = (self.user, self.admin, self.options.confirm_via.clone());
        self.may_create(email);
        let data = json!({"smoke_test": "gotrue-sync", "run": suffix});
        let invited = self
            .step("invite", async {
                let admin = admin.ok_or_else(needs_admin)?;
                let request = InviteRequest {
                    email: email.to_owned(),
                    data: data.as_object().cloned(),
                };
                let invited = admin
                    .invite_user(&request)
                    .await
                    .map_err(|e| StepFailure::request(&e))?;
                let detail = format!("user {} invited", invited.id);
                Ok((invited, detail))
            })
            .await;
        let id = self.created_as(invited.as_ref().map(|u| u.id.as_str()));
        // The admin listing does not carry the audience; without `--aud` it is not checked.
        let aud = self.user.aud().map(str::to_owned);
        let password = random_password();
        self.step("accept invite", async {
            let token =
                match &via {
                    Some(via @ (ConfirmVia::Inbox | ConfirmVia::Command(_))) => {
                        mail_token(user, via, email, MailKind::Invite).await?
                    }
                    _ => return Err(StepFailure::check(
                        "accepting an invitation needs the token from its mail",
                    )
                    .with_hint(
                        "pass --confirm-via inbox (the emulator) or command:CMD (a mail catcher)",
                    )),
                };
            user.verify_signup(email, &token, Some(&password))
                .await
                .map_err(|e| StepFailure::request(&e))?;
            Ok((
                (),
                "invitation accepted with a password through /verify".to_owned(),
            ))
        })
        .await;
        self.login("invite login", email, &password, &id, aud.as_deref())
            .await;
    }

    /// Deletes every user the run created, whatever happened before. Returns the addresses
    /// it had to leave behind.
    async fn clean_up(&mut self) -> Option<String> {
        self.blocked_by = None;
        let created = std::mem::take(&mut self.created);
        if created.is_empty() {
            self.skip("cleanup", "no test user was created".to_owned());
            return None;
        }
        let emails: Vec<&str> = created.iter().map(|c| c.email.as_str()).collect();
        let left = emails.join(", ");
        if self.options.keep_user {
            self.skip("cleanup", format!("kept (--keep-user): {left}"));
            return Some(left);
        }
        let Some(admin) = self.admin else {
            self.skip(
                "cleanup",
                format!("could not clean up without admin credentials; left {left}"),
            );
            return Some(left);
        };
        // Every user gets its delete attempt even when an earlier one fails, and only the
        // ones not deleted are reported as left behind.
        let mut undeleted: Vec<&str> = Vec::new();
        self.step("cleanup", async {
            let mut deleted = Vec::new();
            let mut failures = Vec::new();
            for user in &created {
                match delete_test_user(admin, user).await {
                    Ok(true) => deleted.push(user.email.as_str()),
                    Ok(false) => {}
                    Err(error) => {
                        undeleted.push(user.email.as_str());
                        failures.push(error);
                    }
                }
            }
            let mut failures = failures.into_iter();
            if let Some(mut first) = failures.next() {
                let more = failures.len();
                if more > 0 {
                    first.message = format!("{} (and {more} more failed deletes)", first.message);
                }
                return Err(first);
            }
            let detail = if deleted.is_empty() {
                "nothing to delete: no test user exists".to_owned()
            } else {
                format!("deleted {}", deleted.join(", "))
            };
            Ok(((), detail))
        })
        .await;
        (!undeleted.is_empty()).then(|| undeleted.join(", "))
    }
}

/// Deletes one test user; `Ok(false)` when it does not exist (its creating request failed
/// before reaching the server).
async fn delete_test_user(admin: &AdminClient, user: &Created) -> Result<bool, StepFailure> {
    let id = match &user.id {
        Some(id) => Some(id.clone()),
        // The request that creates it failed or timed out: it may exist.
        None => admin
            .find_user_by_email(&user.email)
            .await
            .map_err(|e| StepFailure::request(&e))?
            .map(|found| found.id),
    };
    let Some(id) = id else { return Ok(false) };
    admin
        .delete_user(&id, &user.email)
        .await
        .map_err(|e| StepFailure::request(&e))?;
    Ok(true)
}

fn needs_admin() -> StepFailure {
    StepFailure::check("this step needs admin credentials").with_hint(
        "set GOTRUE_ADMIN_TOKEN, GOTRUE_JWT_SECRET, or GOTRUE_ADMIN_EMAIL and GOTRUE_ADMIN_PASSWORD",
    )
}

fn via_name(via: &ConfirmVia) -> &'static str {
    match via {
        ConfirmVia::Inbox => "from the emulator inbox",
        ConfirmVia::Command(_) => "from the confirm command",
        ConfirmVia::Admin => "admin",
    }
}

async fn mail_token(
    user: &UserClient,
    via: &ConfirmVia,
    email: &str,
    kind: MailKind,
) -> Result<Secret, StepFailure> {
    let found = match via {
        ConfirmVia::Inbox => from_inbox(user.http(), user.base_url(), email, kind).await,
        ConfirmVia::Command(command) => from_command(command, email, kind).await,
        ConfirmVia::Admin => Err("the admin API cannot read mail".to_owned()),
    };
    found.map_err(StepFailure::check)
}

/// A refresh grant that must be refused because its token was revoked. GoTrue answers that
/// with 400 `invalid_grant`; only a 400 counts as refused. Anything else (a 429, a 5xx, a
/// timeout) says nothing about revocation, so it fails the step as a request error rather
/// than passing it; success is the failure the step is there to catch.
fn expect_rejected(
    result: Result<Session, GotrueError>,
    accepted: &str,
) -> Result<(), StepFailure> {
    match result {
        Ok(_) => Err(StepFailure::check(accepted)),
        Err(GotrueError::Api { status: 400, .. }) => Ok(()),
        Err(other) => Err(StepFailure::request(&other)),
    }
}

/// A fresh strong password: 32 characters from letters, digits and symbols.
fn random_password() -> Secret {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%+-=?@^_";
    let mut rng = rand::thread_rng();
    let password: String = (0..32)
        .map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())]))
        .collect();
    Secret::new(password)
}
