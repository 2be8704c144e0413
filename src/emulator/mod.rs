//! A GoTrue-compatible server for local trials and stateful tests.
