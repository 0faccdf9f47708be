//! `git.safeDirectories`: directories git inside the sandbox may treat as
//! safe though another user owns them, through git's environment config
//! (`GIT_CONFIG_COUNT`, `GIT_CONFIG_KEY_n`, `GIT_CONFIG_VALUE_n`), after the
//! entries the caller's environment already holds. The original's rules:
//! each directory and everything below it (`dir/*`); more than eight
//! directories become one `*`; a caller's `GIT_CONFIG_COUNT=0` adds nothing.

use std::path::{Path, PathBuf};

use crate::config::{PathEntry, Settings};

/// More directories than this become one `*`.
const MOST: usize = 8;

/// The variables for the settings' `git.safeDirectories` as written (`~`
/// and relative ones resolved against `home` and `cwd`), after the
/// `inherited_count` entries the caller's environment holds.
pub fn settings_env(
    settings: &Settings,
    cwd: &Path,
    home: &Path,
    inherited_count: Option<&str>,
) -> Vec<(String, String)> {
    let dirs: Vec<PathBuf> = settings
        .git
        .iter()
        .flat_map(|g| &g.safe_directories)
        .map(|d| crate::sandbox::paths::absolute(&PathEntry::Literal(d.clone()), cwd, home))
        .collect();
    safe_directory_env(&dirs, inherited_count)
}

/// The variables to set, after `inherited_count` entries the caller has.
pub fn safe_directory_env(dirs: &[PathBuf], inherited_count: Option<&str>) -> Vec<(String, String)> {
    if dirs.is_empty() {
        return Vec::new();
    }
    let start = match inherited_count.map(|c| c.trim().parse::<usize>()) {
        Some(Ok(0)) => return Vec::new(),
        Some(Ok(n)) => n,
        // None set, or one git would reject anyway: ours start the list.
        _ => 0,
    };
    let values: Vec<String> = if dirs.len() > MOST {
        vec!["*".into()]
    } else {
        dirs.iter().flat_map(|d| [d.display().to_string(), format!("{}/*", d.display())]).collect()
    };
    let mut env = vec![("GIT_CONFIG_COUNT".to_string(), (start + values.len()).to_string())];
    for (i, value) in values.into_iter().enumerate() {
        env.push((format!("GIT_CONFIG_KEY_{}", start + i), "safe.directory".into()));
        env.push((format!("GIT_CONFIG_VALUE_{}", start + i), value));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(n: usize) -> Vec<PathBuf> {
        (0..n).map(|i| PathBuf::from(format!("/w/r{i}"))).collect()
    }

    #[test]
    fn each_directory_and_what_is_below_it_after_the_callers_entries() {
        assert_eq!(
            safe_directory_env(&dirs(1), Some("2")),
            [
                ("GIT_CONFIG_COUNT", "4"),
                ("GIT_CONFIG_KEY_2", "safe.directory"),
                ("GIT_CONFIG_VALUE_2", "/w/r0"),
                ("GIT_CONFIG_KEY_3", "safe.directory"),
                ("GIT_CONFIG_VALUE_3", "/w/r0/*"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert_eq!(safe_directory_env(&dirs(8), None)[0], ("GIT_CONFIG_COUNT".into(), "16".into()));
    }

    #[test]
    fn many_directories_become_one_star_and_a_callers_zero_adds_nothing() {
        let many = safe_directory_env(&dirs(9), None);
        assert_eq!(many.len(), 3);
        assert_eq!(many[2], ("GIT_CONFIG_VALUE_0".into(), "*".into()));
        assert!(safe_directory_env(&dirs(3), Some("0")).is_empty());
        assert!(safe_directory_env(&[], None).is_empty());
        assert_eq!(safe_directory_env(&dirs(1), Some("x"))[0].1, "2");
    }
}
