//! Where start-up files take effect besides the user's own home: the homes
//! of the machine's other accounts (a shell started for them reads theirs),
//! zsh's `ZDOTDIR`, and the files the environment names (ripgrep's config,
//! git's global config, the scripts `sh` and `bash` source). Pure: the
//! caller hands in the environment and `/etc/passwd`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Variables that name a file a tool reads (and runs, for `BASH_ENV`/`ENV`) at start-up.
pub const FILE_VARIABLES: &[&str] = &["RIPGREP_CONFIG_PATH", "GIT_CONFIG_GLOBAL", "BASH_ENV", "ENV"];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StartupPlaces {
    /// Directories a shell reads start-up files from (as written, unresolved).
    pub homes: Vec<PathBuf>,
    /// Files (and git's XDG config directory) tools read at start-up.
    pub files: Vec<PathBuf>,
}

/// Login shells that start no shell, whose accounts' homes are no shell's.
fn starts_no_shell(shell: &[u8]) -> bool {
    shell.is_empty() || shell.ends_with(b"/nologin") || shell.ends_with(b"/false")
}

/// Reads the places from the environment (`var`) and the accounts file.
pub fn startup_places(var: &dyn Fn(&str) -> Option<OsString>, passwd: &[u8]) -> StartupPlaces {
    let absolute = |v: OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let mut places = StartupPlaces::default();
    places.homes.extend(var("ZDOTDIR").and_then(absolute));
    for line in passwd.split(|b| *b == b'\n') {
        // name:password:uid:gid:gecos:home:shell
        let fields: Vec<&[u8]> = line.split(|b| *b == b':').collect();
        if let [_, _, _, _, _, home, shell] = fields[..] {
            if !starts_no_shell(shell) && home.first() == Some(&b'/') {
                places.homes.push(PathBuf::from(std::ffi::OsStr::from_bytes(home)));
            }
        }
    }
    places.files.extend(FILE_VARIABLES.iter().filter_map(|v| var(v)).filter_map(absolute));
    // git reads `$XDG_CONFIG_HOME/git/config` (and attributes, ignore) where that is moved.
    places.files.extend(var("XDG_CONFIG_HOME").and_then(absolute).map(|p| p.join("git")));
    places.homes.sort();
    places.homes.dedup();
    places
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homes_of_accounts_that_start_a_shell_and_the_files_variables_name() {
        let passwd = b"root:x:0:0:root:/root:/bin/bash\n\
            daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
            www:x:33:33::/var/www:/bin/false\n\
            alice:x:1000:1000:Alice,,,:/home/alice:/bin/zsh\n\
            odd:x:1001:1001::relative:/bin/sh\n\
            broken line\n\
            bob:x:1002:1002::/home/bob:\n";
        let env = |name: &str| -> Option<OsString> {
            match name {
                "ZDOTDIR" => Some("/home/alice/.config/zsh".into()),
                "RIPGREP_CONFIG_PATH" => Some("/home/alice/proj/rg.conf".into()),
                "BASH_ENV" => Some("relative/env.sh".into()),
                "XDG_CONFIG_HOME" => Some("/cfg".into()),
                _ => None,
            }
        };
        let places = startup_places(&env, passwd);
        let homes: Vec<PathBuf> = ["/home/alice", "/home/alice/.config/zsh", "/root"].map(PathBuf::from).into();
        assert_eq!(places.homes, homes);
        assert_eq!(places.files, ["/home/alice/proj/rg.conf", "/cfg/git"].map(PathBuf::from));
    }
}
