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
//! Calls into the C library go through `nix` or `sys`; `unsafe` appears
//! elsewhere only between `fork` and `exec` (the runner's `pre_exec`, the
//! helper's child), where only async-signal-safe calls may be made.
//!
//! Dependencies point one way: `cli` -> `launch` -> `runner` and `sandbox`
//! -> `config` -> `policy`. `helper` runs inside the sandbox and depends only
//! on its command line.

// Tests may say what they skipped.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]
// Each OS uses its own backend. macOS's is compiled on Linux for its tests
// (`sandbox::macos` allows its own dead code there); elsewhere than Linux,
// the pieces only bubblewrap's runs use (the helper protocol, the launch
// plan, route lookups) are compiled but unused.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

mod base64;
mod cli;
mod config;
#[cfg(unix)]
mod control_fd;
mod credentials;
mod descriptor_limit;
mod error;
#[cfg(target_os = "linux")]
mod helper;
mod helper_protocol;
mod hints;
mod launch;
#[cfg(target_os = "linux")]
mod limits;
mod logging;
#[cfg(target_os = "linux")]
mod manager;
mod own_file;
mod policy;
mod program_lookup;
mod proxy;
mod run_control;
#[cfg(target_os = "linux")]
mod runner;
mod sandbox;
#[cfg(target_os = "linux")]
mod seccomp;
mod session_core;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod session_elsewhere;
mod shell_words;
#[cfg(target_os = "linux")]
mod stdio_relay;
pub mod sys;
mod violations;

// The surface: what the `srt` binary, the Node addon and the integration
// tests use. Every module is private; nothing else is reachable from outside.
// `Session` is the library's session on this OS: bubblewrap's on Linux,
// Seatbelt's on macOS, one that refuses to start elsewhere.
pub use cli::{is_helper_invocation, run_with_process_stdio, VERSION};
pub use config::{admit, default_write_paths, parse_failure, parse_settings, ParseError, Settings};
pub use error::{Error, ErrorCode};
#[cfg(target_os = "linux")]
pub use helper::main as helper_main;
#[cfg(target_os = "linux")]
pub use limits::default_warnings as limit_warnings;
#[cfg(target_os = "linux")]
pub use manager::Session;
pub use proxy::connect_command::main as proxy_connect_main;
pub use proxy::env::CONNECT_SUBCOMMAND;
pub use proxy::filter as request_filter;
pub use proxy::{Ask, AskAnswer};
pub use run_control::RunControl;
#[cfg(target_os = "linux")]
pub use sandbox::linux::bwrap::{check_user_namespaces, find_bwrap};
/// The protected-name scan, for `srt __scan` (the scan benchmark).
#[cfg(target_os = "linux")]
pub use sandbox::linux::{mandatory, paths::HostFs};
#[cfg(target_os = "macos")]
pub use sandbox::macos::session::{check_sandbox_exec, MacSession as Session};
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub use session_elsewhere::Session;
pub use shell_words::{shell_quote, shell_quote_bytes};
pub use violations::store_line;
