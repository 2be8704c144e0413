//! Arbitrary bytes as a manifest, through validate → plan → every renderer (see
//! `gotrue_sync::fuzzing::run_pipeline`, which the test suite also runs on stable).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _reached = gotrue_sync::fuzzing::run_pipeline(bytes);
});
