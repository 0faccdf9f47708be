//! The native `srt` binary: the CLI, and the in-sandbox helper (a hidden
//! subcommand), over the same engine as the Node addon.

use std::ffi::OsString;

use srt_core::{cli, helper, runner};

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if cli::is_helper_invocation(args.first().map(OsString::as_os_str)) {
        std::process::exit(helper::main(&args[1..]));
    }
    let control = runner::RunControl::new();
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
    let code = cli::run_with_process_stdio(&args, helper, control);
    std::process::exit(code);
}
