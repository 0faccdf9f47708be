//! The engine's errors: a stable code, which callers may branch on (the Node
//! layer picks the original's error classes by it), and a message for a
//! person, which may change between versions.

use std::fmt;

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The settings are malformed.
    InvalidConfig,
    /// A path in the settings holds a NUL character.
    NulInPath,
    /// The settings ask for what this build cannot enforce.
    UnsupportedConfig,
    /// bubblewrap is missing or unusable, or user namespaces are off.
    MissingDependency,
    /// The rules cannot be applied as written here (a link the command could
    /// replace, a bwrap it could rewrite, a limit nothing can hold).
    Refused,
    /// The sandbox would need more mounts than bubblewrap takes.
    TooManyArguments,
    /// Anything else that stopped the sandbox from being prepared.
    Failed,
}

impl ErrorCode {
    /// The code as callers see it (`error.code` in JavaScript).
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidConfig => "SRT_INVALID_CONFIG",
            ErrorCode::NulInPath => "SRT_NUL_IN_PATH",
            ErrorCode::UnsupportedConfig => "SRT_UNSUPPORTED_CONFIG",
            ErrorCode::MissingDependency => "SRT_MISSING_DEPENDENCY",
            ErrorCode::Refused => "SRT_REFUSED",
            ErrorCode::TooManyArguments => "SRT_TOO_MANY_ARGUMENTS",
            ErrorCode::Failed => "SRT_FAILED",
        }
    }
}

/// The sentence a refusal to run ends with, wherever it is said.
pub const REFUSAL: &str = "Refusing to run the command with weaker rules than the settings ask for.";

/// An engine error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }

    /// A refusal: `lines`, then [`REFUSAL`], as one message.
    pub fn refused(code: ErrorCode, lines: &[String]) -> Error {
        let mut all = lines.to_vec();
        all.push(REFUSAL.into());
        Error::new(code, all.join("\n       "))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// A message with no more specific kind.
impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::new(ErrorCode::Failed, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_stable() {
        let all = [
            ErrorCode::InvalidConfig,
            ErrorCode::NulInPath,
            ErrorCode::UnsupportedConfig,
            ErrorCode::MissingDependency,
            ErrorCode::Refused,
            ErrorCode::TooManyArguments,
            ErrorCode::Failed,
        ];
        let mut names: Vec<&str> = all.iter().map(|c| c.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert!(names.iter().all(|n| n.starts_with("SRT_")));
        let e = Error::refused(ErrorCode::Refused, &["a link".into()]);
        assert_eq!(e.message, format!("a link\n       {REFUSAL}"));
    }
}
