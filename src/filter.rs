//! `network.filterRequest` across the binding: the engine asks, the
//! JavaScript layer (lib/index.js) builds the web `Request`, runs the
//! user's callback and answers with a plain verdict. The callback reads the
//! request body through `filterBodyRead`, one chunk per call.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use napi::bindgen_prelude::*;
use napi_derive::napi;
use srt_core::request_filter::{
    Allowed, BodyTap, BodyView, Denied, FilterDecision, FilterRequest, RequestFilter, ResponseObserver,
};

/// One request, for the JavaScript layer.
#[napi(object)]
pub struct FilterCall {
    /// Names this request in `filterBodyRead` and in the response observer.
    pub id: u32,
    pub method: String,
    pub url: String,
    /// Name, value, name, value, ... as received (names lower-cased).
    pub raw_headers: Vec<String>,
    pub scheme: String,
    pub sni: Option<String>,
    pub target_host: String,
    pub target_port: u32,
    pub request_target: String,
    pub normalized_request_target: String,
    pub request_target_is_ambiguous: bool,
    pub command_id: Option<String>,
    /// `none`, `shown` (the Request's body) or `unshown` (a GET, HEAD or
    /// OPTIONS declaring a body: only `unshownBody()` reads it).
    pub body: String,
}

/// The callback's decision, as the JavaScript layer checked it.
#[napi(object)]
pub struct FilterVerdict {
    /// `allow` or `deny`.
    pub action: String,
    pub reason: Option<String>,
    pub status: Option<u32>,
    pub remove_headers: Option<Vec<String>>,
    pub set_headers: Option<Vec<Vec<String>>>,
    /// The decision has an `onResponse`: call the observer with this id.
    pub observe: Option<bool>,
}

/// An upstream response, for a decision's `onResponse`.
#[napi(object)]
pub struct ResponseSeen {
    pub id: u32,
    pub status: u32,
    /// Name, value, name, value, ...
    pub headers: Vec<String>,
}

#[napi]
pub type NativeFilterCallback = napi::threadsafe_function::ThreadsafeFunction<
    FilterCall,                     // argument
    Promise<Option<FilterVerdict>>, // return value: the verdict
    FilterCall,                     // what is queued to the JS thread
    Status,                         // error status
    false,                          // CalleeHandled: JS gets (call), not (err, call)
    true,                           // weak: the filter does not keep Node alive
>;

#[napi]
pub type NativeResponseCallback = napi::threadsafe_function::ThreadsafeFunction<
    ResponseSeen, // argument
    (),           // return value: none
    ResponseSeen, // what is queued to the JS thread
    Status,       // error status
    false,        // CalleeHandled
    true,         // weak
>;

/// Bodies the callbacks may read now, by request id.
static TAPS: LazyLock<Mutex<HashMap<u32, BodyTap>>> = LazyLock::new(Default::default);
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

/// The next chunk of request `id`'s body, or `null` at its end (and once
/// the request was decided).
#[napi]
pub async fn filter_body_read(id: u32) -> Result<Option<Buffer>> {
    let tap = TAPS.lock().map_err(|_| Error::from_reason("poisoned"))?.get(&id).cloned();
    let Some(tap) = tap else { return Ok(None) };
    match tap.read().await {
        Ok(chunk) => Ok(chunk.map(|c| Buffer::from(c.to_vec()))),
        Err(e) => Err(Error::from_reason(e)),
    }
}

/// The user's filter, as the engine calls it.
pub struct JsFilter {
    pub decide: Arc<NativeFilterCallback>,
    pub observe: Arc<NativeResponseCallback>,
}

fn pairs(list: Vec<(String, String)>) -> Vec<String> {
    list.into_iter().flat_map(|(k, v)| [k, v]).collect()
}

impl RequestFilter for JsFilter {
    fn decide(
        &self,
        request: FilterRequest,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<FilterDecision, String>> + Send>> {
        let (decide, observe) = (self.decide.clone(), self.observe.clone());
        Box::pin(async move {
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            let (body, tap) = match request.body {
                BodyView::None => ("none", None),
                BodyView::Shown(t) => ("shown", Some(t)),
                BodyView::Unshown(t) => ("unshown", Some(t)),
            };
            if let (Some(tap), Ok(mut taps)) = (tap, TAPS.lock()) {
                taps.insert(id, tap);
            }
            // Unregistered however this ends: answered, failed, or dropped
            // when the engine stopped waiting.
            let _registered = Registration(id);
            let call = FilterCall {
                id,
                method: request.method,
                url: request.url,
                raw_headers: pairs(request.headers),
                scheme: request.scheme.as_str().into(),
                sni: request.sni,
                target_host: request.target_host,
                target_port: u32::from(request.target_port),
                request_target: request.request_target,
                normalized_request_target: request.normalized_request_target,
                request_target_is_ambiguous: request.request_target_is_ambiguous,
                command_id: request.command_id,
                body: body.into(),
            };
            let verdict = match decide.call_async_catch(call).await {
                Ok(promise) => promise.await.map_err(|e| e.reason.clone()),
                Err(e) => Err(e.reason.clone()),
            };
            drop(_registered);
            let verdict = verdict?.ok_or("the filterRequest bridge gave no verdict")?;
            Ok(match verdict.action.as_str() {
                "allow" => {
                    let on_response: Option<ResponseObserver> = (verdict.observe == Some(true)).then(|| {
                        let mut pending = Pending { id, observe: Some(observe) };
                        Box::new(move |status: u16, headers: Vec<(String, String)>| pending.send(status, headers))
                            as ResponseObserver
                    });
                    FilterDecision::Allow(Allowed {
                        remove_headers: verdict.remove_headers.unwrap_or_default(),
                        set_headers: verdict
                            .set_headers
                            .unwrap_or_default()
                            .into_iter()
                            .map(|pair| match <[String; 2]>::try_from(pair) {
                                Ok([name, value]) => Ok((name, value)),
                                Err(_) => Err("setHeaders holds an entry that is not a [name, value] pair".to_string()),
                            })
                            .collect::<std::result::Result<_, _>>()?,
                        on_response,
                    })
                }
                _ => FilterDecision::Deny(Denied {
                    reason: verdict.reason,
                    status: verdict.status.and_then(|s| u16::try_from(s).ok()),
                }),
            })
        })
    }
}

/// A decision's `onResponse` not yet called. Dropped uncalled (the upstream
/// never answered), it tells the JavaScript layer to forget it (status 0).
struct Pending {
    id: u32,
    observe: Option<Arc<NativeResponseCallback>>,
}

impl Pending {
    fn send(&mut self, status: u16, headers: Vec<(String, String)>) {
        if let Some(observe) = self.observe.take() {
            let seen = ResponseSeen { id: self.id, status: u32::from(status), headers: pairs(headers) };
            let _ = observe.call(seen, napi::threadsafe_function::ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.send(0, Vec::new());
    }
}

/// A body registered for the callback to read, until dropped.
struct Registration(u32);

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut taps) = TAPS.lock() {
            taps.remove(&self.0);
        }
    }
}
