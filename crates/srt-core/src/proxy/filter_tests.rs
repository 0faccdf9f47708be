//! `filterRequest`, `allowPlaintextHeaderSet`, `ambiguousRequestTarget` and
//! `stripResponseHeaders` on the plain-HTTP path, over loopback sockets.
//! (The terminated-HTTPS path is tested end to end in the node suites.)

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::clients::Clients;
use super::filter::*;
use super::*;
use crate::config::AmbiguousRequestTarget;

type Verdict = Box<dyn Fn(&FilterRequest) -> Result<FilterDecision, String> + Send + Sync>;

/// A filter that reads the body it is shown, notes what it saw, and answers with `verdict`.
struct Recording {
    seen: Arc<Mutex<Vec<String>>>,
    verdict: Verdict,
}

impl RequestFilter for Recording {
    fn decide(&self, request: FilterRequest) -> Pin<Box<dyn Future<Output = Result<FilterDecision, String>> + Send>> {
        let answer = (self.verdict)(&request);
        let mut note = format!(
            "{} {} scheme={} target={} ambiguous={}",
            request.method,
            request.url,
            request.scheme.as_str(),
            request.request_target,
            request.request_target_is_ambiguous
        );
        let headers = request.headers.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
        note.push_str(&format!(" headers={headers}"));
        let seen = self.seen.clone();
        Box::pin(async move {
            if let BodyView::Shown(tap) = &request.body {
                let mut body = Vec::new();
                while let Some(chunk) = tap.read().await? {
                    body.extend_from_slice(&chunk);
                }
                note.push_str(&format!(" body={}", String::from_utf8_lossy(&body)));
            }
            seen.lock().unwrap().push(note);
            answer
        })
    }
}

fn allow() -> FilterDecision {
    FilterDecision::Allow(Allowed::default())
}

