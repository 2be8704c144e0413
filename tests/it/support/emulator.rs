//! The in-process emulator as a fixture: on a free loopback port, optionally seeded.

use gotrue_emulator::{Emulator, EmulatorConfig, SeedUser};
use gotrue_sync::gotrue::{AdminClient, AdminCredentials, ClientOptions, RemoteUser};
use gotrue_sync::secret::Secret;

/// Starts an emulator with `config` on port 0 (a free port, never a fixed one).
pub async fn start(config: EmulatorConfig) -> Emulator {
    Emulator::start(EmulatorConfig { port: 0, ..config })
        .await
        .expect("emulator starts")
}

/// Starts an emulator with the default configuration holding `users`.
pub async fn seeded(users: impl IntoIterator<Item = SeedUser>) -> Emulator {
    let emulator = start(EmulatorConfig::default()).await;
    emulator.seed(users.into_iter().collect()).expect("seed");
    emulator
}

/// An admin client of `emulator` with its operator token.
pub fn admin(emulator: &Emulator, options: ClientOptions) -> AdminClient {
    let credentials =
        AdminCredentials::Token(Secret::new(emulator.config().operator_token.clone()));
    AdminClient::new(&emulator.url(), credentials, options).expect("client")
}

/// Every user on `emulator`, through the admin API.
pub async fn users(emulator: &Emulator) -> Vec<RemoteUser> {
    admin(emulator, ClientOptions::default())
        .list_users()
        .await
        .expect("list")
        .users
}

/// The binary pointed at `emulator` with its operator token.
pub fn binary(emulator: &Emulator) -> assert_cmd::Command {
    super::binary::against(&emulator.url(), &emulator.config().operator_token)
}

/// Starts a supabase-flavoured emulator (`config.flavor` is overridden) on port 0.
pub async fn start_supabase(config: EmulatorConfig) -> Emulator {
    start(EmulatorConfig {
        flavor: gotrue_emulator::Flavor::Supabase,
        ..config
    })
    .await
}

/// The binary pointed at a supabase-flavoured `emulator` the way a hosted project is used:
/// the `/auth/v1` URL and a `service_role` key. The flavour is left to detection.
pub fn supabase_binary(emulator: &Emulator) -> assert_cmd::Command {
    let mut command = super::binary::gotrue_sync();
    command
        .env("GOTRUE_URL", emulator.api_url())
        .env("GOTRUE_ADMIN_TOKEN", emulator.admin_key());
    command
}
