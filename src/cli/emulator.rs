//! `gotrue-sync emulator`: maps the command line onto the emulator crate's plain
//! configuration, starts it, prints how to reach it, and serves until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use gotrue_emulator::{random_secret, Emulator, EmulatorConfig};

use super::error::{CliError, ExitStatus};
use crate::emulator_seed::{emulator_flavor, is_manifest, seeds_from_manifest};
use crate::gotrue::Flavor;
use crate::ops::OpsError;
use crate::render::Printer;

/// Arguments of `gotrue-sync emulator`.
#[derive(clap::Args, Debug, Clone)]
pub struct EmulatorArgs {
    /// Which server to play: netlify/gotrue (Netlify Identity) or supabase/auth (Supabase
    /// Auth, served at both `/` and `/auth/v1`).
    #[arg(long, value_enum, default_value_t = Flavor::Netlify)]
    pub flavor: Flavor,
    /// supabase only: at most N mails per hour, server-wide; past that, 429
    /// `over_email_send_rate_limit` as Supabase answers (default: no limit).
    #[arg(long, value_name = "N")]
    pub email_rate_limit: Option<u32>,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 9999)]
    pub port: u16,
    /// Operator token accepted as admin bearer on netlify (random if not given).
    #[arg(long, env = "GOTRUE_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<String>,
    /// HS256 secret for access tokens and admin JWTs (random if not given).
    #[arg(long, env = "GOTRUE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Default audience (GOTRUE_JWT_AUD).
    #[arg(long, default_value = "")]
    pub aud: String,
    /// Confirm signups immediately instead of mailing a confirmation link.
    #[arg(long)]
    pub autoconfirm: bool,
    /// Reject /signup with 403.
    #[arg(long)]
    pub disable_signup: bool,
    /// Users to load at start: `{"users":[...]}` or a bare array of User objects (JSON), or a
    /// manifest (`.yaml`/`.yml`), whose users are created as `apply` would leave them.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Persist state to FILE after every change and reload it at start.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Delay added to every response, e.g. `20ms`.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    pub latency: Duration,
    /// Base URL for links in captured mails.
    #[arg(long, default_value = "http://localhost:8888")]
    pub site_url: String,
    /// Accept any non-empty address, like a real server without SMTP. By default addresses
    /// are checked as a production server checks them (Go's net/mail parser).
    #[arg(long)]
    pub no_email_validation: bool,
    /// bcrypt cost of stored passwords (real servers use 10; 4 keeps trials fast).
    #[arg(long, value_name = "COST", default_value_t = 4, value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,
    /// At most N password hashes at once (0 = no limit), to play a server with N cores.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_concurrent_hashes: usize,
    /// Close connections that have not sent a complete request head within this time
    /// (slow or idle clients), e.g. `30s`.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30s")]
    pub header_read_timeout: Duration,
}

impl EmulatorArgs {
    /// The emulator's configuration; a manifest given as `--seed` is read here, on this
    /// crate's side, and handed over as plain seed users.
    pub fn into_config(self) -> Result<EmulatorConfig, CliError> {
        let (seed, seed_users) = match self.seed {
            Some(path) if is_manifest(&path) => (None, seeds_from_manifest(&path)?),
            other => (other, Vec::new()),
        };
        if self.email_rate_limit.is_some() && self.flavor != Flavor::Supabase {
            return Err(CliError::Usage(
                "--email-rate-limit is a Supabase Auth setting; add --flavor supabase".into(),
            ));
        }
        Ok(EmulatorConfig {
            flavor: emulator_flavor(self.flavor),
            email_rate_limit: self.email_rate_limit,
            host: self.host,
            port: self.port,
            operator_token: self.operator_token.unwrap_or_else(random_secret),
            jwt_secret: self.jwt_secret.unwrap_or_else(random_secret),
            aud: self.aud,
            site_url: self.site_url,
            autoconfirm: self.autoconfirm,
            disable_signup: self.disable_signup,
            latency: self.latency,
            validate_emails: !self.no_email_validation,
            bcrypt_cost: self.bcrypt_cost,
            max_concurrent_hashes: self.max_concurrent_hashes,
            header_read_timeout: self.header_read_timeout,
            seed,
            seed_users,
            state: self.state,
            ..EmulatorConfig::default()
        })
    }
}

