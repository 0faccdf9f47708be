//! macOS: the Seatbelt profile `sandbox-exec` would run a command under.
//! The planner is pure and compiled on every OS; the backend that runs it
//! (and its log monitor) is not written yet, so srt refuses to run on macOS.

pub mod profile;
