//! Sandbox backends: bubblewrap on Linux, Seatbelt on macOS (compiled on
//! every Unix, so that its tests run here too); other platforms are refused.

#[cfg(test)]
pub mod fake_fs;
pub mod git_safe;
pub mod glob;
#[cfg(target_os = "linux")]
pub mod linux;
pub mod macos;
pub mod paths;
pub mod protected_names;
