//! Live changes: the listeners a store calls after each committed write, and the [`Watch`] that
//! unsubscribes one when dropped. Every store keeps its listeners in a [`Watchers`].

use std::sync::{Arc, Mutex, Weak};

use crate::model::Change;

/// What [`watch`](crate::SessionManager::watch) calls with each write's changes: `Send + Sync`
/// off wasm, where stores are shared across threads; neither on wasm32.
#[cfg(not(target_arch = "wasm32"))]
pub type Listener = Box<dyn Fn(&[Change]) + Send + Sync>;
/// What [`watch`](crate::SessionManager::watch) calls with each write's changes: `Send + Sync`
/// off wasm, where stores are shared across threads; neither on wasm32.
#[cfg(target_arch = "wasm32")]
pub type Listener = Box<dyn Fn(&[Change])>;

/// A subscription of [`watch`](crate::SessionManager::watch): the listener is called until this
/// is dropped.
#[must_use = "the listener is unsubscribed when the Watch is dropped"]
pub struct Watch {
    registry: Weak<Mutex<Registry>>,
    id: u64,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").field("id", &self.id).finish()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(registry) = self.registry.upgrade() {
            lock(&registry).listeners.retain(|(id, _)| *id != self.id);
        }
    }
}

#[derive(Default)]
struct Registry {
    next: u64,
    listeners: Vec<(u64, Arc<Listener>)>,
}

/// A store's listeners: what an implementation of [`watch`](crate::SessionManager::watch)
/// subscribes to, and tells each write's changes after the write committed. Clones share the
/// same listeners.
#[derive(Default, Clone)]
pub struct Watchers(Arc<Mutex<Registry>>);

impl std::fmt::Debug for Watchers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchers")
            .field("listeners", &lock(&self.0).listeners.len())
            .finish()
    }
}

fn lock(registry: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    // A listener that panicked leaves the list intact: it is only ever pushed to or filtered.
    registry
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Watchers {
    /// Adds `listener` until the returned [`Watch`] is dropped.
    // On wasm32 listeners are neither Send nor Sync, and there is only one thread to share with.
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    pub fn subscribe(&self, listener: Listener) -> Watch {
        let mut registry = lock(&self.0);
        registry.next += 1;
        let id = registry.next;
        registry.listeners.push((id, Arc::new(listener)));
        Watch {
            registry: Arc::downgrade(&self.0),
            id,
        }
    }

    /// Whether anyone listens (so that building the changes can be skipped when nobody does).
    pub fn any(&self) -> bool {
        !lock(&self.0).listeners.is_empty()
    }

    /// Calls every listener with `changes`, outside the lock, so a listener may use the store,
    /// subscribe or unsubscribe.
    pub fn notify(&self, changes: &[Change]) {
        if changes.is_empty() || !self.any() {
            return;
        }
        let listeners: Vec<Arc<Listener>> = lock(&self.0)
            .listeners
            .iter()
            .map(|(_, listener)| listener.clone())
            .collect();
        for listener in listeners {
            listener(changes);
        }
    }
}
