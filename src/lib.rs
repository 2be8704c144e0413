//! gotrue-sync: manage the users of a GoTrue (Netlify Identity) server as code.
//!
//! The modules mirror the data flow: [`manifest`] (parse + validate) → [`gotrue`] (HTTP client)
//! → [`plan`] (pure diff) → [`apply`] (execute) → [`render`] (output). [`ops`] holds the
//! workflows that string them together (plan, apply, export, smoke, demo); [`cli`] only maps
//! arguments onto one workflow and renders its result. [`smoke`] and [`emulator`] sit beside.

pub mod apply;
pub mod cli;
pub mod emulator;
pub mod export;
pub mod gotrue;
pub mod identity;
pub mod manifest;
pub mod ops;
pub mod ownership;
pub mod plan;
pub mod render;
pub mod secret;
pub mod smoke;
