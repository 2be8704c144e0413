//! gotrue-sync: manage the users of a GoTrue (Netlify Identity) server as code.
//!
//! The modules mirror the data flow: [`manifest`] (parse + validate) → [`gotrue`] (HTTP client)
//! → [`plan`] (pure diff) → [`apply`] (execute) → [`render`] (output). [`smoke`] sits beside
//! them; [`cli`] only parses arguments and calls into the library. The GoTrue emulator is its
//! own crate, `gotrue-emulator`; [`emulator_seed`] turns a manifest into its seed users.

pub mod apply;
pub mod cli;
pub mod emulator_seed;
pub mod export;
pub mod gotrue;
pub mod manifest;
pub mod plan;
pub mod render;
pub mod secret;
pub mod smoke;
