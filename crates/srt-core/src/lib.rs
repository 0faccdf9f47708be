//! srt-core: the engine of srt-rs. Never depends on napi.
//!
//! Dependencies point one way: `cli` -> `launch` -> `runner` and `sandbox`
//! -> `config` -> `policy`. `helper` runs inside the sandbox and depends only
//! on its command line.

pub mod cli;
pub mod config;
pub mod helper;
pub mod hints;
pub mod launch;
#[cfg(target_os = "linux")]
pub mod limits;
pub mod logging;
#[cfg(target_os = "linux")]
pub mod manager;
pub mod policy;
pub mod program_lookup;
pub mod proxy;
pub mod runner;
pub mod sandbox;
pub mod seccomp;
pub mod stdio_relay;
pub mod violations;
