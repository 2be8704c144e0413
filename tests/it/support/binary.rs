//! The gotrue-sync binary as a test runs it: nothing inherited from the environment of the
//! test process, colour off, and only the variables the test passes with `.env(...)`.

/// The binary as a plain process, for tests that spawn it and signal it.
pub fn process() -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("gotrue-sync"));
    command.env_clear().env("NO_COLOR", "1");
    command
}

/// The binary, to run to completion.
pub fn gotrue_sync() -> assert_cmd::Command {
    assert_cmd::Command::from_std(process())
}

/// The binary pointed at the server at `url` with an operator token.
pub fn against(url: &str, token: &str) -> assert_cmd::Command {
    let mut command = gotrue_sync();
    command
        .env("GOTRUE_URL", url)
        .env("GOTRUE_ADMIN_TOKEN", token);
    command
}
