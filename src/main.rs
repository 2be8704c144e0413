//! The `gotrue-sync` binary: everything happens in [`gotrue_sync::cli`].

fn main() -> std::process::ExitCode {
    gotrue_sync::cli::main()
}
