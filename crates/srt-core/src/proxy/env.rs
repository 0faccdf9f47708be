//! The environment that points the command's tools at the proxies
//! (reference §4.8). Inside the sandbox the proxies are on loopback ports
//! 3128 (HTTP, and SOCKS on the same port) and 1080 (SOCKS, and HTTP).

use super::{SANDBOX_HTTP_PORT, SANDBOX_SOCKS_PORT};

/// Destinations tools should not send to the proxy: there is nothing to
/// reach there but the sandbox's own loopback.
pub const NO_PROXY: &str = "localhost,127.0.0.1,::1,169.254.0.0/16,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16";

/// Where the command reaches the proxies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyEndpoint {
    /// How the URLs name the proxies' host: `localhost` inside Linux's
    /// sandbox (its own loopback); `127.0.0.1` on macOS, where srt listens
    /// on IPv4 alone and a client trying `::1` first could meet a listener
    /// another local process put there, and hand it the secret.
    pub host: String,
    pub http_port: u16,
    pub socks_port: u16,
    /// User name and password srt's own listener requires (the host's
    /// loopback on macOS, which any local process can reach); none inside
    /// Linux's sandbox.
    pub credentials: Option<(String, String)>,
    /// Ports of external proxies (`httpProxyPort`, `socksProxyPort`): not
    /// srt's, so they are not given srt's credentials.
    pub external: Vec<u16>,
}

impl ProxyEndpoint {
    /// Inside Linux's sandbox: its own loopback ports, no credentials.
    pub fn in_sandbox() -> ProxyEndpoint {
        ProxyEndpoint {
            host: "localhost".into(),
            http_port: SANDBOX_HTTP_PORT,
            socks_port: SANDBOX_SOCKS_PORT,
            credentials: None,
            external: Vec::new(),
        }
    }
}

/// The variables, in order. `ssh_proxy` is the ProxyCommand that carries
/// ssh through the HTTP proxy (srt's own helper binary, present inside);
/// `git_ssh`, the caller's own `GIT_SSH_COMMAND`, if any (see [`git_ssh_command`]).
pub fn proxy_env(ssh_proxy_command: &str, git_ssh: Option<&str>) -> Vec<(String, String)> {
    proxy_env_at(&ProxyEndpoint::in_sandbox(), ssh_proxy_command, git_ssh)
}

/// The variables for proxies at `at`.
pub fn proxy_env_at(at: &ProxyEndpoint, ssh_proxy_command: &str, git_ssh: Option<&str>) -> Vec<(String, String)> {
    let credentials = |port: u16| at.credentials.as_ref().filter(|_| !at.external.contains(&port));
    let user = |port: u16| credentials(port).map(|(u, p)| format!("{u}:{p}@")).unwrap_or_default();
    let host = &at.host;
    let http = format!("http://{}{host}:{}", user(at.http_port), at.http_port);
    let socks = format!("socks5h://{}{host}:{}", user(at.socks_port), at.socks_port);
    let mut v: Vec<(&str, String)> = vec![
        ("HTTP_PROXY", http.clone()),
        ("HTTPS_PROXY", http.clone()),
        ("http_proxy", http.clone()),
        ("https_proxy", http.clone()),
        ("ALL_PROXY", http.clone()),
        ("all_proxy", http.clone()),
        ("NO_PROXY", NO_PROXY.into()),
        ("no_proxy", NO_PROXY.into()),
        ("FTP_PROXY", socks.clone()),
        ("ftp_proxy", socks),
        ("GRPC_PROXY", http.clone()),
        ("grpc_proxy", http.clone()),
        ("RSYNC_PROXY", format!("{}{host}:{}", user(at.socks_port), at.socks_port)),
        ("DOCKER_HTTP_PROXY", http.clone()),
        ("DOCKER_HTTPS_PROXY", http.clone()),
        ("CLOUDSDK_PROXY_TYPE", "http".into()),
        ("CLOUDSDK_PROXY_ADDRESS", host.clone()),
        ("CLOUDSDK_PROXY_PORT", at.http_port.to_string()),
        // Tools with proxy settings of their own, which the caller's environment
        // may point at a proxy (with its credentials) that is unreachable from inside.
        ("npm_config_proxy", http.clone()),
        ("npm_config_https_proxy", http.clone()),
        ("npm_config_noproxy", NO_PROXY.into()),
        ("YARN_HTTP_PROXY", http.clone()),
        ("YARN_HTTPS_PROXY", http.clone()),
        ("PIP_PROXY", http.clone()),
    ];
    if let Some((user, password)) = credentials(at.http_port) {
        v.push(("CLOUDSDK_PROXY_USERNAME", user.clone()));
        v.push(("CLOUDSDK_PROXY_PASSWORD", password.clone()));
    }
    v.push(("GIT_SSH_COMMAND", git_ssh_command(ssh_proxy_command, git_ssh)));
    v.into_iter().map(|(k, val)| (k.to_string(), val)).collect()
}

