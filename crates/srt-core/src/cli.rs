//! The `srt` command line, shared by the native binary and the Node shim:
//! `srt [--settings FILE] [--debug] [-c COMMAND] [--] COMMAND [ARGS...]`.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{self, load_settings_file, SettingsSource};
use crate::run_control::{HostStdio, RunControl};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub const HELP: &str = "\
srt: run a command in a sandbox (filesystem rules, no network), without a container.

Usage:
  srt [options] [--] COMMAND [ARGS...]   run COMMAND with ARGS, each argument kept intact
  srt [options] -c 'COMMAND STRING'      run a shell command string (bash, else sh)

Options:
  -s, --settings FILE   settings file (default: ~/.srt-settings.json; absent: built-in defaults)
  -d, --debug           debug logs on stderr (also SRT_DEBUG=1)
  -c COMMAND            run COMMAND with the shell
  --control-fd FD       read settings updates from the inherited descriptor FD
                        (>= 3) while the command runs: one JSON document per
                        line; its network rules apply from the next connection
  --print-profile OS    print the sandbox srt would make for COMMAND (default: true)
                        and exit, starting nothing: OS is macos (the Seatbelt
                        profile for sandbox-exec) or linux (bubblewrap's arguments)
  -h, --help            this help
  -V, --version         print the version

Options end at the first word that is not one, or at --: everything after
belongs to the command. The exit status is the command's own (128+N when it
dies of signal N); srt's own errors exit 1.
";

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Invocation {
    Help,
    Version,
    Run {
        settings: Option<PathBuf>,
        debug: bool,
        command: Command,
        /// `--control-fd`: where settings updates arrive.
        control_fd: Option<i32>,
    },
    /// `--print-profile OS`: the sandbox srt would make, printed, nothing started.
    Print {
        settings: Option<PathBuf>,
        target: Target,
        command: Command,
    },
}

/// Whose sandbox `--print-profile` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Macos,
    Linux,
}

/// The command to run inside.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// `-c STRING`: run with the shell.
    Shell(OsString),
    /// Positional words, passed as they are.
    Argv(Vec<OsString>),
    None,
}

/// Parses the arguments (without the program name).
pub fn parse_args(args: &[OsString]) -> Result<Invocation, String> {
    let mut settings = None;
    let mut debug = false;
    let mut shell = None;
    let mut print = None;
    let mut control_fd = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].to_string_lossy();
        let mut value = |name: &str| -> Result<OsString, String> {
            i += 1;
            args.get(i).cloned().ok_or(format!("option '{name}' needs a value"))
        };
        match arg.as_ref() {
            "--" => {
                i += 1;
                break;
            }
            "-h" | "--help" => return Ok(Invocation::Help),
            "-V" | "--version" => return Ok(Invocation::Version),
            "-d" | "--debug" => debug = true,
            "-s" | "--settings" => settings = Some(PathBuf::from(value(&arg)?)),
            "-c" => shell = Some(value("-c")?),
            "--control-fd" => control_fd = Some(crate::control_fd::parse(&value("--control-fd")?.to_string_lossy())?),
            a if a.starts_with("--control-fd=") => {
                control_fd = Some(crate::control_fd::parse(&a["--control-fd=".len()..])?)
            }
            "--print-profile" => print = Some(target(&value("--print-profile")?)?),
            a if a.starts_with("--print-profile=") => print = Some(target(OsStr::new(&a["--print-profile=".len()..]))?),
            a if a.starts_with("--settings=") => settings = Some(PathBuf::from(&a["--settings=".len()..])),
            a if a.starts_with('-') && a.len() > 1 => {
                return Err(format!("unknown option '{a}' (put the command after -- if it starts with '-')"));
            }
            _ => break,
        }
        i += 1;
    }
    let rest: Vec<OsString> = args[i.min(args.len())..].to_vec();
    let command = match (shell, rest.is_empty()) {
        (Some(s), true) => Command::Shell(s),
        (Some(_), false) => return Err("give either -c COMMAND or COMMAND [ARGS...], not both".into()),
        (None, false) => Command::Argv(rest),
        (None, true) => Command::None,
    };
    Ok(match print {
        Some(target) => Invocation::Print { settings, target, command },
        None => Invocation::Run { settings, debug, command, control_fd },
    })
}

fn target(word: &OsStr) -> Result<Target, String> {
    match word.to_str() {
        Some("macos") => Ok(Target::Macos),
        Some("linux") => Ok(Target::Linux),
        _ => Err(format!("--print-profile takes macos or linux, not {word:?}")),
    }
}

/// What the caller provides: the environment is read through it so the
/// addon and the binary behave the same.
pub struct CliContext {
    /// The in-sandbox helper (the native `srt` binary), or why it is missing.
    pub helper: Result<PathBuf, String>,
    pub stdio: HostStdio,
    pub control: Arc<RunControl>,
    /// srt's own files the front end knows of (see `launch::PrepareOptions`).
    pub package: Vec<PathBuf>,
}

