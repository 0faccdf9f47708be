//! The Node addon: a thin napi binding over srt-core. Binding code only:
//! argument conversion, the helper's location, and the run registry that
//! JavaScript delivers signals to.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

use napi::bindgen_prelude::*;
use napi_derive::napi;
use srt_core::{cli, runner};

/// Runs in progress, so `signalCli` can reach them. Weak: a finished run is gone.
static ACTIVE_RUNS: Mutex<Vec<Weak<runner::RunControl>>> = Mutex::new(Vec::new());

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
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr with the address of a function in this shared object.
    let found = unsafe { libc::dladdr(helper_path as *const libc::c_void, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    use std::os::unix::ffi::OsStrExt;
    let path = PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes()));
    std::fs::canonicalize(&path).ok().or(Some(path))
}

/// Runs the `srt` command line (arguments without the program name) and
/// resolves to its exit status. The command inherits this process's standard
/// streams. Signals are not caught here: the caller passes them on with
/// `signalCli` (the `srt` shim does).
#[napi]
pub async fn run_cli(args: Vec<String>) -> Result<i32> {
    let args: Vec<OsString> = args.into_iter().map(OsString::from).collect();
    let control = runner::RunControl::new();
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
            let code = cli::run_with_process_stdio(&args, helper, control);
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

/// The version of srt-rs.
#[napi]
pub fn version() -> String {
    cli::VERSION.to_string()
}
