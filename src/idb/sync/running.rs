//! Syncing that goes on: [`IndexedDbSessionManager::start_sync`] runs a round now, soon after
//! every write to the database (from any tab; not the writes its own pulls make), and at least
//! every interval, until stopped. Rounds take a Web Lock named after the database, so one runs at
//! a time across the origin's tabs and workers (one-off `sync` calls included); and only one tab
//! keeps syncing: the others wait for its lock and take over when it stops or closes.

use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{Remote, SyncReport};
use crate::error::{Error, Result};
use crate::idb::IndexedDbSessionManager;

#[wasm_bindgen(module = "/src/idb/sync/client.js")]
extern "C" {
    fn acquire(name: &str, signal: Option<JsValue>) -> Promise;

    type Pacer;
    #[wasm_bindgen(constructor)]
    fn new() -> Pacer;
    #[wasm_bindgen(method, getter)]
    fn signal(this: &Pacer) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn stopped(this: &Pacer) -> bool;
    #[wasm_bindgen(method)]
    fn wait(this: &Pacer, ms: u32, soon_ms: u32) -> Promise;
    #[wasm_bindgen(method)]
    fn wake(this: &Pacer);
    #[wasm_bindgen(method)]
    fn stop(this: &Pacer);
}

/// How long after a write its round starts: a streamed reply's writes share one round.
const SOON_MS: u32 = 250;

/// The interval `start_sync` keeps when given none.
pub const DEFAULT_SYNC_INTERVAL_MS: u32 = 30_000;

/// Syncing started by [`IndexedDbSessionManager::start_sync`]; it stops when this is dropped
/// (a round under way finishes first).
pub struct Syncing {
    pacer: Rc<Pacer>,
}

impl Drop for Syncing {
    fn drop(&mut self) {
        self.pacer.stop();
    }
}

impl std::fmt::Debug for Syncing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syncing").finish_non_exhaustive()
    }
}

/// The Web Lock `what` of database `name`.
fn lock_name(name: &str, what: &str) -> String {
    format!("idb-session-store {what} {name}")
}

/// Holds the Web Lock `name` until dropped.
struct Held(Function);

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.0.call0(&JsValue::UNDEFINED);
    }
}

/// The Web Lock `name` once held; `None` if `signal` aborted the wait.
async fn hold(name: &str, signal: Option<JsValue>) -> Result<Option<Held>> {
    let release = JsFuture::from(acquire(name, signal))
        .await
        .map_err(|e| Error::Internal {
            message: format!(
                "the Web Lock \"{name}\" could not be requested: {}",
                crate::js_value::describe(&e)
            ),
        })?;
    Ok(release.dyn_into::<Function>().ok().map(Held))
}

impl IndexedDbSessionManager {
    /// One round, holding the database's round lock.
    pub(super) async fn round(&self, remote: &Remote) -> Result<SyncReport> {
        let _held = hold(&lock_name(self.name(), "sync round"), None).await?;
        self.sync_round(remote).await
    }

    /// Keeps this database in step with the server at `url` (see [`sync`](Self::sync)): a round
    /// now, one soon after every write to the database, and one at least every `interval_ms`,
    /// each reported to `on_round`, until the returned [`Syncing`] is dropped or the store is
    /// closed. With other tabs syncing the same database, this one waits until theirs stop.
    pub fn start_sync(
        &self,
        url: &str,
        token: &str,
        interval_ms: u32,
        on_round: impl Fn(Result<SyncReport>) + 'static,
    ) -> Result<Syncing> {
        let remote = Remote::new(url, token)?;
        if interval_ms == 0 {
            return Err(Error::invalid(
                "intervalMs must be a positive number of milliseconds",
            ));
        }
        let pacer = Rc::new(Pacer::new());
        let store = IndexedDbSessionManager {
            inner: self.inner.clone(),
        };
        let waker = Rc::downgrade(&pacer);
        let inner = Rc::downgrade(&self.inner);
        let watch = self.inner.changes.watchers.subscribe(Box::new(move |_| {
            // A write this sync pulled is not one to push: waking for it would cost a round.
            if inner
                .upgrade()
                .is_some_and(|i| i.changes.hearing_pulled.get())
            {
                return;
            }
            if let Some(pacer) = waker.upgrade() {
                pacer.wake();
            }
        }));
        let running = pacer.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let _watch = watch;
            let leader = lock_name(store.name(), "syncing tab");
            let _leading = match hold(&leader, Some(running.signal())).await {
                Ok(Some(held)) => held,
                Ok(None) => return,
                Err(e) => return on_round(Err(e)),
            };
            while !running.stopped() {
                let result = store.round(&remote).await;
                let closed = matches!(result, Err(Error::Closed { .. }));
                on_round(result);
                if closed {
                    break;
                }
                let _ = JsFuture::from(running.wait(interval_ms, SOON_MS)).await;
            }
        });
        Ok(Syncing { pacer })
    }
}
