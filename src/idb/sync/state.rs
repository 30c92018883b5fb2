//! What a database keeps to sync, as its records hold it: per session the server has, the
//! version this database last had of it (`synced`); the sessions deleted here still to delete
//! there (`deletions`); and the device's own record (`sync`): its id, pull cursor, operation
//! numbers and the push in flight.

use js_sys::{Array, Object};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Error, Result};
use crate::js_value::{get, set, whole};
use crate::rules::MAX_SAFE_INTEGER;

/// What the server had of a session when this database last synced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Synced {
    /// The server's version.
    pub base: i64,
    /// How many messages that version held.
    pub count: u64,
}

/// What an operation in flight was about, to apply its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Put,
    Patch,
    Meta,
    Delete,
}

/// An operation sent (or about to be) and not yet answered.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub op: i64,
    pub kind: Kind,
    pub id: String,
    /// The session's message count when it was sent.
    pub count: u64,
    /// The operation as JSON text, sent as it is again if the answer is lost.
    pub text: JsValue,
}

/// The device's sync record.
#[derive(Debug, Clone)]
pub(crate) struct SyncState {
    pub device: String,
    /// The server's change after which the next pull starts.
    pub cursor: i64,
    pub next_op: i64,
    /// The highest operation whose outcome was applied here.
    pub acked: i64,
    /// The write clock when changes were last gathered for a push (an `updated_at` index key):
    /// only sessions written after it can have changed since.
    pub marker: JsValue,
    /// The push sent whose outcomes are not applied yet.
    pub inflight: Vec<Sent>,
}

fn damaged(what: &str) -> Error {
    Error::storage(format!("the sync bookkeeping is damaged: {what}"))
}

fn number(value: &JsValue, name: &str) -> Result<i64> {
    whole(&get(value, name), MAX_SAFE_INTEGER)
        .map(|n| n as i64)
        .ok_or_else(|| damaged(&format!("{name} is not a whole number")))
}

impl Synced {
    pub fn to_js(self) -> JsValue {
        let out = Object::new();
        set(&out, "base", &JsValue::from_f64(self.base as f64));
        set(&out, "count", &JsValue::from_f64(self.count as f64));
        out.into()
    }

    pub fn from_js(value: &JsValue) -> Result<Option<Synced>> {
        if value.is_undefined() {
            return Ok(None);
        }
        Ok(Some(Synced {
            base: number(value, "base")?,
            count: number(value, "count")? as u64,
        }))
    }
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Put => "put",
            Kind::Patch => "patch",
            Kind::Meta => "meta",
            Kind::Delete => "delete",
        }
    }

    fn from_name(name: &str) -> Option<Kind> {
        [Kind::Put, Kind::Patch, Kind::Meta, Kind::Delete]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

impl SyncState {
    /// A device that never synced: a new id, from the start of the server's changes.
    pub fn new() -> SyncState {
        SyncState {
            device: uuid::Uuid::new_v4().to_string(),
            cursor: 0,
            next_op: 1,
            acked: 0,
            marker: JsValue::UNDEFINED,
            inflight: Vec::new(),
        }
    }

    pub fn to_js(&self) -> JsValue {
        let out = Object::new();
        set(&out, "device", &JsValue::from_str(&self.device));
        for (name, n) in [
            ("cursor", self.cursor),
            ("nextOp", self.next_op),
            ("acked", self.acked),
        ] {
            set(&out, name, &JsValue::from_f64(n as f64));
        }
        set(&out, "marker", &self.marker);
        let inflight: Array = self
            .inflight
            .iter()
            .map(|sent| {
                let item = Object::new();
                set(&item, "op", &JsValue::from_f64(sent.op as f64));
                set(&item, "kind", &JsValue::from_str(sent.kind.name()));
                set(&item, "id", &JsValue::from_str(&sent.id));
                set(&item, "count", &JsValue::from_f64(sent.count as f64));
                set(&item, "text", &sent.text);
                JsValue::from(item)
            })
            .collect();
        set(&out, "inflight", &inflight);
        out.into()
    }

    pub fn from_js(value: &JsValue) -> Result<Option<SyncState>> {
        if value.is_undefined() {
            return Ok(None);
        }
        let inflight = get(value, "inflight");
        let inflight = inflight
            .dyn_ref::<Array>()
            .ok_or_else(|| damaged("inflight is not a list"))?
            .iter()
            .map(|sent| {
                Ok(Sent {
                    op: number(&sent, "op")?,
                    kind: get(&sent, "kind")
                        .as_string()
                        .and_then(|k| Kind::from_name(&k))
                        .ok_or_else(|| damaged("an operation of no known kind"))?,
                    id: get(&sent, "id")
                        .as_string()
                        .ok_or_else(|| damaged("an operation without an id"))?,
                    count: number(&sent, "count")? as u64,
                    text: get(&sent, "text"),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(SyncState {
            device: get(value, "device")
                .as_string()
                .ok_or_else(|| damaged("no device id"))?,
            cursor: number(value, "cursor")?,
            next_op: number(value, "nextOp")?,
            acked: number(value, "acked")?,
            marker: get(value, "marker"),
            inflight,
        }))
    }
}
