//! macOS: the Seatbelt profile `sandbox-exec` would run a command under.
//! The planner is pure and compiled on every OS; the backend that runs it
//! (and its log monitor) is not written yet, so srt refuses to run on macOS.

// The backend that runs these (`sandbox-exec`, `log stream`) is not written
// yet: until it is, only `--print-profile` and the tests use them.
#![allow(dead_code)]

pub mod backend;
pub mod command;
pub mod log_monitor;
pub mod profile;
