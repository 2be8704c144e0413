//! `gotrue-sync emulator`: command-line arguments mapped onto the emulator's plain
//! configuration, and the foreground runner.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::error::{CliError, ExitStatus};
use crate::emulator::{random_secret, Emulator, EmulatorConfig, EmulatorError};
use crate::ops::OpsError;
use crate::render::Printer;

/// Arguments of `gotrue-sync emulator`.
#[derive(Args, Debug, Clone)]
pub struct EmulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 9999)]
    pub port: u16,
    /// Operator token accepted as admin bearer (random if not given).
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
}

impl From<&EmulatorArgs> for EmulatorConfig {
    fn from(args: &EmulatorArgs) -> Self {
        EmulatorConfig {
            host: args.host,
            port: args.port,
            operator_token: args.operator_token.clone().unwrap_or_else(random_secret),
            jwt_secret: args.jwt_secret.clone().unwrap_or_else(random_secret),
            aud: args.aud.clone(),
            site_url: args.site_url.clone(),
            autoconfirm: args.autoconfirm,
            disable_signup: args.disable_signup,
            latency: args.latency,
            seed: args.seed.clone(),
            state: args.state.clone(),
            ..EmulatorConfig::default()
        }
    }
}

/// Starts the emulator, prints how to reach it, and serves until Ctrl-C.
pub async fn run(args: &EmulatorArgs, printer: &Printer) -> Result<ExitStatus, CliError> {
    let emulator = Emulator::start(args.into()).await.map_err(OpsError::from)?;
    // Printing the secrets is intended: they are the emulator's own throwaway credentials,
    // and a user needs them to talk to it.
    let config = emulator.config();
    printer.report(&format!(
        "GoTrue emulator listening on {url}\n  operator token: {}\n  jwt secret:     {}\n  captured mail:  {url}/_emulator/messages\nPress Ctrl-C to stop.\n",
        config.operator_token,
        config.jwt_secret,
        url = emulator.url(),
    ))?;
    let signal = tokio::signal::ctrl_c().await;
    emulator.shutdown().await;
    signal
        .map_err(EmulatorError::Signal)
        .map_err(OpsError::from)?;
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
        ])
        .expect("parses");
        let config = EmulatorConfig::from(&cli.args);
        assert_eq!(config.port, 0);
        assert_eq!(config.operator_token, "op");
        assert_eq!(config.latency, Duration::from_millis(20));
        assert!(config.autoconfirm && !config.disable_signup);
        assert_eq!(config.aud, "site");
        assert!(!config.jwt_secret.is_empty());
    }
}
