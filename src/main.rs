//! The `gotrue-sync` binary: everything happens in [`gotrue_sync::cli`].

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(gotrue_sync::cli::main())
}
