//! A whole run, planned: from the facts `launch` gathers (the settings, the
//! registry, live runs, where bubblewrap and the helper are) to everything
//! the run does: the filesystem plan, the mounts that hide srt's registry,
//! the helper's options, the environment, bubblewrap's arguments and the
//! placeholders to claim. Pure, like the filesystem plan it builds on, so
//! that every rule a run follows is seen by the golden tests; `launch` only
//! gathers the facts and carries the plan out.

use std::ffi::OsString;
use std::path::PathBuf;

use super::bwrap;
use super::paths::FsView;
use super::plan::{self, Mount, Plan, PlanInput};
use super::startup_places::StartupPlaces;
use crate::config::Settings;
use crate::error::{Error, ErrorCode};
use crate::helper_protocol::{self, Channel, HelperArgs};

/// Where bubblewrap is, and who chose it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BwrapFound {
    pub path: PathBuf,
    /// The path with every link resolved.
    pub real: PathBuf,
    /// The settings named it (`bwrapPath`): the caller's trust, not srt's search.
    pub named: bool,
}

/// What srt knows before it plans a run.
#[derive(Clone, Debug)]
pub struct RunFacts<'a> {
    pub settings: &'a Settings,
    /// The working directory, resolved.
    pub cwd: PathBuf,
    /// The home directory, resolved.
    pub home: PathBuf,
    /// The sandbox's TMPDIR, and the shared directory it lies in (see [`PlanInput`]).
    pub tmpdir: Option<PathBuf>,
    pub shared_tmp: Option<PathBuf>,
    /// The helper binary (srt itself).
    pub helper: PathBuf,
    /// srt's registry of placeholders (`/tmp/srt-<uid>`), with the empty
    /// directory and the named pipe placeholders are bound from.
    pub registry: PathBuf,
    pub empty_dir: PathBuf,
    pub empty_pipe: PathBuf,
    /// srt's own files: the helper's directory, the package that launched it.
    pub own_paths: Vec<PathBuf>,
    /// Placeholders live runs rely on, and whether each is still where it was
    /// made (no link on the way).
    pub live: Vec<(PathBuf, bool)>,
    /// More paths to keep read-only: the settings file in use.
    pub also_protect: Vec<PathBuf>,
    /// Where start-up files take effect besides home.
    pub startup: StartupPlaces,
    pub bwrap: BwrapFound,
    /// bubblewrap keeps the command from making user namespaces.
    pub disable_userns: bool,
    /// How srt and the helper reach each other, and whether there is a terminal.
    pub channel: Channel,
    pub tty: bool,
    /// RLIMIT_NPROC the helper sets, when no cgroup holds the process limit.
    pub max_processes: Option<u64>,
    /// The caller's `JAVA_TOOL_OPTIONS`, kept before srt's proxy properties.
    pub java_tool_options: Option<String>,
    /// The caller's `GIT_CONFIG_COUNT`: `git.safeDirectories` entries follow its own.
    pub git_config_count: Option<String>,
    /// The caller's `GIT_SSH_COMMAND`, kept with srt's proxy after it.
    pub git_ssh_command: Option<String>,
    /// With `tlsTerminate`: the CA bundle the sandbox trusts (system roots
    /// and the session's CA), a file in the registry, shown read-only.
    pub trust_bundle: Option<PathBuf>,
    /// Credential variables: masked ones set to their sentinels, denied ones unset.
    pub credential_env: crate::credentials::CredentialEnv,
    /// Masked credential files: (fake, real), the fake bound read-only over the real.
    pub masked_files: Vec<(PathBuf, PathBuf)>,
    pub command: Vec<OsString>,
}

/// Everything a run does.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// The mounts (the registry's included), the environment, the placeholders.
    pub fs: Plan,
    /// bubblewrap's whole argument vector, bubblewrap first.
    pub argv: Vec<OsString>,
    /// Placeholders to record as this run's: its own, and live runs' it
    /// mounts over or beneath (they must outlive it too).
    pub claimed: Vec<PathBuf>,
    /// What the failure hints speak of.
    pub protected: crate::hints::Protected,
    /// The command as violations name it.
    pub key: String,
    /// Why the run must not start, if it must not.
    pub refusal: Option<Error>,
}

