//! The Node addon: a thin napi binding over srt-core. Binding code only:
//! argument conversion, the helper's location, and the run registry that
//! JavaScript delivers signals to.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use napi::bindgen_prelude::*;
use napi_derive::napi;

pub mod filter;

/// Runs in progress, so `signalCli` can reach them. Weak: a finished run is gone.
static ACTIVE_RUNS: Mutex<Vec<Weak<srt_core::RunControl>>> = Mutex::new(Vec::new());

/// Where the native `srt` binary (the in-sandbox helper) is: beside this addon,
/// in the platform package or at the root of a built clone.
fn helper_path() -> std::result::Result<PathBuf, String> {
    let addon = addon_path().ok_or("cannot find where the srt addon was loaded from")?;
    let dir = addon.parent().ok_or("the addon path has no directory")?;
    let helper = dir.join("srt");
    if helper.is_file() {
        Ok(helper)
    } else {
        Err(format!(
            "the native srt binary is missing at {} (it ships beside the addon; in a clone, run `npm install` or `npm run build`)",
            helper.display()
        ))
    }
}

/// The file this code was loaded from, through the dynamic loader.
fn addon_path() -> Option<PathBuf> {
    let path = srt_core::sys::object_file_of(helper_path as *const () as usize)?;
    std::fs::canonicalize(&path).ok().or(Some(path))
}

/// Runs the `srt` command line (arguments without the program name) and
/// resolves to its exit status. The command inherits this process's standard
/// streams. Signals are not caught here: the caller passes them on with
/// `signalCli` (the `srt` shim does).
#[napi]
pub async fn run_cli(args: Vec<String>) -> Result<i32> {
    let args: Vec<OsString> = args.into_iter().map(OsString::from).collect();
    let control = srt_core::RunControl::new();
    if let Ok(mut runs) = ACTIVE_RUNS.lock() {
        runs.retain(|w| w.strong_count() > 0);
        runs.push(Arc::downgrade(&control));
    }
    let helper = helper_path();
    // A thread of its own for the whole run: bubblewrap's --die-with-parent
    // follows the thread that spawned it.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("srt-run".into())
        .spawn(move || {
            let code = srt_core::run_with_process_stdio(&args, helper, control, package());
            let _ = tx.send(code);
        })
        .map_err(|e| Error::from_reason(format!("cannot start the run thread: {e}")))?;
    rx.await.map_err(|_| Error::from_reason("the run thread ended without a status"))
}

/// Passes signal `signo` (e.g. 15 for SIGTERM) to every command started by
/// `runCli` that is still running. SIGWINCH (28) resizes their terminal.
#[napi]
pub fn signal_cli(signo: i32) {
    if let Ok(runs) = ACTIVE_RUNS.lock() {
        for run in runs.iter().filter_map(Weak::upgrade) {
            run.signal(signo);
        }
    }
}

/// The JavaScript package's directories the loader registered.
static PACKAGE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// What `protectPackage` registered, for the engine to keep read-only.
fn package() -> Vec<PathBuf> {
    PACKAGE.lock().map(|p| p.clone()).unwrap_or_default()
}

/// Registers the JavaScript package's root (the addon loader does, on
/// load): it is read-only in every sandbox this process starts.
#[napi]
pub fn protect_package(root: String) {
    let root = PathBuf::from(root);
    if root.is_absolute() {
        PACKAGE.lock().unwrap_or_else(|e| e.into_inner()).push(root);
    }
}

/// The version of srt-rs.
#[napi]
pub fn version() -> String {
    srt_core::VERSION.to_string()
}

// ---- The library session (what the JavaScript `SandboxManager` wraps) ----

use srt_core::{admit, parse_failure, parse_settings, Ask, AskAnswer, ParseError, Session, Settings};

/// What the ask callback is given.
#[napi(object)]
pub struct AskRequest {
    pub host: String,
    pub port: u32,
}

/// What the ask callback decided for a host: allowed, or denied with the
/// reason to show (if it gave one).
#[napi(object)]
pub struct AskVerdict {
    pub allow: bool,
    pub reason: Option<String>,
}

/// The ask callback as the binding sees it: the JavaScript layer wraps the
/// user's callback so that it resolves to a verdict, or to `null` when the
/// callback threw or rejected (denied as `permission prompt failed`).
#[napi]
pub type NativeAskCallback = napi::threadsafe_function::ThreadsafeFunction<
    AskRequest,                  // argument
    Promise<Option<AskVerdict>>, // return value: the decision
    AskRequest,                  // what is queued to the JS thread
    Status,                      // error status
    false,                       // CalleeHandled: JS gets (req), not (err, req)
    true,                        // weak: a registered callback does not keep Node alive
