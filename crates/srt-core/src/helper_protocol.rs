//! The contract between srt and its in-sandbox helper (`srt __sandbox-exec`,
//! see `helper`): the helper's options, the descriptor numbers srt hands
//! over, and the mount checks the helper makes before the command starts.
//! Both sides write and read them through this module only, so that the two
//! cannot drift apart.

use std::ffi::{OsStr, OsString};
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// The hidden subcommand that runs the helper.
pub const SUBCOMMAND: &str = "__sandbox-exec";

/// The descriptor bubblewrap writes its info (the sandbox's pid) to.
pub const INFO_FD: RawFd = 3;

/// The descriptor the helper writes one byte to once the sandbox is set up.
pub const READY_FD: RawFd = 5;

/// The descriptor the helper reads its mount checks from.
pub const EXPECT_FD: RawFd = 6;

/// The descriptor the helper hands the proxy listeners over (see `proxy::bridge`).
pub const BRIDGE_FD: RawFd = 7;

/// How srt and the helper reach each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Channel {
    /// The CLI starts bubblewrap itself and hands it [`READY_FD`],
    /// [`EXPECT_FD`] and [`BRIDGE_FD`].
    Descriptors,
    /// A library line, run later by its caller: no descriptors can be handed
    /// to it. The helper connects to the session's bridge socket with the
    /// wrap's token, reads its checks from a file, and runs only where the
    /// line may run (see `helper::cwd_verdict`).
    Paths { bridge_socket: PathBuf, token: String, checks: PathBuf, planned_cwd: PathBuf },
}

/// The helper's options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelperArgs {
    /// The sandbox has a terminal: the helper takes it and gives the command its own group.
    pub tty: bool,
    /// The seccomp filter refuses new Unix sockets.
    pub block_unix_sockets: bool,
    /// The seccomp filter lets the command make namespaces.
    pub allow_namespaces: bool,
    /// RLIMIT_NPROC for everything inside (see `limits`).
    pub max_processes: Option<u64>,
    /// None only when the helper is run by hand (tests): no checks, no proxies.
    pub channel: Option<Channel>,
    /// The command and its arguments.
    pub command: Vec<OsString>,
}

impl HelperArgs {
    /// The options as words, after the subcommand.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut out: Vec<OsString> = Vec::new();
        let mut pair = |flag: &str, value: OsString| out.extend([flag.into(), value]);
        if let Some(n) = self.max_processes {
            pair("--max-processes", n.to_string().into());
        }
        match &self.channel {
            Some(Channel::Descriptors) => {
                pair("--ready-fd", READY_FD.to_string().into());
                pair("--verify-fd", EXPECT_FD.to_string().into());
                pair("--bridge-fd", BRIDGE_FD.to_string().into());
            }
            Some(Channel::Paths { bridge_socket, token, checks, planned_cwd }) => {
                pair("--bridge-socket", bridge_socket.into());
                pair("--bridge-token", token.into());
                pair("--verify-file", checks.into());
                pair("--planned-cwd", planned_cwd.into());
            }
            None => {}
        }
        for (on, flag) in [
            (self.tty, "--tty"),
            (self.block_unix_sockets, "--block-unix-sockets"),
            (self.allow_namespaces, "--allow-namespaces"),
        ] {
            if on {
                out.push(flag.into());
            }
        }
        out.push("--".into());
        out.extend(self.command.iter().cloned());
        out
    }

    /// Reads the options [`to_args`](Self::to_args) wrote.
    pub fn parse(args: &[OsString]) -> Result<HelperArgs, String> {
        let mut parsed = HelperArgs {
            tty: false,
            block_unix_sockets: false,
            allow_namespaces: false,
            max_processes: None,
            channel: None,
            command: Vec::new(),
        };
        let mut fds: [Option<RawFd>; 3] = [None; 3];
        let mut paths: [Option<OsString>; 4] = Default::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let flag = arg.to_str().unwrap_or_default();
            let mut value = || iter.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag {
                "--ready-fd" | "--verify-fd" | "--bridge-fd" => {
                    let slot = ["--ready-fd", "--verify-fd", "--bridge-fd"].iter().position(|f| *f == flag);
                    let fd = value()?.to_str().and_then(|v| v.parse().ok());
                    fds[slot.unwrap_or(0)] = Some(fd.ok_or_else(|| format!("{flag} needs a descriptor number"))?);
                }
                "--bridge-socket" | "--bridge-token" | "--verify-file" | "--planned-cwd" => {
                    let names = ["--bridge-socket", "--bridge-token", "--verify-file", "--planned-cwd"];
                    paths[names.iter().position(|f| *f == flag).unwrap_or(0)] = Some(value()?.clone());
                }
                "--max-processes" => {
                    let n = value()?.to_str().and_then(|v| v.parse().ok());
                    parsed.max_processes = Some(n.ok_or("--max-processes needs a number")?);
                }
                "--tty" => parsed.tty = true,
                "--block-unix-sockets" => parsed.block_unix_sockets = true,
                "--allow-namespaces" => parsed.allow_namespaces = true,
                "--" => break,
                _ => return Err(format!("unknown helper option {arg:?}")),
            }
        }
        parsed.command = iter.cloned().collect();
        if parsed.command.is_empty() {
            return Err("no command".into());
        }
        parsed.channel = match (fds, paths) {
            ([None, None, None], [None, None, None, None]) => None,
            ([Some(READY_FD), Some(EXPECT_FD), Some(BRIDGE_FD)], [None, None, None, None]) => {
                Some(Channel::Descriptors)
            }
            ([None, None, None], [Some(socket), Some(token), Some(checks), Some(cwd)]) => Some(Channel::Paths {
                bridge_socket: socket.into(),
                token: token.into_string().map_err(|_| "--bridge-token is not text")?,
                checks: checks.into(),
                planned_cwd: cwd.into(),
            }),
            _ => {
                return Err(format!(
                    "the helper takes --ready-fd {READY_FD} --verify-fd {EXPECT_FD} --bridge-fd {BRIDGE_FD}, or --bridge-socket, --bridge-token, --verify-file and --planned-cwd, all of one set or none"
                ))
            }
        };
        Ok(parsed)
    }
}

