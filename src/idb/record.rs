//! The `sessions` record of a session, to and from its JS object.

use js_sys::{Array, Object};
use wasm_bindgen::JsValue;

use super::sync::Dirty;
use crate::error::{Error, Result};
use crate::js_value::{describe, get, metadata_from_js, metadata_to_js, set, whole, Shape};
use crate::model::SessionMetadata;
use crate::rules::MAX_SAFE_INTEGER;

/// The `sessions` record: the metadata in its JS shape, and what orders, versions and sizes the
/// session.
#[derive(Debug, Clone)]
pub(crate) struct SessionRecord {
    pub metadata: SessionMetadata,
    /// Write sequence number: orders writes within one millisecond.
    pub seq: u64,
    /// Random per write: tells this connection whether the session changed since it wrote it.
    pub rev: f64,
    pub message_count: u64,
    /// What local writes changed since the last sync.
    pub dirty: Dirty,
}

impl SessionRecord {
    pub fn new(metadata: SessionMetadata, seq: u64, message_count: u64, dirty: Dirty) -> Self {
        SessionRecord {
            metadata,
            seq,
            rev: js_sys::Math::random(),
            message_count,
            dirty,
        }
    }

    pub fn to_js(&self) -> JsValue {
        let record = Object::new();
        set(
            &record,
            "metadata",
            &metadata_to_js(&self.metadata, Shape::Js),
        );
        set(&record, "seq", &JsValue::from_f64(self.seq as f64));
        set(&record, "rev", &JsValue::from_f64(self.rev));
        set(
            &record,
            "messageCount",
            &JsValue::from_f64(self.message_count as f64),
        );
        if !self.dirty.is_clean() {
            set(&record, "dirty", &self.dirty.to_js());
        }
        // One `[tag, updatedAt, seq]` per tag, for the `tag` index's pages newest first.
        if !self.metadata.tags.is_empty() {
            let (at, seq) = (
                JsValue::from_f64(self.metadata.updated_at as f64),
                JsValue::from_f64(self.seq as f64),
            );
            let keys: Array = self
                .metadata
                .tags
                .iter()
                .map(|tag| Array::of3(&JsValue::from_str(tag), &at, &seq))
                .collect();
            set(&record, "tagKeys", &keys);
        }
        record.into()
    }

    /// Reads a record written by [`SessionRecord::to_js`]; `STORAGE` naming the session if it
    /// is not one.
    pub fn from_js(value: &JsValue, id: &str) -> Result<Self> {
        let damaged = |why: String| {
            Error::storage(format!("the record of session \"{id}\" is damaged: {why}"))
        };
        let number = |name: &str| {
            let value = get(value, name);
            whole(&value, MAX_SAFE_INTEGER)
                .ok_or_else(|| damaged(format!("{name} is {}", describe(&value))))
        };
        let rev = get(value, "rev")
            .as_f64()
            .ok_or_else(|| damaged("rev is missing".into()))?;
        Ok(SessionRecord {
            metadata: metadata_from_js(&get(value, "metadata"), "metadata", Shape::Js)
                .map_err(damaged)?,
            seq: number("seq")?,
            rev,
            message_count: number("messageCount")?,
            dirty: Dirty::from_js(&get(value, "dirty")),
        })
    }
}
