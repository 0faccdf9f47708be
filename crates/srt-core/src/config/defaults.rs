//! The original's default write paths (reference §2.10), in one place: the
//! planner makes them writable, and the library reports them as written.

use std::ffi::OsString;

/// Variables that name the shared temporary directory, first set wins.
pub const TMPDIR_VARIABLES: &[&str] = &["CLAUDE_CODE_TMPDIR", "CLAUDE_TMPDIR"];

/// The shared temporary directory when no variable names one.
pub const SHARED_TMPDIR: &str = "/tmp/claude";

/// The default write paths below home.
pub const HOME_WRITE_PATHS: &[&str] = &[".npm/_logs", ".claude/debug"];

/// The named temporary directory, if a variable names one.
pub fn named_tmpdir(var: &dyn Fn(&str) -> Option<OsString>) -> Option<OsString> {
    TMPDIR_VARIABLES.iter().find_map(|k| var(k).filter(|v| !v.is_empty()))
}

/// The default write paths as the settings would name them (`getDefaultWritePaths()`).
pub fn default_write_paths(var: &dyn Fn(&str) -> Option<OsString>) -> Vec<String> {
    let tmp = named_tmpdir(var).map(|v| v.to_string_lossy().into_owned()).unwrap_or_else(|| SHARED_TMPDIR.into());
    let mut paths = vec![tmp];
    paths.extend(HOME_WRITE_PATHS.iter().map(|p| format!("~/{p}")));
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temporary_directory_a_variable_names_comes_first() {
        let none = |_: &str| None;
        assert_eq!(default_write_paths(&none), ["/tmp/claude", "~/.npm/_logs", "~/.claude/debug"]);
        let both = |k: &str| match k {
            "CLAUDE_TMPDIR" => Some(OsString::from("/b")),
            "CLAUDE_CODE_TMPDIR" => Some(OsString::from("")),
            _ => None,
        };
        assert_eq!(default_write_paths(&both)[0], "/b", "an empty variable names nothing");
    }
}
