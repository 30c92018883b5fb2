//! Live changes across connections: a connection tells its own watchers what each of its writes
//! changed as soon as it committed, and posts the same on a `BroadcastChannel` named after the
//! database, which every other connection to it (another handle, tab or worker of the origin)
//! hears and tells its watchers.

use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;
use web_sys::{BroadcastChannel, MessageEvent};

use crate::js_value::{get, metadata_from_js, metadata_to_js, set, Shape};
use crate::model::Change;
use crate::watch::Watchers;

/// A connection's watchers and its end of the database's channel.
pub(crate) struct Changes {
    pub watchers: Watchers,
    /// `None` where the context has no BroadcastChannel: then only this connection's writes are seen.
    channel: Option<Channel>,
}

/// The database's channel, and the handler of what other connections post on it.
struct Channel {
    channel: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
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
                        let changes = from_js(&event.data());
                        heard.notify(&changes);
                    });
                channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                Channel {
                    channel,
                    _on_message: on_message,
                }
            });
        Changes { watchers, channel }
    }

    /// Tells this connection's watchers, then every other connection, what a write changed.
    pub fn publish(&self, changes: &[Change]) {
        if changes.is_empty() {
            return;
        }
        self.watchers.notify(changes);
        if let Some(Channel { channel, .. }) = &self.channel {
            // A failed post (a closed channel) loses only the report, never the write.
            let _ = channel.post_message(&to_js(changes));
        }
    }
}

impl Drop for Changes {
    fn drop(&mut self) {
        if let Some(Channel { channel, .. }) = &self.channel {
            channel.set_onmessage(None);
            channel.close();
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

/// The changes another connection posted; anything unreadable is left out.
fn from_js(value: &JsValue) -> Vec<Change> {
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
