//! Swapping sentinels for real values on the way out: in header values and,
//! streaming, in request bodies (a sentinel split across chunks is found).

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame};
use hyper::header::{HeaderMap, HeaderValue};

use super::sentinels::PREFIX;

/// (sentinel, real value) pairs.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// The earliest needle (first of a pair) in `data` at or after `from`: its
/// position and index.
fn earliest(data: &[u8], from: usize, pairs: &Pairs) -> Option<(usize, usize)> {
    if pairs.iter().any(|(s, _)| !s.starts_with(PREFIX.as_bytes())) {
        // Real values on the way back: each looked for.
        return pairs
            .iter()
            .enumerate()
            .filter_map(|(i, (s, _))| memchr::memmem::find(&data[from..], s).map(|p| (from + p, i)))
            .min();
    }
    let mut at = from;
    // Every sentinel starts with the prefix: look for that, then which one.
    while let Some(found) = memchr::memmem::find(&data[at..], PREFIX.as_bytes()) {
        let p = at + found;
        if let Some(i) = pairs.iter().position(|(s, _)| data[p..].starts_with(s)) {
            return Some((p, i));
        }
        at = p + 1;
    }
    None
}

/// The shortest real value scrubbed from responses: a shorter one could
/// be any text.
const SCRUBBED_FROM: usize = 12;

/// (real value, sentinel) pairs for a response, for the real values long
/// enough to be told from other text.
pub fn reversed(pairs: &Pairs) -> Pairs {
    pairs.iter().filter(|(_, r)| r.len() >= SCRUBBED_FROM).map(|(s, r)| (r.clone(), s.clone())).collect()
}

/// `data` with every complete sentinel replaced.
fn replace_all(data: &[u8], pairs: &Pairs) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while let Some((p, which)) = earliest(data, i, pairs) {
        out.extend_from_slice(&data[i..p]);
        out.extend_from_slice(&pairs[which].1);
        i = p + pairs[which].0.len();
    }
    out.extend_from_slice(&data[i..]);
    out
}

/// Replaces the needles (sentinels, or real values on the way back) in
/// every header value. A value the real secret would make unsendable (a
/// line break) keeps its sentinel: never a header split.
pub fn in_headers(headers: &mut HeaderMap, pairs: &Pairs) {
    if pairs.is_empty() {
        return;
    }
    for value in headers.values_mut() {
        if earliest(value.as_bytes(), 0, pairs).is_none() {
            continue;
        }
        if let Ok(real) = HeaderValue::from_bytes(&replace_all(value.as_bytes(), pairs)) {
            *value = real;
        }
    }
}

/// Whether replacing changes a body's length (then `Content-Length` must go).
pub fn changes_length(pairs: &Pairs) -> bool {
    pairs.iter().any(|(s, r)| s.len() != r.len())
}

/// A body with its needles replaced as it streams (sentinels in a request,
/// real values in a response).
pub struct Substituting<B> {
    inner: B,
    pairs: Pairs,
    /// Bytes held back: they may begin a sentinel the next chunk completes.
    carry: Vec<u8>,
    longest: usize,
    pending: VecDeque<Frame<Bytes>>,
    done: bool,
}

impl<B> Substituting<B> {
    pub fn new(inner: B, pairs: Pairs) -> Self {
        let longest = pairs.iter().map(|(s, _)| s.len()).max().unwrap_or(1);
        Substituting { inner, pairs, carry: Vec::new(), longest, pending: VecDeque::new(), done: false }
    }

    /// Replaces what is certain in `carry + chunk`, keeping back a tail
    /// shorter than the longest sentinel.
    fn feed(&mut self, chunk: &[u8]) -> Bytes {
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(data.len());
        let mut i = 0;
        while let Some((p, which)) = earliest(&data, i, &self.pairs) {
            out.extend_from_slice(&data[i..p]);
            out.extend_from_slice(&self.pairs[which].1);
            i = p + self.pairs[which].0.len();
        }
        // A sentinel starting before `keep` would have ended inside `data`.
        let keep = data.len().saturating_sub(self.longest - 1).max(i);
        out.extend_from_slice(&data[i..keep]);
        self.carry = data[keep..].to_vec();
        Bytes::from(out)
    }
}

