//! `srt __proxy-connect HOST PORT`: a ProxyCommand for ssh inside the
//! sandbox. It opens a CONNECT tunnel through the sandbox's HTTP proxy and
//! joins it to its standard input and output (what socat or `nc -X connect`
//! do for the original, without either being installed).

use std::io::{Read, Write};
use std::net::TcpStream;

use super::SANDBOX_HTTP_PORT;

/// Runs the subcommand; returns the exit status. A front end of its own
/// (ssh runs it), so it prints.
#[allow(clippy::print_stderr)]
pub fn main(args: &[std::ffi::OsString]) -> i32 {
    let (Some(host), Some(port)) = (args.first().and_then(|a| a.to_str()), args.get(1).and_then(|a| a.to_str())) else {
        eprintln!("usage: srt {} HOST PORT", super::env::CONNECT_SUBCOMMAND);
        return 2;
    };
    match tunnel(host, port) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("srt: proxy connect to {host}:{port}: {e}");
            1
        }
    }
}

fn tunnel(host: &str, port: &str) -> Result<(), String> {
    let authority = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let mut stream =
        TcpStream::connect(("127.0.0.1", SANDBOX_HTTP_PORT)).map_err(|e| format!("cannot reach the proxy: {e}"))?;
    let _ = stream.set_nodelay(true);
    stream
        .write_all(format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    // Byte by byte up to the blank line: nothing of the tunnel is read early.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 || stream.read(&mut byte).map_err(|e| e.to_string())? == 0 {
            return Err("the proxy closed the connection".into());
        }
        head.push(byte[0]);
    }
    let status = String::from_utf8_lossy(head.split(|b| *b == b'\r').next().unwrap_or_default()).into_owned();
    if status.split(' ').nth(1) != Some("200") {
        return Err(format!("refused: {status}"));
    }
    let mut upstream_out = stream.try_clone().map_err(|e| e.to_string())?;
    let sender = std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut upstream_out);
        let _ = upstream_out.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut stream, &mut std::io::stdout().lock());
    drop(sender);
    Ok(())
}