/// An upstream that answers each request with `answer` and hands over what it received.
async fn upstream(answer: &'static str) -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else { return };
            let tx = tx.clone();
            tokio::spawn(async move {
                loop {
                    let head = super::tests::read_head(&mut s).await;
                    if head.is_empty() {
                        return;
                    }
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    let mut body = vec![0u8; length];
                    s.read_exact(&mut body).await.unwrap();
                    let _ = tx.send(format!("{head}{}", String::from_utf8_lossy(&body)));
                    if s.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, rx)
}

const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet_Cookie: a=1\r\nX-Kept: yes\r\n\r\nok";

async fn start(mut config: NetConfig, filter: Option<Arc<dyn RequestFilter>>) -> (Arc<Proxy>, u16) {
    config.rules = crate::policy::decide::Rules::new(&["127.0.0.1".into()], &[], BTreeMap::new(), false).unwrap();
    let proxy = Proxy::new(config, None);
    proxy.set_request_filter(filter);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = Arc::new(Client::with_list(Some("cmd".into()), Some("id-1".into())));
    let handle = tokio::runtime::Handle::current();
    serve::spawn_listener(&handle, listener, serve::Role::Filter, proxy.clone(), Clients::One(client)).unwrap();
    (proxy, port)
}

/// Sends `request` to the proxy; the whole answer (it closes after one).
async fn exchange(port: u16, request: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn recording(verdict: Verdict) -> Arc<Recording> {
    Arc::new(Recording { seen: Arc::default(), verdict })
}

#[tokio::test]
async fn the_filter_sees_each_request_and_its_body_and_its_edits_reach_the_upstream() {
    let (up, mut received) = upstream(OK).await;
    let filter = recording(Box::new(|r| {
        Ok(if r.method == "POST" {
            FilterDecision::Allow(Allowed {
                remove_headers: vec!["x-secret".into()],
                set_headers: vec![("X-Added".into(), "one".into()), ("x_added".into(), "two".into())],
                on_response: None,
            })
        } else {
            FilterDecision::Deny(Denied { reason: Some("no GETs here".into()), status: Some(451) })
        })
    }));
    let config = NetConfig { allow_plaintext_header_set: true, ..NetConfig::default() };
    let (proxy, port) = start(config, Some(filter.clone())).await;
    let answer = exchange(
        port,
        &format!("POST http://127.0.0.1:{up}/p?k=v HTTP/1.1\r\nHost: 127.0.0.1\r\nX_Secret: s\r\nX-Added: client\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let got = received.recv().await.unwrap();
    let lower = got.to_lowercase();
    assert!(got.starts_with("POST /p?k=v HTTP/1.1\r\n"), "{got}");
    assert!(got.ends_with("\r\n\r\nhello"), "the body the filter read is still forwarded: {got}");
    assert!(!lower.contains("x_secret") && !lower.contains("client"), "{got}");
    assert!(lower.contains("x-added: one\r\nx-added: two\r\n"), "{got}");
    let seen = filter.seen.lock().unwrap()[0].clone();
    assert!(seen.starts_with(&format!("POST http://127.0.0.1:{up}/p?k=v scheme=http target=/p?k=v")), "{seen}");
    assert!(seen.ends_with(" body=hello") && seen.contains("x_secret=s"), "{seen}");
    assert!(!seen.contains("proxy-authorization"), "{seen}");

    let answer =
        exchange(port, &format!("GET http://127.0.0.1:{up}/secret?token=abc HTTP/1.1\r\nHost: x\r\n\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 451"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nno GETs here\n"), "{answer}");
    assert!(answer.to_lowercase().contains("x-proxy-error: blocked-by-sandbox-runtime"), "{answer}");
    let lines: Vec<String> = proxy.violations.recent().into_iter().map(|v| v.line).collect();
    assert_eq!(lines, [format!("deny http-request GET http://127.0.0.1:{up}/secret?\u{2026} (no GETs here)")]);
    assert!(received.try_recv().is_err(), "nothing denied reaches the upstream");
}

#[tokio::test]
async fn header_sets_on_cleartext_need_allow_plaintext_header_set() {
    let (up, mut received) = upstream(OK).await;
    let filter = recording(Box::new(|_| {
        Ok(FilterDecision::Allow(Allowed {
            set_headers: vec![("authorization".into(), "Bearer real".into())],
            ..Allowed::default()
        }))
    }));
    let (_proxy, port) = start(NetConfig::default(), Some(filter)).await;
    let answer = exchange(port, &format!("GET http://127.0.0.1:{up}/ HTTP/1.1\r\nHost: x\r\n\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("network.allowPlaintextHeaderSet"), "{answer}");
    assert!(received.try_recv().is_err());
}

#[tokio::test]
async fn ambiguous_targets_are_refused_before_the_filter_or_forwarded_as_configured() {
    let (up, mut received) = upstream(OK).await;
    let filter = recording(Box::new(|_| Ok(allow())));
    let (proxy, port) = start(NetConfig::default(), Some(filter.clone())).await;
    let request = format!("GET http://127.0.0.1:{up}/a/%2e%2e/admin HTTP/1.1\r\nHost: x\r\n\r\n");
    let answer = exchange(port, &request).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.to_lowercase().contains("x-proxy-error: ambiguous-request-target"), "{answer}");
    assert!(filter.seen.lock().unwrap().is_empty(), "refused before the filter is asked");
    assert!(proxy.violations.recent()[0].line.contains("(ambiguous request-target"), "{:?}", proxy.violations.recent());

    for (mode, forwarded) in
        [(AmbiguousRequestTarget::AsSpelled, "/a/%2e%2e/admin"), (AmbiguousRequestTarget::Normalize, "/admin")]
    {
        proxy.update_config(NetConfig { ambiguous_request_target: mode, ..proxy.config().as_ref().clone() }).unwrap();
        let answer = exchange(port, &request).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let got = received.recv().await.unwrap();
        assert!(got.starts_with(&format!("GET {forwarded} HTTP/1.1\r\n")), "{mode:?}: {got}");
    }
    let seen = filter.seen.lock().unwrap().clone();
    assert!(seen[0].contains("target=/a/%2e%2e/admin ambiguous=true"), "{seen:?}");
}

#[tokio::test]
async fn a_failing_silent_or_malformed_filter_denies_and_trace_is_never_forwarded() {
    let (up, mut received) = upstream(OK).await;
    let failing = recording(Box::new(|_| Err("boom".into())));
    let (proxy, port) = start(NetConfig::default(), Some(failing)).await;
    let get = format!("GET http://127.0.0.1:{up}/ HTTP/1.1\r\nHost: x\r\n\r\n");
    let answer = exchange(port, &get).await;
    assert!(answer.starts_with("HTTP/1.1 403") && answer.contains("sandbox policy check failed: boom"), "{answer}");

    struct Silent;
    impl RequestFilter for Silent {
        fn decide(&self, _: FilterRequest) -> Pin<Box<dyn Future<Output = Result<FilterDecision, String>> + Send>> {
            Box::pin(std::future::pending())
        }
    }
    proxy.set_request_filter(Some(Arc::new(Silent)));
    let answer = exchange(port, &get).await;
    assert!(answer.contains("sandbox policy check failed: no decision within 1 s"), "{answer}");

    proxy.set_request_filter(Some(recording(Box::new(|_| {
        Ok(FilterDecision::Allow(Allowed { remove_headers: vec!["bad name".into()], ..Allowed::default() }))
    }))));
    let answer = exchange(port, &get).await;
    assert!(
        answer.contains("malformed filterRequest decision: removeHeaders holds an invalid header name"),
        "{answer}"
    );

    proxy.set_request_filter(Some(recording(Box::new(|_| Ok(allow())))));
    let answer = exchange(port, &format!("TRACE http://127.0.0.1:{up}/ HTTP/1.1\r\nHost: x\r\n\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    assert!(received.try_recv().is_err(), "nothing reached the upstream");

    // Cleared: requests flow unasked again.
    proxy.set_request_filter(None);
    assert!(exchange(port, &get).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn response_headers_are_stripped_folded_and_the_observer_sees_them_first() {
    let (up, _received) = upstream(OK).await;
    let observed = Arc::new(Mutex::new(None));
    let sink = observed.clone();
    let filter = recording(Box::new(move |_| {
        let sink = sink.clone();
        Ok(FilterDecision::Allow(Allowed {
            on_response: Some(Box::new(move |status, headers| *sink.lock().unwrap() = Some((status, headers)))),
            ..Allowed::default()
        }))
    }));
    let config = NetConfig { strip_response_headers: vec!["set-cookie".into()], ..NetConfig::default() };
    let (proxy, port) = start(config, Some(filter)).await;
    let get = format!("GET http://127.0.0.1:{up}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let answer = exchange(port, &get).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let lower = answer.to_lowercase();
    assert!(!lower.contains("set_cookie") && lower.contains("x-kept: yes"), "{answer}");
    let (status, headers) = observed.lock().unwrap().clone().unwrap();
    assert_eq!(status, 200);
    assert!(headers.iter().any(|(k, v)| k == "set_cookie" && v == "a=1"), "{headers:?}");
    // Without a filter too.
    proxy.set_request_filter(None);
    let lower = exchange(port, &get).await.to_lowercase();
    assert!(lower.starts_with("http/1.1 200") && !lower.contains("set_cookie"), "{lower}");
}

#[tokio::test]
async fn a_body_the_filter_could_not_read_whole_is_never_allowed() {
    let (up, mut received) = upstream(OK).await;
    // A callback that reads what it can and allows whatever happened.
    struct Careless;
    impl RequestFilter for Careless {
        fn decide(
            &self,
            request: FilterRequest,
        ) -> Pin<Box<dyn Future<Output = Result<FilterDecision, String>> + Send>> {
            Box::pin(async move {
                if let BodyView::Shown(tap) = &request.body {
                    while let Ok(Some(_)) = tap.read().await {}
                }
                Ok(allow())
            })
        }
    }
    let (_proxy, port) = start(NetConfig::default(), Some(Arc::new(Careless))).await;
    let small = "a".repeat(1000);
    let request = |body: &str| {
        format!(
            "POST http://127.0.0.1:{up}/u HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    assert!(exchange(port, &request(&small)).await.starts_with("HTTP/1.1 200"));
    assert!(received.recv().await.unwrap().ends_with(&small));
    let large = "b".repeat(MAX_SHOWN_BODY + 10_000);
    let answer = exchange(port, &request(&large)).await;
    assert!(answer.starts_with("HTTP/1.1 413") && answer.contains("could not read whole"), "{answer}");
    assert!(received.try_recv().is_err());
}

#[tokio::test]
async fn the_filter_sees_the_host_that_is_sent_and_methods_in_their_exact_case() {
    let (up, mut received) = upstream(OK).await;
    let filter = recording(Box::new(|_| Ok(allow())));
    let (_proxy, port) = start(NetConfig::default(), Some(filter.clone())).await;
    let answer = exchange(
        port,
        &format!("DELETE http://127.0.0.1:{up}/r HTTP/1.1\r\nHost: api.other.example\r\nTransfer_Encoding: chunked\r\nContent.Length: 9\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let seen = filter.seen.lock().unwrap()[0].clone();
    assert!(seen.contains(&format!("headers=host=127.0.0.1:{up},")) && !seen.contains("api.other"), "{seen}");
    let got = received.recv().await.unwrap().to_lowercase();
    assert!(!got.contains("transfer_encoding") && !got.contains("content.length"), "{got}");
    let answer = exchange(port, &format!("delete http://127.0.0.1:{up}/r HTTP/1.1\r\nHost: x\r\n\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 400") && answer.contains("method names are case-sensitive"), "{answer}");
    let answer = exchange(port, &format!("OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1:{up}\r\n\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(filter.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn injected_credentials_are_not_echoed_back_and_trace_is_refused_where_they_are_injected() {
    const REAL: &str = "real-secret-value-0123";
    let echo = "HTTP/1.1 200 OK\r\nContent-Length: 28\r\nX-Echo: real-secret-value-0123\r\n\r\nyou sent real-secret-value-0123";
    let (up, mut received) = upstream(Box::leak(
        echo.replace("Content-Length: 28", &format!("Content-Length: {}", 9 + REAL.len())).into_boxed_str(),
    ))
    .await;
    let config = NetConfig { allow_plaintext_inject: true, ..NetConfig::default() };
    let (proxy, port) = start(config, None).await;
    let hosts =
        vec![crate::policy::decide::Pattern::new("127.0.0.1", crate::policy::domain::EntryKind::HostOnly).unwrap()];
    let sentinel = proxy.sentinels.register("K", "K", REAL, hosts).unwrap();
    let answer = exchange(
        port,
        &format!("GET http://127.0.0.1:{up}/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {sentinel}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(received.recv().await.unwrap().to_lowercase().contains(&format!("authorization: bearer {REAL}\r\n")));
    assert!(!answer.contains(REAL), "the real value came back: {answer}");
    assert!(
        answer.to_lowercase().contains(&format!("x-echo: {sentinel}"))
            && answer.contains(&format!("you sent {sentinel}")),
        "{answer}"
    );
    let answer = exchange(port, &format!("TRACE http://127.0.0.1:{up}/ HTTP/1.1\r\nHost: x\r\n\r\n")).await;
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    assert!(received.try_recv().is_err());
}
