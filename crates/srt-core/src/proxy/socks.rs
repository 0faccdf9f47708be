//! The SOCKS5 proxy (RFC 1928, reference §6.3): no authentication or
//! username/password (RFC 1929, any credentials: the listener identifies
//! the sandbox), CONNECT only, IPv4, IPv6 and domain addresses, and the
//! RFC's reply codes on refusal. With `tlsTerminate`, TLS in a SOCKS tunnel
//! is terminated as in a CONNECT one.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::clients::Clients;
use super::dial::{dial_tunnel, DialError};
use super::{tunnel, Client, Proxy, Refusal};

/// Reply codes.
const GRANTED: u8 = 0x00;
const GENERAL_FAILURE: u8 = 0x01;
const NOT_ALLOWED: u8 = 0x02;
const HOST_UNREACHABLE: u8 = 0x04;
const COMMAND_NOT_SUPPORTED: u8 = 0x07;
const ADDRESS_NOT_SUPPORTED: u8 = 0x08;

/// A client that says nothing for this long is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

async fn reply(stream: &mut TcpStream, code: u8) -> std::io::Result<()> {
    stream.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]).await
}

/// Reads the greeting and the request; returns the requested destination,
/// or `None` once the client has been answered and should be dropped.
async fn handshake(stream: &mut TcpStream, clients: &Clients) -> std::io::Result<Option<(Arc<Client>, String, u16)>> {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).await?;
    if head[0] != 5 || head[1] == 0 {
        return Ok(None);
    }
    let mut methods = vec![0u8; usize::from(head[1])];
    stream.read_exact(&mut methods).await?;
    // No authentication only where none is required.
    let client = if methods.contains(&0) && !clients.require_credentials() {
        stream.write_all(&[5, 0]).await?;
        clients.resolve(None)
    } else if methods.contains(&2) {
        stream.write_all(&[5, 2]).await?;
        // RFC 1929: version 1, then username and password, each length-prefixed.
        let mut ver_len = [0u8; 2];
        stream.read_exact(&mut ver_len).await?;
        let mut user = vec![0u8; usize::from(ver_len[1])];
        stream.read_exact(&mut user).await?;
        let mut plen = [0u8; 1];
        stream.read_exact(&mut plen).await?;
        let mut pass = vec![0u8; usize::from(plen[0])];
        stream.read_exact(&mut pass).await?;
        let client = if ver_len[0] == 1 { clients.resolve(Some(&pass)) } else { None };
        if client.is_none() {
            stream.write_all(&[1, 1]).await?;
            return Ok(None);
        }
        stream.write_all(&[1, 0]).await?;
        client
    } else {
        stream.write_all(&[5, 0xff]).await?;
        return Ok(None);
    };
    let Some(client) = client else { return Ok(None) };
    let mut request = [0u8; 4];
    stream.read_exact(&mut request).await?;
    if request[0] != 5 {
        return Ok(None);
    }
    let host = match request[3] {
        1 => {
            let mut a = [0u8; 4];
            stream.read_exact(&mut a).await?;
            Ipv4Addr::from(a).to_string()
        }
        4 => {
            let mut a = [0u8; 16];
            stream.read_exact(&mut a).await?;
            format!("[{}]", Ipv6Addr::from(a))
        }
        3 => {
            let mut len = [0u8; 1];
            stream.read_exact(&mut len).await?;
            let mut name = vec![0u8; usize::from(len[0])];
            stream.read_exact(&mut name).await?;
            // Not UTF-8: no host at all; the policy refuses it as malformed.
            String::from_utf8(name).unwrap_or_default()
        }
        _ => {
            reply(stream, ADDRESS_NOT_SUPPORTED).await?;
            return Ok(None);
        }
    };
    let mut port = [0u8; 2];
    stream.read_exact(&mut port).await?;
    if request[1] != 1 {
        reply(stream, COMMAND_NOT_SUPPORTED).await?;
        return Ok(None);
    }
    Ok(Some((client, host, u16::from_be_bytes(port))))
}

/// Serves one SOCKS5 client.
pub async fn serve(mut stream: TcpStream, proxy: Arc<Proxy>, clients: Clients) {
    let (client, host, port) = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&mut stream, &clients)).await {
        Ok(Ok(Some(target))) => target,
        _ => return,
    };
    let (target, config) = match proxy.check(&host, port, &client).await {
        Ok(t) => t,
        Err(_) => {
            let _ = reply(&mut stream, NOT_ALLOWED).await;
            return;
        }
    };
    // With tlsTerminate, a SOCKS tunnel is terminated like a CONNECT one:
    // then it is no longer opaque.
    let terminated = match (proxy.terminator(), &config.tls) {
        (Some(t), Some(rules)) if rules.terminates(&target, port) => Some((t, rules.clone())),
        _ => None,
    };
    if config.refuse_opaque_tunnels && terminated.is_none() {
        let refusal = Refusal::Policy("refuseOpaqueTunnels".into());
        proxy.refused(&target.to_string(), port, &refusal, &client);
        let _ = reply(&mut stream, GENERAL_FAILURE).await;
        return;
    }
    // A place among the terminated tunnels before anything is dialed.
    let slot = match &terminated {
        Some((terminator, rules)) => match terminator.enter(rules.max_tunnels) {
            Some(slot) => Some(slot),
            None => {
                let _ = reply(&mut stream, GENERAL_FAILURE).await;
                return;
            }
        },
        None => None,
    };
    let upstream = match dial_tunnel(&target, port, &config).await {
        Ok(s) => s,
        Err(DialError::Refused(r)) => {
            proxy.refused(&target.to_string(), port, &r, &client);
            let _ = reply(&mut stream, NOT_ALLOWED).await;
            return;
        }
        Err(DialError::Failed(e)) => {
            tracing::debug!("SOCKS dial {target}:{port} failed: {e}");
            let _ = reply(&mut stream, HOST_UNREACHABLE).await;
            return;
        }
    };
    if reply(&mut stream, GRANTED).await.is_err() {
        return;
    }
    match (terminated, slot) {
        (Some((terminator, rules)), Some(slot)) => {
            let tunnel = super::tls::tunnel::Tunnel { proxy, client, terminator, rules, config, target, port };
            super::tls::tunnel::serve(tunnel, stream, upstream, slot).await;
        }
        _ => tunnel::relay_to(stream, upstream).await,
    }
}
