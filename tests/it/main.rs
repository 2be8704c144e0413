//! The integration tests, as one binary: one link step and one process start instead of
//! one per file. Each module is one area; `support` holds the helpers they share.

mod support;

mod ambiguous_answers;
mod cli;
mod client_contract;
mod client_supabase;
mod distribution;
mod e2e;
mod emulator_supabase;
mod fuzz_pipeline;
mod gitops;
mod hardening;
mod integrity;
mod interrupt;
mod listing;
mod manifest_files;
mod manifest_hardening;
mod manifest_warnings;
mod messages;
mod migration;
mod msrv;
mod ops;
mod output_errors;
mod parallelism;
mod rate_limits;
mod redaction;
mod request_logs;
mod schema_and_examples;
mod smoke_emulator;
mod smoke_supabase;
mod smoke_wiremock;
mod terminal;
mod tls;
mod url_safety;