/// One thing the helper checks in the sandbox before the command starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountCheck {
    /// At least this many mounts at this mount point: the planned ones, plus
    /// the host's own there.
    Mounts { at_least: u64, path: PathBuf },
    /// The bind at `path` shows the file its source was when srt planned it.
    Identity { dev: u64, ino: u64, path: PathBuf },
}

/// The checks as the helper reads them: `M <n> <path>` and `I <dev> <ino> <path>`
/// entries, each ended by a NUL (a path may hold any other byte).
pub fn encode_checks(checks: &[MountCheck]) -> Vec<u8> {
    let mut out = Vec::new();
    for check in checks {
        let (head, path) = match check {
            MountCheck::Mounts { at_least, path } => (format!("M {at_least} "), path),
            MountCheck::Identity { dev, ino, path } => (format!("I {dev} {ino} "), path),
        };
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(path.as_os_str().as_bytes());
        out.push(0);
    }
    out
}

/// Reads what [`encode_checks`] wrote.
pub fn decode_checks(bytes: &[u8]) -> Result<Vec<MountCheck>, String> {
    let number = |p: Option<&[u8]>| std::str::from_utf8(p.unwrap_or_default()).ok().and_then(|t| t.parse::<u64>().ok());
    let path = |p: &[u8]| PathBuf::from(OsStr::from_bytes(p));
    let mut checks = Vec::new();
    for entry in bytes.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let (kind, rest) = entry.split_at(2.min(entry.len()));
        let check = match kind {
            b"M " => {
                let mut parts = rest.splitn(2, |b| *b == b' ');
                match (number(parts.next()), parts.next()) {
                    (Some(at_least), Some(p)) if !p.is_empty() => MountCheck::Mounts { at_least, path: path(p) },
                    _ => return Err("a malformed plan entry".into()),
                }
            }
            b"I " => {
                let mut parts = rest.splitn(3, |b| *b == b' ');
                match (number(parts.next()), number(parts.next()), parts.next()) {
                    (Some(dev), Some(ino), Some(p)) if !p.is_empty() => {
                        MountCheck::Identity { dev, ino, path: path(p) }
                    }
                    _ => return Err("a malformed plan entry".into()),
                }
            }
            _ => return Err("a malformed plan entry".into()),
        };
        checks.push(check);
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn every_option_set_reads_back_as_written() {
        let library = Channel::Paths {
            bridge_socket: "/tmp/srt-0/s.sock".into(),
            token: "t0k".into(),
            checks: "/tmp/srt-0/wrap-1.checks".into(),
            planned_cwd: "/w/a dir".into(),
        };
        for channel in [None, Some(Channel::Descriptors), Some(library)] {
            for (tty, block, namespaces, max) in [(false, false, false, None), (true, true, true, Some(64))] {
                let args = HelperArgs {
                    tty,
                    block_unix_sockets: block,
                    allow_namespaces: namespaces,
                    max_processes: max,
                    channel: channel.clone(),
                    // A command word that looks like an option stays the command's.
                    command: words(&["sh", "-c", "echo --tty", "--"]),
                };
                assert_eq!(HelperArgs::parse(&args.to_args()), Ok(args.clone()), "{:?}", args.to_args());
            }
        }
    }

    #[test]
    fn the_cli_channel_is_written_with_its_fixed_descriptors() {
        let args = HelperArgs {
            tty: true,
            block_unix_sockets: true,
            allow_namespaces: false,
            max_processes: None,
            channel: Some(Channel::Descriptors),
            command: words(&["true"]),
        };
        let shown: Vec<String> = args.to_args().iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(shown.join(" "), "--ready-fd 5 --verify-fd 6 --bridge-fd 7 --tty --block-unix-sockets -- true");
    }

    #[test]
    fn half_a_channel_an_unknown_option_or_no_command_is_refused() {
        for bad in [
            &["--ready-fd", "5", "--", "true"][..],
            &["--ready-fd", "9", "--verify-fd", "6", "--bridge-fd", "7", "--", "true"],
            &["--bridge-socket", "/s", "--bridge-token", "t", "--", "true"],
            &["--ready-fd", "5", "--verify-fd", "6", "--bridge-fd", "7", "--planned-cwd", "/w", "--", "true"],
            &["--verify-fd", "x", "--", "true"],
            &["--max-processes"],
            &["--frobnicate", "--", "true"],
            &["--tty", "--"],
        ] {
            assert!(HelperArgs::parse(&words(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn checks_read_back_as_written_whatever_bytes_a_path_holds() {
        let odd = PathBuf::from(OsStr::from_bytes(b"/w/a b\xff\nc"));
        let checks = vec![
            MountCheck::Mounts { at_least: 3, path: "/w".into() },
            MountCheck::Identity { dev: 2049, ino: 77, path: odd.clone() },
            MountCheck::Mounts { at_least: 1, path: odd },
        ];
        assert_eq!(decode_checks(&encode_checks(&checks)), Ok(checks));
        assert_eq!(decode_checks(b""), Ok(vec![]));
        for bad in [&b"M x /w\0"[..], b"I 1 /w\0", b"X 1 /w\0", b"M 1 \0", b"M\0"] {
            assert!(decode_checks(bad).is_err(), "{bad:?}");
        }
    }
}
