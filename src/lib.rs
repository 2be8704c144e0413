//! gotrue-sync: manage the users of a GoTrue (Netlify Identity) server as code.
//!
//! The modules mirror the data flow: [`manifest`] (parse + validate) → [`gotrue`] (HTTP client)
//! → [`plan`] (pure diff) → [`apply`] (execute) → [`render`] (output). [`smoke`] and
//! [`emulator`] sit beside them; [`cli`] only parses arguments and calls into the library.

pub mod apply;
pub mod cli;
pub mod emulator;
pub mod export;
pub mod gotrue;
pub mod identity;
pub mod manifest;
pub mod ownership;
pub mod plan;
pub mod render;
pub mod secret;
pub mod smoke;