>;

struct JsAsk(Arc<NativeAskCallback>);

impl Ask for JsAsk {
    fn ask(&self, host: String, port: u16) -> std::pin::Pin<Box<dyn std::future::Future<Output = AskAnswer> + Send>> {
        let callback = self.0.clone();
        Box::pin(async move {
            let verdict = match callback.call_async_catch(AskRequest { host, port: u32::from(port) }).await {
                Ok(promise) => promise.await.ok().flatten(),
                Err(_) => None,
            };
            match verdict {
                Some(AskVerdict { allow: true, .. }) => AskAnswer::Allow,
                Some(AskVerdict { allow: false, reason }) => AskAnswer::Deny(reason),
                None => AskAnswer::Failed,
            }
        })
    }
}

/// A settings document (JSON) through the settings pipeline the CLI uses
/// too: parsed, validated, checked for what this build enforces. Unknown
/// keys and keys that mean nothing here are warnings.
fn settings_from_json(text: &str) -> std::result::Result<(Settings, Vec<String>), srt_core::Error> {
    let parsed = parse_settings(text).map_err(parse_failure)?;
    let admitted = admit(parsed, "the config")?;
    let mut warnings = admitted.warnings;
    warnings.extend(admitted.notes);
    Ok((admitted.settings, warnings))
}

/// The original's default write paths, as the settings would name them.
#[napi]
pub fn default_write_paths() -> Vec<String> {
    srt_core::default_write_paths(&|k| std::env::var_os(k))
}

/// A violation line as the store keeps it: runs of control or invisible
/// characters become one space, angle brackets go.
#[napi]
pub fn sanitize_violation_line(line: String) -> String {
    srt_core::store_line(&line)
}

/// The result of `validateConfig`.
#[napi(object)]
pub struct ConfigCheck {
    pub ok: bool,
    /// What makes the config unusable (the CLI's messages).
    pub errors: Vec<String>,
    /// Unknown keys.
    pub warnings: Vec<String>,
}

/// Validates a config (JSON text) exactly as `srt` and `initialize` do.
#[napi]
pub fn validate_config(json: String) -> ConfigCheck {
    match settings_from_json(&json) {
        Ok((_, warnings)) => ConfigCheck { ok: true, errors: Vec::new(), warnings },
        Err(e) => ConfigCheck { ok: false, errors: vec![e.message], warnings: Vec::new() },
    }
}

/// One problem with a config, for the schema objects' `safeParse`.
#[napi(object)]
pub struct ConfigIssue {
    /// Where, as the CLI names it: `network.allowedDomains[2]` ("" for the whole).
    pub path: String,
    pub message: String,
}

/// Every problem with a config's shape and values (JSON text), as the
/// original's schemas judge them: no check of what this build enforces.
#[napi]
pub fn config_issues(json: String) -> Vec<ConfigIssue> {
    match parse_settings(&json) {
        Ok(_) => Vec::new(),
        Err(ParseError::Json(m)) => vec![ConfigIssue { path: String::new(), message: format!("not valid JSON: {m}") }],
        Err(ParseError::Invalid(issues)) => {
            issues.into_iter().map(|i| ConfigIssue { path: i.path, message: i.message }).collect()
        }
    }
}

