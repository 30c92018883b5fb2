//! What local writes changed in a session since it was last in step with the server: kept in its
//! `sessions` record (as `dirty`) by every write, in the write's own transaction, so that a sync
//! sends only what changed: an appended turn, a streamed reply, a cut, added tags, a new name.

use js_sys::{Array, Object};
use wasm_bindgen::{JsCast, JsValue};

use crate::js_value::{get, is_well_formed_string, set, whole};
use crate::rules::MAX_SAFE_INTEGER;

/// What changed since the last sync; the default is nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Dirty {
    /// The session was saved (or created) whole: it is sent whole.
    pub full: bool,
    /// Messages, the state or the counters changed: a patch is sent.
    pub patch: bool,
    /// The first message changed, if one before the end was (a rewind, a replaced last message).
    pub cut: Option<u64>,
    /// The state changed.
    pub state: bool,
    /// Tags added.
    pub tags: Vec<String>,
    /// The session was renamed.
    pub name: bool,
}

/// What one local write did, as far as syncing cares.
pub(crate) enum Wrote {
    /// Saved (or created, forked, imported) whole.
    Whole,
    /// A turn appended; the state replaced or not.
    Appended { state: bool },
    /// The message at `at` replaced (the last); the state replaced or not.
    Replaced { at: u64, state: bool },
    /// Messages from `at` on removed.
    Cut { at: u64 },
    /// Tags added (those that were new).
    Tagged(Vec<String>),
    /// Renamed.
    Renamed,
}

impl Dirty {
    pub fn is_clean(&self) -> bool {
        *self == Dirty::default()
    }

    /// Whether the messages, the state or the counters changed (not just tags or the name).
    pub fn has_content(&self) -> bool {
        self.full || self.patch
    }

    /// What is dirty after `write`, from this.
    pub fn after(mut self, write: Wrote) -> Dirty {
        let lower = |cut: Option<u64>, at: u64| Some(cut.map_or(at, |c| c.min(at)));
        match write {
            Wrote::Whole => self.full = true,
            Wrote::Appended { state } => {
                self.patch = true;
                self.state |= state;
            }
            Wrote::Replaced { at, state } => {
                self.patch = true;
                self.cut = lower(self.cut, at);
                self.state |= state;
            }
            Wrote::Cut { at } => {
                self.patch = true;
                self.cut = lower(self.cut, at);
            }
            Wrote::Tagged(tags) => {
                for tag in tags {
                    if !self.tags.contains(&tag) {
                        self.tags.push(tag);
                    }
                }
            }
            Wrote::Renamed => self.name = true,
        }
        self
    }

    /// As the record keeps it; `undefined` when clean, so clean records stay as they were.
    pub fn to_js(&self) -> JsValue {
        if self.is_clean() {
            return JsValue::UNDEFINED;
        }
        let out = Object::new();
        set(&out, "full", &JsValue::from_bool(self.full));
        set(&out, "patch", &JsValue::from_bool(self.patch));
        if let Some(cut) = self.cut {
            set(&out, "cut", &JsValue::from_f64(cut as f64));
        }
        set(&out, "state", &JsValue::from_bool(self.state));
        let tags: Array = self.tags.iter().map(|t| JsValue::from_str(t)).collect();
        set(&out, "tags", &tags);
        set(&out, "name", &JsValue::from_bool(self.name));
        out.into()
    }

    /// Read back from a record (absent: clean); what cannot be read counts as a whole save.
    pub fn from_js(value: &JsValue) -> Dirty {
        if value.is_undefined() || value.is_null() {
            return Dirty::default();
        }
        let flag = |name: &str| get(value, name).as_bool();
        let cut = get(value, "cut");
        let tags = get(value, "tags");
        let read = || -> Option<Dirty> {
            Some(Dirty {
                full: flag("full")?,
                patch: flag("patch")?,
                cut: match cut.is_undefined() {
                    true => None,
                    false => Some(whole(&cut, MAX_SAFE_INTEGER)?),
                },
                state: flag("state")?,
                tags: tags
                    .dyn_ref::<Array>()?
                    .iter()
                    .map(|t| is_well_formed_string(&t).then(|| t.as_string()).flatten())
                    .collect::<Option<Vec<_>>>()?,
                name: flag("name")?,
            })
        };
        read().unwrap_or(Dirty {
            full: true,
            ..Dirty::default()
        })
    }
}