/// Plans the run.
pub fn plan_run(facts: &RunFacts<'_>, fs: &dyn FsView) -> RunPlan {
    let settings = facts.settings;
    // srt itself: a command that could rewrite srt's files (a package inside
    // a writable project's node_modules) would run code outside the sandbox
    // the next time srt starts. Other sandboxes' placeholders too: removing
    // one on the host undoes its mount in that sandbox. Only those still
    // where they were made: one moved or gone is no mount of theirs any
    // more, and must not get in this run's way.
    let mut protect = vec![facts.registry.clone()];
    protect.extend(facts.own_paths.iter().cloned());
    protect.extend(facts.live.iter().filter(|(_, in_place)| *in_place).map(|(p, _)| p.clone()));
    protect.extend(facts.also_protect.iter().map(|p| facts.cwd.join(p)));
    let input = PlanInput {
        settings,
        cwd: facts.cwd.clone(),
        home: facts.home.clone(),
        tmpdir: facts.tmpdir.clone(),
        shared_tmp: facts.shared_tmp.clone(),
        helper: facts.helper.clone(),
        empty_dir: facts.empty_dir.clone(),
        empty_pipe: facts.empty_pipe.clone(),
        protect,
        startup: facts.startup.clone(),
    };
    let mut fs_plan = plan::plan(&input, fs);
    if !facts.bwrap.named && settings.filesystem.disabled != Some(true) {
        // This very sandbox could replace a bwrap it may write, for the next run.
        let BwrapFound { path, real, .. } = &facts.bwrap;
        if let Some(root) = fs_plan.write_roots.iter().find(|r| real.starts_with(r) || path.starts_with(r)) {
            fs_plan.errors.push(format!(
                "bubblewrap was found at {}, inside {} which this sandbox may write: a command could replace it, and bwrap runs outside the sandbox; name the bwrap you trust with \"bwrapPath\" in the settings",
                path.display(),
                root.display()
            ));
        }
    }
    // srt's registry is none of the command's business: hidden, so that it
    // can neither hold its lock (and stall every srt of this user) nor see
    // other sessions' sockets. A library line gets its socket and checks back.
    fs_plan.mounts.push(Mount::Tmpfs(facts.registry.clone()));
    if let Channel::Paths { bridge_socket, checks, .. } = &facts.channel {
        fs_plan.mounts.push(Mount::RoBind(bridge_socket.clone(), bridge_socket.clone()));
        fs_plan.mounts.push(Mount::RoBind(checks.clone(), checks.clone()));
    }
    if let Some(bundle) = &facts.trust_bundle {
        fs_plan.mounts.push(Mount::RoBind(bundle.clone(), bundle.clone()));
        let path = bundle.display().to_string();
        fs_plan.env.extend(crate::proxy::tls::CA_TRUST_VARS.iter().map(|v| (v.to_string(), path.clone())));
    }
    for (fake, real) in &facts.masked_files {
        fs_plan.mounts.push(Mount::RoBind(fake.clone(), real.clone()));
    }
    fs_plan.mounts.push(Mount::RemountRo(facts.registry.clone()));
    // The caller's values srt extends, unless they are credentials.
    let caller = |name: &str, value: &Option<String>| facts.credential_env.caller_part(name, value.clone());
    let ssh_proxy = crate::proxy::env::ssh_proxy_command(&facts.helper);
    let git_ssh = caller("GIT_SSH_COMMAND", &facts.git_ssh_command);
    fs_plan.env.extend(crate::proxy::env::proxy_env(&ssh_proxy, git_ssh.as_deref()));
    let java = crate::proxy::env::java_tool_options(caller("JAVA_TOOL_OPTIONS", &facts.java_tool_options).as_deref());
    fs_plan.env.push(("JAVA_TOOL_OPTIONS".into(), java));
    // Directories git may treat as safe.
    let git_count = caller("GIT_CONFIG_COUNT", &facts.git_config_count);
    let git_count = git_count.as_deref();
    fs_plan.env.extend(crate::sandbox::git_safe::settings_env(settings, &facts.cwd, &facts.home, git_count));
    // Last: a masked variable's sentinel wins over anything above.
    fs_plan.env.extend(facts.credential_env.set.iter().cloned());
    fs_plan.unset_env.extend(facts.credential_env.unset.iter().cloned());

    let helper = HelperArgs {
        tty: facts.tty,
        block_unix_sockets: settings.network.allow_all_unix_sockets != Some(true),
        allow_namespaces: settings.allow_nested_user_namespaces == Some(true),
        max_processes: facts.max_processes,
        channel: Some(facts.channel.clone()),
        command: facts.command.clone(),
    };
    let mut helper_argv: Vec<OsString> = vec![facts.helper.clone().into(), helper_protocol::SUBCOMMAND.into()];
    helper_argv.extend(helper.to_args());
    let launch = bwrap::Launch {
        bwrap: facts.bwrap.path.clone(),
        info_fd: (facts.channel == Channel::Descriptors).then_some(helper_protocol::INFO_FD),
        cwd: facts.cwd.clone(),
        disable_userns: facts.disable_userns,
        helper_argv,
    };
    let argv = bwrap::argv(&fs_plan, &launch);

    let mut claimed = fs_plan.placeholders.clone();
    claimed.extend(
        facts
            .live
            .iter()
            .map(|(p, _)| p)
            .filter(|l| fs_plan.mounts.iter().any(|m| plan::mount_dest(m).starts_with(l)))
            .cloned(),
    );
    let protected = crate::hints::Protected {
        no_repository_here: fs_plan.placeholders.contains(&facts.cwd.join(".git")),
        git_config: fs_plan
            .mounts
            .iter()
            .any(|m| matches!(m, Mount::RoBind(_, d) if *d == facts.cwd.join(".git/config"))),
    };
    let options = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    let refusal = if !fs_plan.errors.is_empty() {
        Some(Error::refused(ErrorCode::Refused, &fs_plan.errors))
    } else if options > bwrap::MAX_ARGS {
        Some(Error::new(
            ErrorCode::TooManyArguments,
            format!(
                "the sandbox needs {options} bubblewrap arguments ({} mounts), more than the {} bubblewrap accepts: deny or allow whole directories rather than many files in them",
                fs_plan.mounts.len(),
                bwrap::MAX_ARGS
            ),
        ))
    } else {
        None
    };
    let key = facts.command.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ");
    RunPlan { fs: fs_plan, argv, claimed, protected, key, refusal }
}

#[cfg(test)]
#[path = "run_plan_tests.rs"]
mod tests;
