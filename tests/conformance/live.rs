//! Live changes: `watch` reports every committed write once, after it committed, and nothing else.

use std::sync::{Arc, Mutex};

use idb_session_store::{Change, SessionManager, TurnOptions};
use serde_json::json;

use super::*;

/// What a listener heard, one entry per call.
#[derive(Clone, Default)]
struct Heard(Arc<Mutex<Vec<Vec<Change>>>>);

impl Heard {
    fn listener(&self) -> idb_session_store::Listener {
        let heard = self.0.clone();
        Box::new(move |changes| heard.lock().unwrap().push(changes.to_vec()))
    }

    fn take(&self) -> Vec<Vec<Change>> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

pub async fn watch_reports_each_committed_write_once(m: &impl SessionManager) {
    let heard = Heard::default();
    let watch = m
        .watch(heard.listener())
        .expect("the store reports its changes");
    let saved = |meta| vec![vec![Change::Saved(meta)]];
    let s = session("watched", 2);
    let meta = m.save_returning(&s).await.unwrap();
    assert_eq!(heard.take(), saved(meta));
    let id = s.metadata.id.as_str();
    let meta = m
        .append(id, vec![json!("more")], TurnOptions::tokens(2))
        .await
        .unwrap();
    assert_eq!(heard.take(), saved(meta));
    let meta = m
        .replace_last(id, json!("less"), TurnOptions::default())
        .await
        .unwrap();
    assert_eq!(heard.take(), saved(meta));
    let fork = m.fork(id, None).await.unwrap();
    assert_eq!(heard.take(), saved(fork.clone()));
    let rewound = m.rewind(id, 1).await.unwrap();
    assert_eq!(heard.take(), saved(rewound.metadata));
    m.tag(id, vec!["seen".into()]).await.unwrap();
    assert_eq!(heard.take(), saved(m.resume(id).await.unwrap().metadata));
    m.rename(id, "renamed".into()).await.unwrap();
    assert_eq!(heard.take(), saved(m.resume(id).await.unwrap().metadata));
    m.delete(&fork.id).await.unwrap();
    let deleted = Change::Deleted {
        id: fork.id.clone(),
    };
    assert_eq!(heard.take(), vec![vec![deleted]]);

    // Reads and refused or failed writes report nothing.
    m.list().await.unwrap();
    m.resume(id).await.unwrap();
    assert_code(m.tag(&fork.id, vec!["x".into()]).await, "NOT_FOUND");
    assert_code(m.rename(id, String::new()).await, "INVALID_INPUT");
    assert_code(m.delete(&fork.id).await, "NOT_FOUND");
    let mut bad = session("bad", 1);
    bad.metadata.tags = vec!["twice".into(), "twice".into()];
    assert_code(m.save(&bad).await, "INVALID_INPUT");
    assert_eq!(heard.take(), Vec::<Vec<Change>>::new());

    // A second listener hears the same; a dropped one hears nothing more.
    let other = Heard::default();
    let other_watch = m.watch(other.listener()).unwrap();
    drop(watch);
    m.rename(id, "again".into()).await.unwrap();
    assert_eq!(heard.take(), Vec::<Vec<Change>>::new());
    assert_eq!(other.take().len(), 1);
    drop(other_watch);
}