impl<B> Body for Substituting<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Poll::Ready(Some(Ok(frame)));
            }
            if self.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        let out = self.feed(&data);
                        if !out.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(out))));
                        }
                    }
                    Err(trailers) => {
                        // The held-back tail goes before the trailers.
                        let tail = std::mem::take(&mut self.carry);
                        if !tail.is_empty() {
                            self.pending.push_back(Frame::data(Bytes::from(tail)));
                        }
                        self.pending.push_back(trailers);
                    }
                },
                Poll::Ready(None) => {
                    self.done = true;
                    let tail = std::mem::take(&mut self.carry);
                    if !tail.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(Bytes::from(tail)))));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn pairs() -> Pairs {
        vec![
            (format!("{PREFIX}aaaa").into_bytes(), b"REAL-A".to_vec()),
            (format!("{PREFIX}bb").into_bytes(), b"REAL-B-LONGER".to_vec()),
        ]
    }

    /// A body of the given chunks.
    struct Chunks(VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    async fn through(chunks: Vec<&str>) -> String {
        let body = Chunks(chunks.into_iter().map(|c| Bytes::from(c.to_string())).collect());
        let collected = Substituting::new(body, pairs()).collect().await.unwrap().to_bytes();
        String::from_utf8(collected.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn sentinels_are_replaced_across_chunk_boundaries() {
        let a = format!("{PREFIX}aaaa");
        let b = format!("{PREFIX}bb");
        assert_eq!(through(vec![&format!("x{a}y{b}z")]).await, "xREAL-AyREAL-B-LONGERz");
        let split = format!("key={a}&other={b}");
        for cut in 1..split.len() {
            let (l, r) = split.split_at(cut);
            assert_eq!(through(vec![l, r]).await, "key=REAL-A&other=REAL-B-LONGER", "cut at {cut}");
        }
        let one_by_one: Vec<String> = split.chars().map(|c| c.to_string()).collect();
        assert_eq!(through(one_by_one.iter().map(String::as_str).collect()).await, "key=REAL-A&other=REAL-B-LONGER");
        assert_eq!(through(vec![PREFIX, "zzz"]).await, format!("{PREFIX}zzz"), "a lookalike is left alone");
    }

    #[tokio::test]
    async fn real_values_coming_back_become_sentinels_again_if_long_enough() {
        let pairs = vec![
            (format!("{PREFIX}aaaa").into_bytes(), b"a-long-real-value".to_vec()),
            (format!("{PREFIX}bb").into_bytes(), b"short".to_vec()),
        ];
        let back = reversed(&pairs);
        assert_eq!(back.len(), 1);
        let body = Chunks(["echo: a-long-re", "al-value and short"].into_iter().map(Bytes::from).collect());
        let out = Substituting::new(body, back).collect().await.unwrap().to_bytes();
        assert_eq!(out, format!("echo: {PREFIX}aaaa and short").as_bytes());
    }

    #[test]
    fn header_values_are_replaced_unless_the_real_value_cannot_be_sent() {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_str(&format!("Bearer {PREFIX}aaaa")).unwrap());
        h.insert("x-other", HeaderValue::from_static("plain"));
        in_headers(&mut h, &pairs());
        assert_eq!(h["authorization"], "Bearer REAL-A");
        let mut h = HeaderMap::new();
        h.insert("x-key", HeaderValue::from_str(&format!("{PREFIX}aaaa")).unwrap());
        in_headers(&mut h, &vec![(format!("{PREFIX}aaaa").into_bytes(), b"a\r\nInjected: 1".to_vec())]);
        assert_eq!(h["x-key"], format!("{PREFIX}aaaa").as_str());
    }
}
