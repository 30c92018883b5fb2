#![doc = include_str!("crate.md")]
#![deny(missing_docs)]

mod error;
#[cfg(target_arch = "wasm32")]
mod idb;
#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(target_arch = "wasm32")]
mod js_value;
mod manager;
mod memory;
mod model;
pub mod portable;
pub mod rules;
pub mod search;
mod watch;

pub use error::{Error, Result};
#[cfg(target_arch = "wasm32")]
pub use idb::{
    IndexedDbSessionManager, OpenOptions, SyncReport, Syncing, DEFAULT_SYNC_INTERVAL_MS,
};
#[cfg(target_arch = "wasm32")]
pub use js::SessionStore;
pub use manager::{BoxFuture, SendSyncOutsideWasm, SessionManager};
pub use memory::InMemorySessionManager;
pub use model::{Change, Session, SessionMetadata, TurnOptions};
pub use rules::MAX_DEPTH;
pub use search::{Filter, SearchHit, SearchOptions};
pub use watch::{Listener, Watch, Watchers};