/// `GIT_SSH_COMMAND` inside: ssh through the HTTP proxy. A command the
/// caller set is kept, srt's options after its own (ssh takes the first
/// value it reads for an option, so the caller's `-o ProxyCommand` wins).
pub fn git_ssh_command(ssh_proxy_command: &str, caller: Option<&str>) -> String {
    let ours = format!("-o ControlMaster=no -o ControlPath=none -o ProxyCommand='{ssh_proxy_command} %h %p'");
    match caller.map(str::trim).filter(|c| !c.is_empty()) {
        Some(caller) => format!("{caller} {ours}"),
        None => format!("ssh {ours}"),
    }
}

/// `NO_PROXY` in the JVM's grammar (`|`-separated, `*` wildcards; the
/// 172.16.0.0/12 range spelled out).
fn java_non_proxy_hosts() -> String {
    let mut hosts =
        vec!["localhost".to_string(), "127.0.0.1".into(), "[::1]".into(), "169.254.*".into(), "10.*".into()];
    hosts.extend((16..32).map(|n| format!("172.{n}.*")));
    hosts.push("192.168.*".into());
    hosts.join("|")
}

/// `JAVA_TOOL_OPTIONS` for the sandbox: the JVM ignores `HTTP_PROXY`, so its
/// proxy properties, after what the caller set (the JVM takes the last of a
/// property, and inside only srt's proxies lead anywhere).
pub fn java_tool_options(caller: Option<&str>) -> String {
    java_tool_options_at("localhost", SANDBOX_HTTP_PORT, SANDBOX_SOCKS_PORT, caller)
}

/// The same for proxies at these ports of `host`.
pub fn java_tool_options_at(host: &str, http_port: u16, socks_port: u16, caller: Option<&str>) -> String {
    let ours = format!(
        "-Dhttp.proxyHost={host} -Dhttp.proxyPort={http_port} -Dhttps.proxyHost={host} -Dhttps.proxyPort={http_port} -DsocksProxyHost={host} -DsocksProxyPort={socks_port} -Dhttp.nonProxyHosts={hosts} -DsocksNonProxyHosts={hosts}",
        hosts = java_non_proxy_hosts()
    );
    match caller.map(str::trim).filter(|c| !c.is_empty()) {
        Some(caller) => format!("{caller} {ours}"),
        None => ours,
    }
}

/// The subcommand of srt that ssh runs as its ProxyCommand.
pub const CONNECT_SUBCOMMAND: &str = "__proxy-connect";

