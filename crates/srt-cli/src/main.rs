//! The native `srt` binary: the CLI, and the in-sandbox helper (a hidden
//! subcommand), over the same engine as the Node addon.

use std::ffi::OsString;

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    #[cfg(target_os = "linux")]
    if srt_core::is_helper_invocation(args.first().map(OsString::as_os_str)) {
        std::process::exit(srt_core::helper_main(&args[1..]));
    }
    // ssh's ProxyCommand inside the sandbox.
    if args.first().is_some_and(|a| a == srt_core::CONNECT_SUBCOMMAND) {
        std::process::exit(srt_core::proxy_connect_main(&args[1..]));
    }
    // For the benchmark: the protected-path scan alone, on a directory.
    #[cfg(target_os = "linux")]
    if args.first().is_some_and(|a| a == "__scan") {
        std::process::exit(scan(&args[1..]));
    }
    let control = srt_core::RunControl::new();
    let forwarded =
        [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2, libc::SIGWINCH];
    match signal_hook::iterator::Signals::new(forwarded) {
        Ok(mut signals) => {
            let control = control.clone();
            std::thread::spawn(move || {
                for signo in signals.forever() {
                    control.signal(signo);
                }
            });
        }
        Err(e) => {
            eprintln!("Error: cannot install signal handlers: {e}");
            std::process::exit(1);
        }
    }
    let helper = std::env::current_exe().map_err(|e| format!("cannot find the srt binary itself: {e}"));
    // No package: the npm bin names its own through SRT_PACKAGE_ROOT.
    let code = srt_core::run_with_process_stdio(&args, helper, control, Vec::new());
    std::process::exit(code);
}

/// `srt __scan DIR [DEPTH]`: runs the mandatory-deny scan and prints what it found.
#[cfg(target_os = "linux")]
fn scan(args: &[OsString]) -> i32 {
    use srt_core::{mandatory, HostFs};
    let Some(dir) = args.first() else {
        eprintln!("usage: srt __scan DIR [DEPTH]");
        return 2;
    };
    let depth = args.get(1).and_then(|d| d.to_str()?.parse().ok()).unwrap_or(3);
    let found = mandatory::scan(&HostFs, std::path::Path::new(dir), depth, false, mandatory::RootNames::ALL);
    println!(
        "protected {} (nested {}), missing {}, unreadable {}",
        found.existing.len() + found.nested.len(),
        found.nested.len(),
        found.missing.len(),
        found.unreadable.len()
    );
    0
}
