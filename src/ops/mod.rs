//! The workflows behind each command — plan, apply, export, smoke, demo — callable without
//! clap and without a terminal. They print nothing: what happens along the way goes to an
//! [`Observer`], approval comes from a [`Prompter`], and Ctrl-C arrives through
//! [`Interrupts`], so integration tests drive them exactly as the binary does.

pub mod apply;
pub mod demo;
mod error;
mod events;
pub mod export;
mod interrupt;
pub mod plan;
pub mod smoke;

pub use error::{OpsError, PlanFileError};
pub use events::{Event, Observer, Silent};
pub use interrupt::{InterruptHandle, Interrupts};
