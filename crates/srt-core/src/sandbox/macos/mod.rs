//! macOS: commands under `sandbox-exec` with a Seatbelt profile per command.
//! The planner (`profile`) is pure; the session, the command line and the
//! log watch are plain Unix code, compiled and tested on every Unix against
//! stand-ins for `sandbox-exec` and `log`. Only the choice of backend is
//! made by OS (`lib.rs`, `cli.rs`).

// Elsewhere than macOS only `--print-profile` and the tests use these.
#![cfg_attr(not(target_os = "macos"), allow(dead_code))]

pub mod backend;
pub mod command;
pub mod log_monitor;
pub mod log_watch;
pub mod profile;
pub mod session;
#[cfg(test)]
mod test_support;
