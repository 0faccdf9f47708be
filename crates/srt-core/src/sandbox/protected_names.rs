//! The names srt protects from being written (reference §4.5), shared by
//! every backend: shell start-up files, git hooks and config, editor and
//! agent folders. Linux finds them with a scan and blocks missing ones with
//! placeholders; macOS denies them by pattern.

/// Files a shell or tool reads from a home directory only (a shell's
/// start-up files, git's and ripgrep's user config): protected wherever
/// they exist, and kept from being made in homes (on Linux: `mandatory::RootNames`).
pub const STARTUP_FILES: &[&str] = &[
    ".gitconfig",
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".zlogout",
    ".profile",
    ".ripgreprc",
];

/// Files that configure a project wherever it is opened.
pub const PROJECT_FILES: &[&str] = &[
    // Read from the top of a repository's work tree only.
    ".gitmodules",
    ".mcp.json",
    // A dev container's `initializeCommand` runs on the host when an editor opens it.
    ".devcontainer.json",
];

/// Directories protected whole.
pub const PROTECTED_DIRS: &[&str] = &[".vscode", ".idea", ".devcontainer"];

/// What Claude Code reads from a project's `.claude` that runs code on the
/// host or decides what runs there: commands, agents and hooks (directories,
/// protected whole) and the project's settings (which define hooks and
/// permissions).
pub const PROTECTED_CLAUDE: &[&str] = &["commands", "agents", "hooks", "settings.json", "settings.local.json"];

/// Mercurial's repository config: its `[hooks]` run on the host.
pub const PROTECTED_HG: &[&str] = &["hgrc"];

/// What git reads from a repository directory that can run code or point it
/// elsewhere: hooks; `commondir` (moves where config and hooks are read
/// from); the git directories of submodules and worktrees, which have
/// hooks and config of their own.
pub const PROTECTED_GIT: &[&str] = &["hooks", "commondir", "modules", "worktrees"];

/// The repository's config, protected unless `allowGitConfig`.
pub const PROTECTED_GIT_CONFIG: &[&str] = &["config", "config.worktree"];

/// In home, beyond the protected names: ssh's directory (its `config` runs a
/// ProxyCommand, `rc` runs at login) and git's XDG config. Where no
/// `~/.config` exists yet in a writable home, its placeholder keeps the
/// command from making one (fails closed).
pub const HOME_PROTECTED: &[&str] = &[".ssh", ".config/git"];
