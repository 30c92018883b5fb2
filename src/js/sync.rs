//! The facade's syncing (see `idb/sync/`): `sync()`, `startSync()` and `pendingSync()`.

use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;

use super::args::{count_arg, options_arg, string_arg};
use super::results::{js_error, promise, report_error, IntoJs};
use super::SessionStore;
use crate::error::Error;
use crate::idb::{SyncReport, DEFAULT_SYNC_INTERVAL_MS};
use crate::js_value::set;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Where `sync()` and `startSync()` sync: a session-server's address and a token it issued. */
export interface SyncOptions {
  url: string;
  token: string;
}

/** What a sync round did. */
export interface SyncReport {
  /** Local changes the server applied. */
  pushed: number;
  /** Changes from other devices applied here. */
  pulled: number;
  /** Sessions changed both here and elsewhere: this device's version is kept as "<name> (conflict)". */
  conflicts: number;
}

/** The options of `startSync()`: a round at least every `intervalMs` (default 30,000), each
 * reported to `onRound` with its report or its error. */
export interface StartSyncOptions extends SyncOptions {
  intervalMs?: number;
  onRound?: (result: { report?: SyncReport; error?: SessionError; at: number }) => void;
}
"#;

impl IntoJs for SyncReport {
    fn into_js(self) -> Result<JsValue, Error> {
        let out = Object::new();
        set(&out, "pushed", &JsValue::from_f64(self.pushed as f64));
        set(&out, "pulled", &JsValue::from_f64(self.pulled as f64));
        set(&out, "conflicts", &JsValue::from_f64(self.conflicts as f64));
        Ok(out.into())
    }
}

/// `{ url, token }` of `sync()`.
fn sync_options_arg(options: Option<JsValue>) -> Result<(String, String), Error> {
    let [url, token] = options_arg(options, "sync options", ["url", "token"])?;
    Ok((string_arg(&url, "url")?, string_arg(&token, "token")?))
}

#[wasm_bindgen]
impl SessionStore {
    /// One sync round with a session-server: pulls what other devices changed since the last
    /// round, then pushes what changed here (kept in the database until the server has it).
    #[wasm_bindgen(unchecked_return_type = "Promise<SyncReport>")]
    pub fn sync(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SyncOptions")] options: Option<JsValue>,
    ) -> Promise {
        let options = sync_options_arg(options);
        promise(&self.inner, |m| async move {
            let (url, token) = options?;
            m.sync(&url, &token).await
        })
    }

    /// Keeps syncing: a round now, soon after every write (in whichever tab; not the writes of its
    /// own pulls), and at least every `intervalMs`. One tab of the origin syncs a database at a
    /// time; the others take over when it stops or closes. Returns the function that stops it.
    #[wasm_bindgen(js_name = startSync, unchecked_return_type = "() => void")]
    pub fn start_sync(
        &self,
        #[wasm_bindgen(unchecked_param_type = "StartSyncOptions")] options: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let fields = ["url", "token", "intervalMs", "onRound"];
        let started = options_arg(options, "sync options", fields).and_then(|read| {
            let [url, token, interval, on_round] = read;
            let interval = match interval.is_undefined() {
                true => DEFAULT_SYNC_INTERVAL_MS,
                false => count_arg(&interval, "intervalMs")?,
            };
            let on_round: Option<Function> = match on_round.is_undefined() {
                true => None,
                false => Some(
                    on_round
                        .dyn_into()
                        .map_err(|_| Error::invalid("onRound must be a function"))?,
                ),
            };
            let (url, token) = (string_arg(&url, "url")?, string_arg(&token, "token")?);
            self.inner
                .start_sync(&url, &token, interval, move |result| {
                    let Some(on_round) = &on_round else { return };
                    let out = Object::new();
                    match result.and_then(IntoJs::into_js) {
                        Ok(report) => set(&out, "report", &report),
                        Err(error) => set(&out, "error", &js_error(error)),
                    }
                    set(&out, "at", &JsValue::from_f64(js_sys::Date::now()));
                    if let Err(thrown) = on_round.call1(&JsValue::NULL, &out) {
                        report_error(&thrown);
                    }
                })
        });
        let mut syncing = Some(started.map_err(js_error)?);
        let stop = Closure::<dyn FnMut()>::new(move || drop(syncing.take()));
        Ok(stop.into_js_value())
    }

    /// How many changes wait to be pushed: sessions changed here (or never pushed) and
    /// deletions.
    #[wasm_bindgen(js_name = pendingSync, unchecked_return_type = "Promise<number>")]
    pub fn pending_sync(&self) -> Promise {
        promise(&self.inner, |m| async move {
            Ok(JsValue::from_f64(m.pending_sync().await? as f64))
        })
    }
}
