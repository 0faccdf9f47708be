//! What srt says after a command failed, when the failure was most likely
//! one of its deliberate refusals: `git init` in the working directory
//! fails with git's own "Read-only file system", and nothing else tells the
//! user that srt refused it on purpose, nor how to go on. Judged from the
//! command's words (srt does not watch the command's file operations), so
//! it says "may".

/// What this run protected that the hints speak of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Protected {
    /// The working directory has no repository, and none may be made there.
    pub no_repository_here: bool,
    /// The repository's `.git/config` is read-only (no `allowGitConfig`).
    pub git_config: bool,
}

/// The lines to print after a command that ended with a non-zero status.
pub fn after_failure(command: &str, protected: Protected) -> Vec<String> {
    let words: Vec<&str> = command
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '`' | '"' | '\''))
        .filter(|w| !w.is_empty())
        .collect();
    let runs = |tool: &str, sub: &[&str]| {
        words.windows(2).enumerate().any(|(i, w)| {
            w[0].rsplit('/').next() == Some(tool)
                // Options may stand between the tool and its subcommand (`git -C dir init`).
                && words[i + 1..].iter().take(4).any(|x| sub.contains(x))
        })
    };
    let mut lines = Vec::new();
    let makes_repo = runs("git", &["init", "clone"]) || runs("cargo", &["new", "init"]);
    if protected.no_repository_here && makes_repo {
        lines.push("srt: note: no repository may be made in the working directory inside the sandbox (git on the host would run its hooks and config), so git reports \"Read-only file system\" there. Make it outside srt first (`git init`), then run the command again.".into());
    }
    if runs("git", &["worktree", "submodule"]) {
        lines.push("srt: note: git's worktrees and submodules keep hooks and config of their own (.git/worktrees, .git/modules), which srt keeps read-only. Run `git worktree add` or `git submodule update --init` outside srt.".into());
    }
    let global = words.iter().any(|w| matches!(*w, "--global" | "--system" | "--file" | "-f"));
    if protected.git_config && runs("git", &["config", "remote", "branch"]) && !global {
        lines.push("srt: note: .git/config is read-only inside the sandbox (it can make git run programs on the host). Set \"allowGitConfig\": true under \"filesystem\" to let commands change it, or change it outside srt.".into());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Protected = Protected { no_repository_here: true, git_config: true };

    #[test]
    fn repository_making_commands_get_the_way_out() {
        for command in [
            "git init",
            "sh -c git init -q .",
            "/usr/bin/git -C . init",
            "cargo new demo",
            "cargo init",
            "make && git init",
        ] {
            let lines = after_failure(command, BOTH);
            assert!(lines.iter().any(|l| l.contains("Make it outside srt first")), "{command}: {lines:?}");
        }
        assert!(after_failure("git init", Protected { no_repository_here: false, git_config: true }).is_empty());
    }

    #[test]
    fn worktrees_submodules_and_config() {
        assert!(after_failure("git worktree add ../b", BOTH)[0].contains("worktrees and submodules"));
        assert!(after_failure("git submodule update --init", BOTH)[0].contains("worktrees and submodules"));
        assert!(after_failure("git config user.name x", BOTH)[0].contains("allowGitConfig"));
        assert!(after_failure("git remote add origin x", BOTH)[0].contains("allowGitConfig"));
        assert!(after_failure("git config --global user.name x", BOTH).is_empty());
    }

    #[test]
    fn other_failures_get_nothing() {
        for command in ["make", "npm test", "cargo build", "echo git init", "git status", "digit init"] {
            let lines = after_failure(command, BOTH);
            // (`echo git init` names git: a false alarm costs a note, and says "may".)
            if command != "echo git init" {
                assert!(lines.is_empty(), "{command}: {lines:?}");
            }
        }
    }
}
