//! srt-core: the engine of srt-rs. Never depends on napi, and never prints:
//! warnings travel as values, and each front end (the `srt` CLI in `cli`,
//! the Node addon, the in-sandbox `helper`, the ssh `proxy::connect_command`)
//! shows them its own way.
//!
//! Where each rule is decided, for one run (`srt -- cmd`):
//!
//! - `config`: the settings file read, validated key by key, and checked for
//!   what this platform can enforce (a setting it cannot is refused).
//! - `sandbox::linux::run_plan`: from the facts `launch` gathers to the whole
//!   run, purely: `plan` (the mounts: `allowWrite`, `denyWrite`, `denyRead`,
//!   `allowRead`, globs, links) over `mandatory` (the protected names and the
//!   placeholders for missing ones) and `startup_places`; srt's registry
//!   hidden; the helper's options (`helper_protocol`); the environment
//!   (`proxy::env`); bubblewrap's arguments (`bwrap`).
//! - `launch`: gathers the facts (the disk, the registry of placeholders in
//!   `placeholders`, `limits`, the private TMPDIR) and carries the plan out.
//! - `runner`: starts bubblewrap with its descriptors and relays the terminal.
//! - `helper`: pid 1 inside; checks the mounts as planned, applies `seccomp`,
//!   hands the proxy listeners over (`proxy::bridge`), runs the command.
//! - `proxy`: the HTTP and SOCKS5 proxies; `policy` decides each host
//!   (`allowedDomains`, `deniedDomains`, the resolved-address check in
//!   `policy::address` and `proxy::route`); `violations` records refusals.
//! - `manager`: the library's sessions (one set of proxies, many wraps).
//!
//! Dependencies point one way: `cli` -> `launch` -> `runner` and `sandbox`
//! -> `config` -> `policy`. `helper` runs inside the sandbox and depends only
//! on its command line.

// Tests may say what they skipped.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod cli;
pub mod config;
pub mod error;
pub mod helper;
pub mod helper_protocol;
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
