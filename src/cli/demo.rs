//! `gotrue-sync demo`: the whole loop — plan, apply, plan again — against a seeded emulator
//! started in this process, so a first-time user sees the tool work without any set-up.

use std::path::PathBuf;

use clap::Args;
use serde_json::{json, Map, Value};

use super::error::{CliError, EXIT_OK};
use crate::apply::{check_deletes, execute, ApplyOptions};
use crate::gotrue::{AdminClient, AdminCredentials, ClientOptions};
use crate::manifest::{self, SecretRef};
use crate::plan::plan;
use crate::render::{apply_summary, change_line, plan_human, Printer};
use crate::secret::Secret;
use gotrue_emulator::{Emulator, EmulatorConfig, SeedUser};

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Manifest files or directories to demonstrate with.
    #[arg(short = 'f', long = "file", value_name = "FILE", num_args = 1.., default_value = "examples/users.yaml")]
    pub files: Vec<PathBuf>,
}

/// Environment variables the demo manifest references that are not set. The demo sets them
/// to throwaway values before any thread starts (see `cli::main`), because the emulator is
/// a throwaway too.
pub fn missing_secret_variables(args: &DemoArgs) -> Vec<String> {
    let Ok(loaded) = manifest::load_all(&args.files) else {
        return Vec::new();
    };
    loaded
        .manifest
        .users
        .iter()
        .filter_map(|u| match &u.password {
            Some(SecretRef::Env { env }) if std::env::var_os(env).is_none() => Some(env.clone()),
            _ => None,
        })
        .collect()
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

/// Runs the demo.
pub async fn run(args: &DemoArgs, printer: &Printer) -> Result<u8, CliError> {
    let loaded = manifest::load_all(&args.files)?;
    let marker = crate::plan::marker_for(&loaded.manifest.name);
    let emulator = Emulator::start(EmulatorConfig {
        port: 0,
        ..EmulatorConfig::default()
    })
    .await?;
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
    printer.status(&format!(
        "Started a GoTrue emulator at {} with {} existing users.\n",
        emulator.url(),
        emulator.user_count()
    ));
    let credentials =
        AdminCredentials::Token(Secret::new(emulator.config().operator_token.clone()));
    let client = AdminClient::new(&emulator.url(), credentials, ClientOptions::default())?;

    printer.status("$ gotrue-sync plan");
    let first = plan(&loaded.manifest, &client.list_users().await?.users);
    printer.document(&plan_human(&first, printer.out_style()));
    check_deletes(&first, first.policy.max_deletes)?;

    printer.status("$ gotrue-sync apply --auto-approve");
    let options = ApplyOptions {
        secrets_dir: loaded.base_dir(),
        ..ApplyOptions::default()
    };
    let total = first.changes.len();
    let mut position = 0;
    let report = execute(&first, &client, &options, |result| {
        position += 1;
        printer.status(&change_line(result, position, total, printer.err_style()));
    })
    .await;
    printer.report(&format!(
        "{}\n",
        apply_summary(&report, printer.err_style())
    ));

    printer.status("$ gotrue-sync plan   # again: the server now matches the manifest");
    let second = plan(&loaded.manifest, &client.list_users().await?.users);
    printer.document(&plan_human(&second, printer.out_style()));
    printer.status(&format!(
        "{} HTTP requests in all. Point --url at your own server to do this for real.",
        client.requests_sent()
    ));
    emulator.shutdown().await;
    Ok(if report.failed() > 0 {
        super::EXIT_ERROR
    } else {
        EXIT_OK
    })
}
