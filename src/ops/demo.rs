//! Demo: plan, apply and plan again against a seeded emulator started in this process, so a
//! first-time user sees the tool work without any set-up.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::{Event, Observer, OpsError};
use crate::apply::{check_deletes, execute, ApplyOptions};
use crate::emulator_seed::emulator_flavor;
use crate::gotrue::{AdminClient, AdminCredentials, ClientOptions, Flavor, FlavorChoice};
use crate::manifest::{self, SecretRef};
use crate::plan::{plan_with, Change, Plan, PlanOptions};
use crate::secret::Secret;
use gotrue_emulator::{random_secret, Emulator, EmulatorConfig, SeedUser};

/// The example manifest, for running the demo outside the repository.
pub const EMBEDDED_EXAMPLE: &str = include_str!("../../examples/users.yaml");

/// The manifest the demo shows.
#[derive(Debug, Clone)]
pub enum DemoManifest {
    /// Files or directories given by the user.
    Files(Vec<PathBuf>),
    /// The example manifest built into the binary.
    Embedded,
}

/// What the demo did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoOutcome {
    /// Changes of the apply step that failed.
    pub failed: usize,
}

/// Runs the demo against an emulator of `flavor`. Passwords the manifest reads from unset
/// environment variables get throwaway values (the emulator is a throwaway too); the
/// environment is never modified.
pub async fn demo(
    manifest: &DemoManifest,
    flavor: Flavor,
    observer: &dyn Observer,
) -> Result<DemoOutcome, OpsError> {
    let scratch = Scratch::new()?;
    let files = match manifest {
        DemoManifest::Files(files) => files.clone(),
        DemoManifest::Embedded => {
            let path = scratch.path().join("users.yaml");
            std::fs::write(&path, EMBEDDED_EXAMPLE).map_err(|source| OpsError::DemoScratch {
                path: scratch.path().to_path_buf(),
                source,
            })?;
            vec![path]
        }
    };
    let loaded = manifest::load_all(&files)?;
    let marker = crate::plan::marker_for(&loaded.manifest.name);
    let emulator = Emulator::start(EmulatorConfig {
        port: 0,
        flavor: emulator_flavor(flavor),
        ..EmulatorConfig::default()
    })
    .await?;
    let result = run_against(&emulator, flavor, &loaded, &marker, &scratch, observer).await;
    emulator.shutdown().await;
    result
}

async fn run_against(
    emulator: &Emulator,
    flavor: Flavor,
    loaded: &manifest::LoadedManifest,
    marker: &str,
    scratch: &Scratch,
    observer: &dyn Observer,
) -> Result<DemoOutcome, OpsError> {
    let emit = |event: Event<'_>| observer.event(event).map_err(OpsError::Output);
    // Users the instance "already has": one to adopt, one the manifest no longer lists, and
    // one nobody manages.
    for user in [
        seed(
            "bob@example.com",
            json!({"provider": "email", "roles": ["viewer"]}),
            json!({"full_name": "Bob"}),
        ),
        seed(
            "former-intern@example.com",
            json!({"provider": "email", "managed_by": marker}),
            json!({}),
        ),
        seed(
            "site-owner@example.com",
            json!({"provider": "email"}),
            json!({"full_name": "Site Owner"}),
        ),
    ] {
        emulator.seed_user(user)?;
    }
    emit(Event::EmulatorStarted {
        url: &emulator.api_url(),
        users: emulator.user_count(),
    })?;
    let credentials = AdminCredentials::Token(Secret::new(emulator.admin_key()));
    let client = AdminClient::new(&emulator.api_url(), credentials, ClientOptions::default())?
        .with_flavor(FlavorChoice::from(flavor))?;
    let options = PlanOptions {
        flavor,
        ..PlanOptions::default()
    };

    emit(Event::DemoStep("$ gotrue-sync plan"))?;
    let first = plan_with(
        &loaded.manifest,
        &client.list_users().await?.users,
        &options,
    );
    emit(Event::Plan(&first))?;
    check_deletes(&first, first.policy.max_deletes)?;

    emit(Event::DemoStep("$ gotrue-sync apply --auto-approve"))?;
    let (runnable, throwaway) = with_throwaway_secrets(&first, scratch)?;
    for variable in &throwaway {
        emit(Event::ThrowawaySecret { variable })?;
    }
    let apply_options = ApplyOptions {
        secrets_dir: loaded.base_dir(),
        ..ApplyOptions::default()
    };
    let total = runnable.changes.len();
    let mut position = 0;
    let mut output_error = None;
    let report = execute(&runnable, &client, &apply_options, |result| {
        position += 1;
        let event = Event::ChangeFinished {
            result,
            position,
            total,
        };
        if let Err(error) = observer.event(event) {
            output_error.get_or_insert(error);
        }
    })
    .await;
    if let Some(error) = output_error {
        return Err(OpsError::Output(error));
    }
    emit(Event::ApplyFinished(&report))?;

    emit(Event::DemoStep(
        "$ gotrue-sync plan   # again: the server now matches the manifest",
    ))?;
    let second = plan_with(
        &loaded.manifest,
        &client.list_users().await?.users,
        &options,
    );
    emit(Event::Plan(&second))?;
    emit(Event::DemoFinished {
        requests: client.requests_sent(),
    })?;
    Ok(DemoOutcome {
        failed: report.failed(),
    })
}

fn seed(email: &str, app_metadata: Value, user_metadata: Value) -> SeedUser {
    let as_map = |v: Value| -> Map<String, Value> { v.as_object().cloned().unwrap_or_default() };
    SeedUser {
        email: email.to_owned(),
        confirmed: true,
        app_metadata: as_map(app_metadata),
        user_metadata: as_map(user_metadata),
        ..SeedUser::default()
    }
}

/// The plan to execute: passwords read from environment variables that are not set are
/// replaced by throwaway values, written to files in the demo's scratch directory (the
/// shown plan keeps the manifest's references). Returns the variables replaced.
fn with_throwaway_secrets(plan: &Plan, scratch: &Scratch) -> Result<(Plan, Vec<String>), OpsError> {
    let mut runnable = plan.clone();
    let mut replaced = Vec::new();
    for change in &mut runnable.changes {
        let Change::Create(user) = change else {
            continue;
        };
        let Some(SecretRef::Env { env }) = &user.password else {
            continue;
        };
        if std::env::var_os(env).is_some_and(|value| !value.is_empty()) {
            continue;
        }
        let path = scratch.path().join(format!("password-{}", replaced.len()));
        write_private(&path, &random_secret()).map_err(|source| OpsError::DemoScratch {
            path: scratch.path().to_path_buf(),
            source,
        })?;
        replaced.push(env.clone());
        user.password = Some(SecretRef::File {
            file: path.display().to_string(),
        });
    }
    Ok((runnable, replaced))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, contents.as_bytes())
}

/// A private directory for the demo's throwaway files, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, OpsError> {
        let path = std::env::temp_dir().join(format!("gotrue-sync-demo-{}", uuid::Uuid::new_v4()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&path)
            .map_err(|source| OpsError::DemoScratch {
                path: path.clone(),
                source,
            })?;
        Ok(Scratch(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort: a leftover directory holds only throwaway values.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