/// What `checkDependencies` finds.
#[napi(object)]
pub struct DependencyCheck {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// Whether this machine can sandbox: on Linux bubblewrap present and user
/// namespaces on, with warnings for the default limits nothing here can
/// hold; on macOS `sandbox-exec`; everywhere the native `srt` binary.
#[napi]
pub fn check_dependencies() -> DependencyCheck {
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    return DependencyCheck {
        errors: vec![format!("Unsupported platform: {}", std::env::consts::OS)],
        warnings: Vec::new(),
    };
    #[cfg(target_os = "macos")]
    {
        let mut errors = Vec::new();
        if let Err(e) = srt_core::check_sandbox_exec() {
            errors.push(e);
        }
        if let Err(e) = helper_path() {
            errors.push(e);
        }
        DependencyCheck { errors, warnings: Vec::new() }
    }
    #[cfg(target_os = "linux")]
    {
        let mut errors = Vec::new();
        if let Err(e) = srt_core::find_bwrap(&Settings::default(), std::env::var_os("PATH").as_deref()) {
            errors.push(e.0);
        }
        if let Err(e) = srt_core::check_user_namespaces() {
            errors.push(e.0);
        }
        if let Err(e) = helper_path() {
            errors.push(e);
        }
        DependencyCheck { errors, warnings: srt_core::limit_warnings() }
    }
}

/// One recorded violation.
#[napi(object)]
pub struct NativeViolation {
    pub line: String,
    pub command: Option<String>,
    /// Milliseconds since the epoch.
    pub timestamp: f64,
}

/// A wrapped command line and the plan's remarks (rules it could not apply
/// as written), or the engine's error. (An async function's rejection carries
/// no code of ours: napi gives it a Node-API status.)
#[napi(object)]
pub struct WrapResult {
    pub command_line: Option<String>,
    pub warnings: Vec<String>,
    pub error: Option<NativeError>,
}

/// What `initialize` and `updateConfig` give: the config's warnings, or the engine's error.
#[napi(object)]
pub struct SettingsResult {
    pub warnings: Vec<String>,
    pub error: Option<NativeError>,
}

/// An engine error: a stable code (`SRT_...`) and a message for a person.
#[napi(object)]
pub struct NativeError {
    pub code: String,
    pub message: String,
}

impl From<srt_core::Error> for NativeError {
    fn from(e: srt_core::Error) -> NativeError {
        NativeError { code: e.code.as_str().into(), message: e.message }
    }
}

/// One library session: the proxies and the wraps of one `SandboxManager`.
#[napi]
pub struct NativeSession {
    session: Arc<Mutex<Option<Arc<Session>>>>,
}

/// The engine's `filterRequest` from the JavaScript layer's two callbacks.
fn js_filter(
    filter: Option<filter::NativeFilterCallback>,
    on_response: Option<filter::NativeResponseCallback>,
) -> Option<Arc<dyn srt_core::request_filter::RequestFilter>> {
    let (decide, observe) = (filter?, on_response?);
    Some(Arc::new(filter::JsFilter { decide: Arc::new(decide), observe: Arc::new(observe) }))
}

fn no_session() -> Error {
    Error::from_reason("the sandbox is not initialized: call initialize() first")
}

#[napi]
impl NativeSession {
    #[napi(constructor)]
    pub fn new() -> Self {
        NativeSession { session: Arc::default() }
    }

    fn current(&self) -> Result<Arc<Session>> {
        self.session.lock().map_err(|_| no_session())?.clone().ok_or_else(no_session)
    }

    /// Starts the proxies for `config` (JSON text). Resolves to the config's
    /// warnings, or the engine's error for a config it refuses.
    #[napi]
    pub async fn initialize(
        &self,
        config: String,
        ask: Option<NativeAskCallback>,
        enable_log_monitor: Option<bool>,
        filter: Option<filter::NativeFilterCallback>,
        on_response: Option<filter::NativeResponseCallback>,
    ) -> Result<SettingsResult> {
        let (settings, mut warnings) = match settings_from_json(&config) {
            Ok(parsed) => parsed,
            Err(e) => return Ok(SettingsResult { warnings: Vec::new(), error: Some(e.into()) }),
        };
        let helper = helper_path().map_err(Error::from_reason)?;
        let ask: Option<Arc<dyn Ask>> = ask.map(|a| Arc::new(JsAsk(Arc::new(a))) as Arc<dyn Ask>);
        let package = package();
        let started =
            tokio::task::spawn_blocking(move || Session::start(settings, ask, helper).map(|s| s.with_package(package)))
                .await
                .map_err(|e| Error::from_reason(e.to_string()))?
                .map_err(Error::from_reason)?;
        started.set_request_filter(js_filter(filter, on_response));
        warnings.extend(started.start_warnings());
        if enable_log_monitor == Some(true) {
            // What cannot be watched is said, and the session goes on: the
            // rules hold either way; only their report is missing.
            if let Err(e) = started.watch_log() {
                warnings.push(e);
            }
        }
        let old = self.session.lock().map_err(|_| no_session())?.replace(Arc::new(started));
        if let Some(old) = old {
            tokio::task::spawn_blocking(move || drop(old));
        }
        Ok(SettingsResult { warnings, error: None })
    }