/// One line on stderr; a closed stderr is not worth a panic.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"))
}

/// Runs the CLI with this process's standard streams; returns the exit status.
pub fn run_with_process_stdio(
    args: &[OsString],
    helper: Result<PathBuf, String>,
    control: Arc<RunControl>,
    package: Vec<PathBuf>,
) -> i32 {
    match HostStdio::dup_process_stdio() {
        Ok(stdio) => run(args, CliContext { helper, stdio, control, package }),
        Err(e) => {
            say(&format!("Error: cannot use the standard streams: {e}"));
            1
        }
    }
}

/// Runs the CLI; returns the process exit status.
pub fn run(args: &[OsString], ctx: CliContext) -> i32 {
    let mut err = std::io::stderr();
    let invocation = match parse_args(args) {
        Ok(i) => i,
        Err(e) => {
            let _ = writeln!(err, "Error: {e}\nRun 'srt --help' for usage.");
            return 1;
        }
    };
    let (settings_path, debug, command, control_fd) = match invocation {
        Invocation::Help => {
            let _ = std::io::stdout().write_all(HELP.as_bytes());
            return 0;
        }
        Invocation::Version => {
            let _ = writeln!(std::io::stdout(), "{VERSION}");
            return 0;
        }
        Invocation::Run { settings, debug, command, control_fd } => (settings, debug, command, control_fd),
        Invocation::Print { settings, target, command } => {
            crate::logging::init(env_flag("SRT_DEBUG"));
            return match print_profile(settings, target, command, &ctx) {
                Ok(text) => {
                    let _ = std::io::stdout().write_all(text.as_bytes());
                    0
                }
                Err(lines) => {
                    for line in lines {
                        let _ = writeln!(err, "{line}");
                    }
                    1
                }
            };
        }
    };
    crate::logging::init(debug || env_flag("SRT_DEBUG"));
    match run_command(settings_path, command, control_fd, ctx) {
        Ok(code) => code,
        Err(lines) => {
            for line in lines {
                let _ = writeln!(err, "{line}");
            }
            1
        }
    }
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// Where the settings come from: `--settings`, else `~/.srt-settings.json`.
fn settings_source(settings_path: Option<PathBuf>) -> Result<SettingsSource, Vec<String>> {
    Ok(match settings_path {
        Some(p) => SettingsSource::Explicit(p),
        None => match home_dir() {
            Some(h) => SettingsSource::Default(h.join(".srt-settings.json")),
            None => {
                return Err(vec![
                    "Error: HOME is not set, so ~/.srt-settings.json cannot be found; pass --settings FILE.".into(),
                ])
            }
        },
    })
}

/// The settings a run uses, through the one pipeline, with their remarks on stderr.
fn load_and_admit(source: &SettingsSource) -> Result<crate::config::Settings, Vec<String>> {
    let (parsed, from) = load_settings_file(source).map_err(|e| e.lines)?;
    let shown = from.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "built-in defaults".into());
    let admitted = config::admit(parsed, &shown).map_err(|e| vec![format!("Error: {e}")])?;
    for w in &admitted.warnings {
        say(&format!("srt: warning: {w}"));
    }
    for n in &admitted.notes {
        say(&format!("srt: note: {n}"));
    }
    Ok(admitted.settings)
}

fn run_command(
    settings_path: Option<PathBuf>,
    command: Command,
    control_fd: Option<i32>,
    ctx: CliContext,
) -> Result<i32, Vec<String>> {
    // The control channel is checked before anything is built.
    if let Some(fd) = control_fd {
        crate::control_fd::check(fd).map_err(|e| vec![format!("Error: {e}")])?;
    }
    let source = settings_source(settings_path)?;
    let settings = load_and_admit(&source)?;
    let argv = match command {
        Command::Shell(s) => vec![shell_path().into_os_string(), "-c".into(), s],
        Command::Argv(a) => a,
        Command::None => {
            return Err(vec!["Error: No command specified. Use -c <command> or provide command arguments.".into()]);
        }
    };
    tracing::debug!("command: {argv:?}");
    run_sandboxed(&settings, source.path(), argv, control_fd, ctx).map_err(|e| vec![format!("Error: {e}")])
}