/// Starts the emulator, prints how to reach it, and serves until Ctrl-C.
pub async fn run(args: &EmulatorArgs, printer: &Printer) -> Result<ExitStatus, CliError> {
    let emulator = Emulator::start(args.clone().into_config()?)
        .await
        .map_err(OpsError::from)?;
    // Printing the secrets is intended: they are the emulator's own throwaway credentials,
    // and a user needs them to talk to it.
    let banner = match args.flavor {
        Flavor::Netlify => format!(
            "GoTrue emulator (netlify) listening on {url}\n  operator token: {token}\n  jwt secret:     {secret}\n  captured mail:  {url}/_emulator/messages\nPress Ctrl-C to stop.\n",
            url = emulator.url(),
            token = emulator.admin_key(),
            secret = emulator.config().jwt_secret,
        ),
        Flavor::Supabase => format!(
            "GoTrue emulator (supabase) listening on {api}\n  service_role key: {key}\n  jwt secret:       {secret}\n  captured mail:    {url}/_emulator/messages\nPress Ctrl-C to stop.\n",
            api = emulator.api_url(),
            url = emulator.url(),
            key = emulator.admin_key(),
            secret = emulator.config().jwt_secret,
        ),
    };
    printer.report(&banner)?;
    emulator.run_until_ctrl_c().await.map_err(OpsError::from)?;
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: EmulatorArgs,
    }

    #[test]
    fn parses_flags_into_config() {
        let cli = Cli::try_parse_from([
            "emulator",
            "--port",
            "0",
            "--operator-token",
            "op",
            "--latency",
            "20ms",
            "--autoconfirm",
            "--aud",
            "site",
            "--seed",
            "users.json",
            "--bcrypt-cost",
            "10",
            "--max-concurrent-hashes",
            "2",
            "--no-email-validation",
            "--header-read-timeout",
            "5s",
        ])
        .expect("parses");
        let config = cli
            .args
            .into_config()
            .expect("a JSON seed is read by the emulator");
        assert_eq!(config.port, 0);
        assert_eq!(config.operator_token, "op");
        assert_eq!(config.latency, Duration::from_millis(20));
        assert!(config.autoconfirm && !config.disable_signup);
        assert_eq!(config.aud, "site");
        assert!(!config.jwt_secret.is_empty());
        assert_eq!(config.seed, Some(PathBuf::from("users.json")));
        assert!(config.seed_users.is_empty());
        assert_eq!(config.bcrypt_cost, 10);
        assert_eq!(config.max_concurrent_hashes, 2);
        assert!(!config.validate_emails);
        assert_eq!(config.header_read_timeout, Duration::from_secs(5));
        let defaults = Cli::try_parse_from(["emulator"]).expect("parses");
        let defaults = defaults.args.into_config().expect("config");
        assert_eq!(defaults.bcrypt_cost, 4);
        assert!(defaults.validate_emails);
        assert!(Cli::try_parse_from(["emulator", "--bcrypt-cost", "3"]).is_err());
        assert_eq!(defaults.flavor, gotrue_emulator::Flavor::Netlify);
        assert_eq!(defaults.email_rate_limit, None);
    }

    #[test]
    fn supabase_flavour_and_its_rate_limit() {
        let cli = Cli::try_parse_from([
            "emulator",
            "--flavor",
            "supabase",
            "--email-rate-limit",
            "30",
        ])
        .expect("parses");
        let config = cli.args.into_config().expect("config");
        assert_eq!(config.flavor, gotrue_emulator::Flavor::Supabase);
        assert_eq!(config.email_rate_limit, Some(30));
        let netlify =
            Cli::try_parse_from(["emulator", "--email-rate-limit", "30"]).expect("parses");
        let refused = netlify
            .args
            .into_config()
            .expect_err("netlify has no such limit");
        assert!(
            refused.to_string().contains("--flavor supabase"),
            "{refused}"
        );
        assert!(Cli::try_parse_from(["emulator", "--flavor", "gotrue"]).is_err());
    }

    #[test]
    fn a_manifest_seed_becomes_seed_users() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("users.yaml");
        std::fs::write(
            &path,
            "version: 1\nname: t\nusers:\n  - email: a@example.com\n    roles: [editor]\n",
        )
        .expect("write");
        let cli = Cli::try_parse_from(["emulator", "--seed", path.to_str().expect("utf-8")])
            .expect("parses");
        let config = cli.args.into_config().expect("valid manifest");
        assert_eq!(config.seed, None);
        assert_eq!(config.seed_users.len(), 1);
        assert_eq!(config.seed_users[0].email, "a@example.com");
        assert!(config.seed_users[0].confirmed);
    }
}
