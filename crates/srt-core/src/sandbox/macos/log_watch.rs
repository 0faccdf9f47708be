//! Running `log stream` for a session's denials, read on a thread into the
//! violation store (what `log_monitor` parses, from a live stream).

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use super::log_monitor::{log_stream_args, parse_lines};
use crate::violations::Store;

/// A `log stream` process and the thread that reads it.
pub struct LogWatch {
    child: std::process::Child,
    reader: std::thread::JoinHandle<()>,
}

impl LogWatch {
    /// Starts `log` (macOS's `/usr/bin/log`) streaming denials whose tag
    /// ends with `suffix`; each goes to `store`.
    pub fn start(log: &Path, suffix: &str, store: Arc<Store>) -> Result<LogWatch, String> {
        let mut child = std::process::Command::new(log)
            .args(log_stream_args(suffix))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start {} to watch the sandbox's denials: {e}", log.display()))?;
        let out = child.stdout.take().ok_or("the log stream has no output")?;
        let suffix = suffix.to_string();
        let reader = std::thread::Builder::new()
            .name("srt-log-watch".into())
            .spawn(move || {
                let mut reader = std::io::BufReader::new(out);
                let mut raw = Vec::new();
                let mut pending = String::new();
                // Byte lines, decoded leniently: a path that is not UTF-8
                // must not end the watch.
                while matches!(reader.read_until(b'\n', &mut raw), Ok(n) if n > 0) {
                    let line = String::from_utf8_lossy(&raw).trim_end_matches('\n').to_string();
                    raw.clear();
                    pending.push_str(&line);
                    pending.push('\n');
                    // A denial and its tag may come on two lines: read them
                    // together, and only this session's (the predicate asks
                    // for them alone already).
                    if line.contains("CMD64_") {
                        if line.contains(&suffix) {
                            for d in parse_lines(&pending) {
                                let what = format!("{} {}", d.operation, d.target);
                                store.sandbox_denied(&d.line, d.command.as_deref(), &what);
                            }
                        }
                        pending.clear();
                    }
                }
            })
            .map_err(|e| format!("cannot start the log reader: {e}"))?;
        Ok(LogWatch { child, reader })
    }

    /// Ends the stream. The kernel logs a denial as it happens, but the
    /// stream lags it: a moment's grace lets the last ones in.
    pub fn stop(mut self) {
        std::thread::sleep(std::time::Duration::from_millis(150));
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.reader.join();
    }
}