/// `ProxyCommand` for ssh: srt's binary, connecting through the HTTP proxy.
/// The path is quoted for the shell that ssh runs it with.
pub fn ssh_proxy_command(helper: &std::path::Path) -> String {
    let path = helper.display().to_string();
    let safe = path.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b));
    let quoted = if safe { path } else { format!("\"{}\"", path.replace(['"', '\\', '$', '`', '\''], "_")) };
    format!("{quoted} {CONNECT_SUBCOMMAND}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_point_at_the_sandbox_ports() {
        let env = proxy_env("/opt/srt __proxy-connect", None);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("HTTPS_PROXY"), Some("http://localhost:3128"));
        assert_eq!(get("https_proxy"), Some("http://localhost:3128"));
        assert_eq!(get("ALL_PROXY"), Some("http://localhost:3128"));
        assert_eq!(get("FTP_PROXY"), Some("socks5h://localhost:1080"));
        assert_eq!(get("NO_PROXY"), Some(NO_PROXY));
        assert_eq!(
            get("GIT_SSH_COMMAND"),
            Some("ssh -o ControlMaster=no -o ControlPath=none -o ProxyCommand='/opt/srt __proxy-connect %h %p'")
        );
    }

    #[test]
    fn proxies_on_the_hosts_loopback_carry_the_sessions_credentials() {
        let at = ProxyEndpoint {
            host: "127.0.0.1".into(),
            http_port: 50123,
            socks_port: 50123,
            credentials: Some(("srt".into(), "t0k".into())),
            external: Vec::new(),
        };
        let env = proxy_env_at(&at, "srt __proxy-connect", None);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("HTTPS_PROXY"), Some("http://srt:t0k@127.0.0.1:50123"));
        assert_eq!(get("FTP_PROXY"), Some("socks5h://srt:t0k@127.0.0.1:50123"));
        assert_eq!(get("RSYNC_PROXY"), Some("srt:t0k@127.0.0.1:50123"));
        assert_eq!(get("CLOUDSDK_PROXY_ADDRESS"), Some("127.0.0.1"));
        assert_eq!(get("CLOUDSDK_PROXY_PASSWORD"), Some("t0k"));
        assert_eq!(proxy_env("x", None).iter().find(|(n, _)| n == "CLOUDSDK_PROXY_PASSWORD"), None);
    }

    #[test]
    fn an_external_proxy_is_not_given_the_sessions_credentials() {
        let at = ProxyEndpoint {
            host: "localhost".into(),
            http_port: 8080,
            socks_port: 50123,
            credentials: Some(("srt".into(), "t0k".into())),
            external: vec![8080],
        };
        let env = proxy_env_at(&at, "srt __proxy-connect", None);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("HTTPS_PROXY"), Some("http://localhost:8080"));
        assert_eq!(get("FTP_PROXY"), Some("socks5h://srt:t0k@localhost:50123"));
        assert_eq!(get("CLOUDSDK_PROXY_PASSWORD"), None);
    }

    #[test]
    fn java_gets_the_proxies_after_what_the_caller_set() {
        let ours = java_tool_options(None);
        assert!(ours.starts_with("-Dhttp.proxyHost=localhost -Dhttp.proxyPort=3128 -Dhttps.proxyHost=localhost"));
        assert!(ours.contains("-DsocksProxyPort=1080"));
        assert!(ours.contains("-Dhttp.nonProxyHosts=localhost|127.0.0.1|[::1]|169.254.*|10.*|172.16.*|"));
        assert!(ours.contains("|172.31.*|192.168.* "));
        assert!(!ours.contains("172.32"));
        let theirs = java_tool_options(Some(" -Xmx1g -Dhttps.proxyHost=corp "));
        assert!(theirs.starts_with("-Xmx1g -Dhttps.proxyHost=corp -Dhttp.proxyHost=localhost"), "{theirs}");
        assert_eq!(java_tool_options(Some("  ")), ours);
    }

    #[test]
    fn a_git_ssh_command_the_caller_set_is_kept_with_the_proxy_after_it() {
        assert_eq!(
            git_ssh_command("srt __proxy-connect", Some("ssh -i ~/.ssh/deploy")),
            "ssh -i ~/.ssh/deploy -o ControlMaster=no -o ControlPath=none -o ProxyCommand='srt __proxy-connect %h %p'"
        );
        assert_eq!(git_ssh_command("srt __proxy-connect", Some(" ")), git_ssh_command("srt __proxy-connect", None));
    }

    #[test]
    fn odd_helper_paths_are_quoted() {
        assert_eq!(ssh_proxy_command("/a b/srt".as_ref()), "\"/a b/srt\" __proxy-connect");
        assert_eq!(ssh_proxy_command("/usr/lib/srt".as_ref()), "/usr/lib/srt __proxy-connect");
    }
}
