//! gotrue-sync: manage the users of a GoTrue (Netlify Identity) server as code.
//!
//! The modules mirror the data flow: [`manifest`] (parse + validate) → [`gotrue`] (HTTP client)
//! → [`plan`] (pure diff) → [`apply`] (execute) → [`render`] (output). [`ops`] holds the
//! workflows that string them together (plan, apply, export, smoke, demo); [`cli`] only maps
//! arguments onto one workflow and renders its result. [`smoke`] sits beside them. The GoTrue emulator is its own crate,
//! `gotrue-emulator`; [`emulator_seed`] turns a manifest into its plain seed users.

pub mod apply;
pub mod cli;
pub mod emulator_seed;
pub mod export;
#[doc(hidden)]
pub mod fuzzing;
pub mod gotrue;
pub mod identity;
pub mod manifest;
pub mod metadata;
pub mod ops;
pub mod ownership;
pub mod plan;
pub mod private_file;
pub mod render;
pub mod secret;
pub mod smoke;
