//! Sandbox backends. Only Linux is implemented; other platforms are refused.

#[cfg(target_os = "linux")]
pub mod glob;
#[cfg(target_os = "linux")]
pub mod linux;
