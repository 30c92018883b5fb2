//! Live changes across connections: a connection tells its own watchers what each of its writes
//! changed as soon as it committed, and posts the same on a `BroadcastChannel` named after the
//! database, which every other connection to it (another handle, tab or worker of the origin)
//! hears and tells its watchers. A write after a quiet [`POST_DELAY_MS`] is posted at once, so a
//! tab or worker that ends right after a lone write is still heard; the writes of a busy stretch
//! are posted together every [`POST_DELAY_MS`]: a post costs about as much as a tenth of a small
//! write (a structured clone and a message between processes), which a store nobody watches
//! would otherwise pay on every write of a burst.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Object};
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

use crate::js_value::{get, metadata_from_js, metadata_to_js, set, Shape};
use crate::model::Change;
use crate::watch::Watchers;

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout`, in windows and workers alike.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// How long after a post the next one waits, gathering the writes committed meanwhile: a frame.
const POST_DELAY_MS: i32 = 16;

/// A connection's watchers and its end of the database's channel.
pub(crate) struct Changes {
    pub watchers: Watchers,
    /// True while this connection's watchers hear a write pulled from the server, so that
    /// syncing (`start_sync`) does not wake for its own pulls.
    pub hearing_pulled: Cell<bool>,
    /// `None` where the context has no BroadcastChannel: then only this connection's writes are seen.
    channel: Option<Channel>,
}

/// The database's channel, the handler of what other connections post on it, and the writes
/// committed here that are still to be posted.
struct Channel {
    outbox: Rc<Outbox>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _post: Closure<dyn FnMut()>,
}

/// Each write's changes, waiting for the next post.
struct Outbox {
    channel: BroadcastChannel,
    writes: RefCell<Vec<Vec<Change>>>,
    /// The timer ending the wait after a post, while one runs: writes meanwhile only queue.
    timer: RefCell<Option<JsValue>>,
    /// The handler of that timer, [`Outbox::post`] itself.
    tick: RefCell<Option<Function>>,
}

impl Outbox {
    /// Posts every write waiting, as one message (an array of each write's changes), and waits
    /// [`POST_DELAY_MS`] before the next post; with nothing waiting, the wait ends.
    fn post(&self) {
        self.timer.take();
        let writes = self.writes.take();
        if writes.is_empty() {
            return;
        }
        let message: Array = writes
            .iter()
            .map(|changes| JsValue::from(to_js(changes)))
            .collect();
        // A failed post (a closed channel) loses only the report, never the write.
        let _ = self.channel.post_message(&message);
        if let Some(tick) = self.tick.borrow().as_ref() {
            *self.timer.borrow_mut() = Some(set_timeout(tick, POST_DELAY_MS));
        }
    }
}

impl Changes {
    /// Joins the channel of database `name`.
    pub fn open(name: &str) -> Self {
        let watchers = Watchers::default();
        let channel = BroadcastChannel::new(&format!("idb-session-store:{name}"))
            .ok()
            .map(|channel| {
                let heard = watchers.clone();
                let on_message =
                    Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                        for changes in from_js(&event.data()) {
                            heard.notify(&changes);
                        }
                    });
                channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                let outbox = Rc::new(Outbox {
                    channel,
                    writes: RefCell::default(),
                    timer: RefCell::default(),
                    tick: RefCell::default(),
                });
                let posting = outbox.clone();
                let post = Closure::<dyn FnMut()>::new(move || posting.post());
                *outbox.tick.borrow_mut() = Some(post.as_ref().unchecked_ref::<Function>().clone());
                Channel {
                    outbox,
                    _on_message: on_message,
                    _post: post,
                }
            });
        Changes {
            watchers,
            hearing_pulled: Cell::new(false),
            channel,
        }
    }

    /// Tells this connection's watchers what a write changed (`pulled`: a write of the server's,
    /// applied by a sync), and queues it for every other connection.
    pub fn publish(&self, changes: &[Change], pulled: bool) {
        if changes.is_empty() {
            return;
        }
        self.hearing_pulled.set(pulled);
        self.watchers.notify(changes);
        self.hearing_pulled.set(false);
        if let Some(Channel { outbox, .. }) = &self.channel {
            outbox.writes.borrow_mut().push(changes.to_vec());
            let waiting = outbox.timer.borrow().is_some();
            if !waiting {
                outbox.post();
            }
        }
    }
}

impl Drop for Changes {
    fn drop(&mut self) {
        if let Some(Channel { outbox, .. }) = &self.channel {
            // What waits is posted now: the timer's handler is about to go.
            outbox.tick.take();
            if let Some(timer) = outbox.timer.take() {
                clear_timeout(&timer);
            }
            outbox.post();
            outbox.channel.set_onmessage(None);
            outbox.channel.close();
        }
    }
}

/// Changes as the JS API shows them: `{ kind: "saved", id, metadata }` or `{ kind: "deleted", id }`.
pub(crate) fn to_js(changes: &[Change]) -> Array {
    changes
        .iter()
        .map(|change| {
            let out = Object::new();
            set(&out, "id", &JsValue::from_str(change.id()));
            match change {
                Change::Saved(meta) => {
                    set(&out, "kind", &JsValue::from_str("saved"));
                    set(&out, "metadata", &metadata_to_js(meta, Shape::Js));
                }
                Change::Deleted { .. } => set(&out, "kind", &JsValue::from_str("deleted")),
            }
            JsValue::from(out)
        })
        .collect()
}

/// The writes another connection posted, each its changes; anything unreadable is left out.
fn from_js(value: &JsValue) -> Vec<Vec<Change>> {
    let Some(writes) = value.dyn_ref::<Array>() else {
        return Vec::new();
    };
    writes
        .iter()
        .map(|changes| changes_from_js(&changes))
        .collect()
}

/// One write's changes; anything unreadable is left out.
fn changes_from_js(value: &JsValue) -> Vec<Change> {
    let Some(changes) = value.dyn_ref::<Array>() else {
        return Vec::new();
    };
    changes
        .iter()
        .filter_map(|change| {
            let kind = get(&change, "kind").as_string()?;
            match kind.as_str() {
                "saved" => metadata_from_js(&get(&change, "metadata"), "metadata", Shape::Js)
                    .ok()
                    .map(Change::Saved),
                "deleted" => Some(Change::Deleted {
                    id: get(&change, "id").as_string()?,
                }),
                _ => None,
            }
        })
        .collect()
}