    /// Wraps `command`; resolves to the command line to run with a shell,
    /// and what the plan could not apply as written. The planning (a walk of
    /// the working directory) runs off the JS thread.
    #[napi]
    pub async fn wrap(
        &self,
        command: String,
        bin_shell: Option<String>,
        custom_config: Option<String>,
        command_id: Option<String>,
        cwd: Option<String>,
    ) -> Result<WrapResult> {
        let session = self.current()?;
        let failed =
            |e: srt_core::Error| WrapResult { command_line: None, warnings: Vec::new(), error: Some(e.into()) };
        let custom = match custom_config.as_deref().map(settings_from_json) {
            Some(Ok((settings, _))) => Some(settings),
            Some(Err(e)) => return Ok(failed(e)),
            None => None,
        };
        let wrapped = tokio::task::spawn_blocking(move || {
            let cwd = cwd.map(PathBuf::from);
            session.wrap(&command, bin_shell.as_deref(), custom.as_ref(), command_id.as_deref(), cwd)
        })
        .await
        .map_err(|e| Error::from_reason(e.to_string()))?;
        Ok(match wrapped {
            Ok(w) => WrapResult { command_line: Some(w.command_line), warnings: w.warnings, error: None },
            Err(e) => failed(e),
        })
    }

    /// One wrapped command ended.
    #[napi]
    pub fn cleanup_after_command(&self) {
        if let Ok(s) = self.current() {
            s.cleanup_after_command();
        }
    }

    /// New config (JSON text) for the next connections and wraps: its
    /// warnings, or the engine's error for a config it refuses.
    #[napi]
    pub fn update_config(
        &self,
        config: String,
        filter: Option<filter::NativeFilterCallback>,
        on_response: Option<filter::NativeResponseCallback>,
    ) -> Result<SettingsResult> {
        let (settings, mut warnings) = match settings_from_json(&config) {
            Ok(parsed) => parsed,
            Err(e) => return Ok(SettingsResult { warnings: Vec::new(), error: Some(e.into()) }),
        };
        let session = self.current()?;
        match session.update_config(settings) {
            Ok(more) => warnings.extend(more),
            Err(e) => return Ok(SettingsResult { warnings, error: Some(srt_core::Error::from(e).into()) }),
        }
        session.set_request_filter(js_filter(filter, on_response));
        Ok(SettingsResult { warnings, error: None })
    }

    /// Stops the proxies and removes what the wraps left on the host.
    #[napi]
    pub async fn reset(&self) -> Result<()> {
        let old = self.session.lock().map_err(|_| no_session())?.take();
        if let Some(old) = old {
            tokio::task::spawn_blocking(move || drop(old)).await.map_err(|e| Error::from_reason(e.to_string()))?;
        }
        Ok(())
    }

    #[napi]
    pub fn is_initialized(&self) -> bool {
        self.current().is_ok()
    }

    /// The last violations recorded (at most 100), oldest first.
    #[napi]
    pub fn violations(&self) -> Vec<NativeViolation> {
        let Ok(s) = self.current() else { return Vec::new() };
        s.recent_violations()
            .into_iter()
            .map(|v| NativeViolation {
                line: v.line,
                command: v.command,
                timestamp: v.at.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0),
            })
            .collect()
    }

    /// How many violations were ever recorded (the list keeps the last 100).
    #[napi]
    pub fn violation_total(&self) -> f64 {
        self.current().map(|s| s.violation_total() as f64).unwrap_or(0.0)
    }

    #[napi]
    pub fn register_command_network_lists(&self, command_id: String, allowed_domains: Vec<String>) -> Result<()> {
        self.current()?.register_command(&command_id, &allowed_domains).map_err(Error::from_reason)
    }

    #[napi]
    pub fn unregister_command_network_lists(&self, command_id: String) {
        if let Ok(s) = self.current() {
            s.unregister_command(&command_id);
        }
    }

    /// The session's bridge socket (where sandboxes hand over their proxy listeners).
    #[napi]
    pub fn bridge_socket_path(&self) -> Option<String> {
        self.current().ok().and_then(|s| s.bridge_socket().map(|p| p.display().to_string()))
    }

    /// The host ports commands reach the proxies on (macOS: srt's loopback
    /// listener, or the external ones the settings name), `[http, socks]`;
    /// none on Linux, where each sandbox's listeners are inside it.
    #[napi]
    pub fn proxy_ports(&self) -> Option<Vec<u32>> {
        let (http, socks) = self.current().ok()?.proxy_ports()?;
        Some(vec![u32::from(http), u32::from(socks)])
    }
}

impl Default for NativeSession {
    fn default() -> Self {
        Self::new()
    }
}
