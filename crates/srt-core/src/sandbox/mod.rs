//! Sandbox backends. Linux runs commands; the macOS planner builds the
//! Seatbelt profile on every OS (its backend is not run yet); other
//! platforms are refused.

#[cfg(test)]
pub mod fake_fs;
pub mod git_safe;
pub mod glob;
#[cfg(target_os = "linux")]
pub mod linux;
pub mod macos;
pub mod paths;
pub mod protected_names;