/// `--print-profile`: the sandbox a run of `command` here would get, as text.
fn print_profile(
    settings_path: Option<PathBuf>,
    target: Target,
    command: Command,
    ctx: &CliContext,
) -> Result<String, Vec<String>> {
    let source = settings_source(settings_path)?;
    let settings = load_and_admit(&source)?;
    let argv = match command {
        Command::Shell(s) => vec![shell_path().into_os_string(), "-c".into(), s],
        Command::Argv(a) => a,
        Command::None => vec!["true".into()],
    };
    let error = |e: String| vec![format!("Error: {e}")];
    match target {
        Target::Macos => crate::launch::macos_profile(&settings, source.path(), &argv, &ctx.package).map_err(error),
        #[cfg(target_os = "linux")]
        Target::Linux => {
            crate::launch::linux_arguments(&settings, source.path(), argv, ctx.helper.clone(), &ctx.package)
                .map_err(|e| error(e.message))
        }
        // They are planned against this machine's disk and its bubblewrap.
        #[cfg(not(target_os = "linux"))]
        Target::Linux => {
            Err(error(format!("bubblewrap's arguments can be printed on Linux only, not on {}", std::env::consts::OS)))
        }
    }
}

/// `-c` uses bash like the original, or sh where there is no bash.
fn shell_path() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("bash"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/bin/sh"))
}

/// Whether an argument looks like the hidden helper subcommand.
pub fn is_helper_invocation(first: Option<&OsStr>) -> bool {
    first == Some(OsStr::new(crate::helper_protocol::SUBCOMMAND))
}

/// Runs `argv` in the sandbox described by `settings`; returns its status.
#[cfg(target_os = "linux")]
/// `settings_file`: where the settings were read from (or would have been):
/// read-only inside, or the command could loosen its next run's rules.
fn run_sandboxed(
    settings: &config::Settings,
    settings_file: &std::path::Path,
    argv: Vec<OsString>,
    control_fd: Option<i32>,
    ctx: CliContext,
) -> Result<i32, String> {
    use crate::runner::{self, RunOutcome};
    use crate::sandbox::linux::bwrap;

    let net_config = crate::proxy::NetConfig::from_settings(settings, |k| std::env::var(k).ok())?;
    for w in &net_config.warnings {
        say(&format!("srt: warning: {w}"));
    }
    let helper = ctx.helper.clone()?;
    let tty = runner::wants_tty(&ctx.stdio);
    // The proxies first: with `tlsTerminate` their CA goes into the sandbox's trust.
    let store = crate::violations::Store::with_ignore(settings.ignore_violations.clone().unwrap_or_default());
    let proxy = crate::proxy::Proxy::for_session(settings, net_config, None, std::sync::Arc::new(store))?;
    let bundle = match proxy.terminator() {
        Some(t) => {
            let registry = crate::sandbox::linux::placeholders::Registry::open()?;
            Some(crate::proxy::tls::bundle_file(registry.dir(), &t.bundle_pem)?)
        }
        None => None,
    };
    let also_protect = [settings_file.to_path_buf()];
    let hide = proxy.terminator().map(|t| t.secret_files()).unwrap_or_default();
    let options = crate::launch::PrepareOptions {
        also_protect: &also_protect,
        package: &ctx.package,
        trust_bundle: bundle.as_ref().map(|b| b.path()),
        hide: &hide,
        sentinels: Some(&proxy.sentinels),
        ..Default::default()
    };
    let mut prepared =
        crate::launch::prepare(settings, argv, helper, &crate::launch::Handover::Descriptors { tty }, options)
            .map_err(|e| e.message)?;
    for w in &prepared.warnings {
        say(&format!("srt: warning: {w}"));
    }
    // Made before bubblewrap starts, removed when the run ends.
    let cgroups = crate::limits::Cgroups::create(&prepared.limits)?;
    let confinement = runner::Confinement {
        procs: cgroups.procs()?,
        prefix: match prepared.limits.systemd_run() {
            Some(run) => prepared.limits.scope_prefix(crate::limits::systemd_version(run)).unwrap_or_default(),
            None => Vec::new(),
        },
    };
    if !cgroups.dirs().is_empty() {
        tracing::debug!("limits: the sandbox runs in {:?}", cgroups.dirs());
    }
    let client = crate::proxy::Client::new(Some(prepared.key.clone()));
    let (mut network, bridge) = crate::proxy::session::SandboxNetwork::start(proxy.clone(), client)
        .map_err(|e| format!("cannot start the network proxies: {e}"))?;
    // Updates read only now: one applied earlier would be overwritten by the start.
    let control_failed = control_fd.map(|fd| crate::control_fd::listen(fd, proxy.clone(), ctx.control.clone()));
    let lock = Box::new(prepared.claim.take_lock());
    let start = runner::Start { argv: &prepared.argv, expectations: &prepared.expectations, confinement: &confinement };
    let outcome = runner::run(start, ctx.stdio, tty, &ctx.control, lock, Some(bridge));
    // srt stopped the command over a dead control channel: not its result.
    let outcome = match control_failed {
        Some(failed) if failed.load(std::sync::atomic::Ordering::SeqCst) => Ok(RunOutcome::Exited(1)),
        _ => outcome,
    };
    let (scoped, in_cgroup) = (!confinement.prefix.is_empty(), !cgroups.dirs().is_empty());
    drop(confinement);
    drop(cgroups);
    network.stop();
    for line in proxy.violations.summary() {
        say(&line);
    }
    if matches!(outcome, Ok(RunOutcome::Exited(code)) if code != 0) {
        for line in crate::hints::after_failure(&prepared.key, prepared.protected) {
            say(&line);
        }
    }
    drop(prepared);
    drop(bundle);
    match outcome {
        Ok(RunOutcome::Exited(code)) => Ok(code),
        Ok(RunOutcome::SetupFailed(code)) if scoped => Err(format!(
            "bubblewrap, started by systemd-run in a user scope for the sandbox's limits, could not create the sandbox (exit {code}; the message above says whose)"
        )),
        Ok(RunOutcome::SetupFailed(code)) => Err(format!(
            "bubblewrap could not create the sandbox (it exited {code}; its own message is above). If it could not create namespaces: {}",
            bwrap::USERNS_HINT
        )),
        Err(e) if in_cgroup => Err(format!("could not start bubblewrap in the sandbox's cgroup: {e}")),
        Err(e) => Err(format!("could not start bubblewrap: {e}")),
    }
}

/// Runs `argv` under `sandbox-exec`; returns its status. Seatbelt's denials
/// are listed in the exit summary beside the proxies' refusals.
#[cfg(target_os = "macos")]
fn run_sandboxed(
    settings: &config::Settings,
    settings_file: &std::path::Path,
    argv: Vec<OsString>,
    control_fd: Option<i32>,
    ctx: CliContext,
) -> Result<i32, String> {
    if control_fd.is_some() {
        return Err("--control-fd is not supported on macOS yet".into());
    }
    use crate::sandbox::macos::{backend, session::MacTools};
    let cwd = std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let mut protect = ctx.package.clone();
    protect.push(cwd.join(settings_file));
    let run = backend::MacRun {
        settings,
        argv: &argv,
        cwd,
        helper: ctx.helper.clone()?,
        protect,
        tools: MacTools::system(),
        watch_log: true,
    };
    let outcome = backend::run(run, ctx.stdio, &ctx.control)?;
    for w in &outcome.warnings {
        say(&format!("srt: warning: {w}"));
    }
    for line in &outcome.summary {
        say(line);
    }
    Ok(outcome.status)
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn run_sandboxed(_: &config::Settings, _: &std::path::Path, _: Vec<OsString>, _: CliContext) -> Result<i32, String> {
    Err(format!(
        "srt-rs cannot sandbox commands on {} yet; refusing to run the command unsandboxed",
        std::env::consts::OS
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<Invocation, String> {
        parse_args(&words.iter().map(OsString::from).collect::<Vec<_>>())
    }

    fn argv(words: &[&str]) -> Command {
        Command::Argv(words.iter().map(OsString::from).collect())
    }

    #[test]
    fn options_end_at_the_command() {
        assert_eq!(
            parse(&["-s", "f.json", "ls", "-la", "--settings", "x"]).unwrap(),
            Invocation::Run {
                settings: Some("f.json".into()),
                debug: false,
                command: argv(&["ls", "-la", "--settings", "x"]),
                control_fd: None,
            }
        );
        assert_eq!(
            parse(&["--debug", "--", "-weird", "a"]).unwrap(),
            Invocation::Run { settings: None, debug: true, command: argv(&["-weird", "a"]), control_fd: None }
        );
        assert_eq!(
            parse(&["--settings=a.json", "-c", "echo $HOME"]).unwrap(),
            Invocation::Run {
                settings: Some("a.json".into()),
                debug: false,
                command: Command::Shell("echo $HOME".into()),
                control_fd: None,
            }
        );
        assert_eq!(
            parse(&["-d"]).unwrap(),
            Invocation::Run { settings: None, debug: true, command: Command::None, control_fd: None }
        );
        assert_eq!(
            parse(&["--control-fd", "3", "true"]).unwrap(),
            Invocation::Run { settings: None, debug: false, command: argv(&["true"]), control_fd: Some(3) }
        );
        assert!(parse(&["--control-fd=2", "true"]).unwrap_err().contains(">= 3"));
    }

    #[test]
    fn help_version_and_errors() {
        assert_eq!(parse(&["--help"]).unwrap(), Invocation::Help);
        assert_eq!(parse(&["-V"]).unwrap(), Invocation::Version);
        assert!(parse(&["--nope", "ls"]).unwrap_err().contains("unknown option '--nope'"));
        assert!(parse(&["--settings"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["-c", "ls", "extra"]).unwrap_err().contains("not both"));
    }
}
