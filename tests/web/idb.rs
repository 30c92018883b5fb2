//! What only the IndexedDB store has: persistence across connections, several connections
//! racing, atomic writes, the on-disk layout, closing.

use futures::future::join_all;
use idb_session_store::{IndexedDbSessionManager, SessionManager, TurnOptions};
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

use crate::conformance::{self, assert_code, session};
use crate::raw_idb::{hide_get_all_records, layout, open_newer, put_raw, restore_get_all_records};
use crate::support::TempDb;

#[wasm_bindgen_test]
async fn sessions_survive_closing_and_reopening() {
    let db = TempDb::new("reopen");
    let a = session("kept", 80);
    let b = session("also kept", 3);
    let first = db.open().await;
    first.save(&a).await.unwrap();
    first.save(&b).await.unwrap();
    first
        .tag(&a.metadata.id, vec!["later".into()])
        .await
        .unwrap();
    let listed = first.list().await.unwrap();
    first.close();
    drop(first);

    let second = db.open().await;
    assert_eq!(second.list().await.unwrap(), listed);
    let back = second.resume(&a.metadata.id).await.unwrap();
    assert_eq!((back.messages, back.state), (a.messages, a.state));
    assert_eq!(back.metadata.tags, ["test", "later"]);
    // The write clock persists too (the newest stamp): a write after reopening still sorts first.
    second
        .rename(&b.metadata.id, "renamed".into())
        .await
        .unwrap();
    assert_eq!(second.list().await.unwrap()[0].id, b.metadata.id);
    second.close();
    db.remove().await;
}

#[wasm_bindgen_test]
async fn two_connections_racing_lose_no_update() {
    let db = TempDb::new("race");
    let (tab1, tab2) = (db.open().await, db.open().await);
    let s = session("shared", 10);
    tab1.save(&s).await.unwrap();
    let id = s.metadata.id.as_str();
    // Every tag call reads, merges and writes in one transaction: none may overwrite another.
    let calls = (0..40).map(|i| {
        let tab = if i % 2 == 0 { &tab1 } else { &tab2 };
        tab.tag(id, vec![format!("t{i}")])
    });
    for result in join_all(calls).await {
        result.unwrap();
    }
    let tags = tab2.resume(id).await.unwrap().metadata.tags;
    assert_eq!(tags.len(), 41, "{tags:?}");
    for i in 0..40 {
        assert!(tags.contains(&format!("t{i}")), "t{i} lost: {tags:?}");
    }
    // Renames and tags interleaved from both connections: the last rename wins, tags all stay.
    let (r1, t2) = futures::join!(
        tab1.rename(id, "from tab 1".into()),
        tab2.tag(id, vec!["from tab 2".into()])
    );
    r1.unwrap();
    t2.unwrap();
    let meta = tab1.resume(id).await.unwrap().metadata;
    assert_eq!(meta.name.as_deref(), Some("from tab 1"));
    assert!(meta.tags.contains(&"from tab 2".to_owned()));
    tab1.close();
    tab2.close();
    db.remove().await;
}

#[wasm_bindgen_test]
async fn a_reader_never_sees_a_half_written_save() {
    let db = TempDb::new("torn");
    let (writer, reader) = (db.open().await, db.open().await);
    let mut s = session("versions", 0);
    let version = |s: &mut idb_session_store::Session, v: usize, n: usize| {
        s.messages = (0..n).map(|i| json!({"version": v, "i": i})).collect();
        s.metadata.turn_count = n as u32;
        s.state = json!({"version": v});
    };
    version(&mut s, 0, 300);
    writer.save(&s).await.unwrap();
    let id = s.metadata.id.clone();
    let writes = async {
        for v in 1..=12 {
            version(&mut s, v, if v % 2 == 0 { 300 } else { 97 });
            writer.save(&s).await.unwrap();
        }
    };
    let reads = async {
        let mut seen = Vec::new();
        for _ in 0..40 {
            let r = reader.resume(&id).await.unwrap();
            let v = r.state["version"].as_u64().unwrap();
            assert_eq!(r.messages.len() as u32, r.metadata.turn_count);
            assert_eq!(
                r.messages.len(),
                if v % 2 == 0 { 300 } else { 97 },
                "version {v}"
            );
            assert!(
                r.messages.iter().all(|m| m["version"] == v),
                "messages of two versions mixed"
            );
            seen.push(v);
        }
        seen
    };
    let ((), seen) = futures::join!(writes, reads);
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "versions went backwards: {seen:?}"
    );
    writer.close();
    reader.close();
    db.remove().await;
}

#[wasm_bindgen_test]
async fn list_reads_metadata_only_and_damage_is_reported() {
    let db = TempDb::new("damage");
    let store = db.open().await;
    let s = session("damaged", 40);
    let stored = store.save_returning(&s).await.unwrap();
    store.close();
    // Spoil the first message chunk behind the store's back.
    let key = js_sys::Array::of2(&JsValue::from_str(&s.metadata.id), &JsValue::from_f64(0.0));
    put_raw(
        &db.name,
        "chunks",
        key.into(),
        JsValue::from_str("{not json"),
    )
    .await;

    let store = db.open().await;
    assert_eq!(
        store.list().await.unwrap(),
        [stored],
        "listing never touches the messages"
    );
    let err = assert_code(store.resume(&s.metadata.id).await, "STORAGE");
    assert!(err.to_string().contains(&s.metadata.id), "{err}");
    store.close();
    db.remove().await;
}

#[wasm_bindgen_test]
async fn the_database_has_the_version_3_layout() {
    let db = TempDb::new("layout");
    db.open().await.close();
    let text = layout(&db.name).await.as_string().unwrap();
    let got: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        got,
        json!({
            "version": 3,
            "stores": ["chunks", "deletions", "indexed", "sessions", "states", "sync", "synced", "words"],
            "keyPath": "metadata.id",
            "indexes": ["agent", "tag", "updated_at"],
            "indexKeyPath": ["metadata.updatedAt", "seq"],
            "tag": ["tagKeys", true],
            "agent": ["metadata.agentName", "metadata.updatedAt", "seq"],
            "words": [null, ["word"], "w", true],
        })
    );
    db.remove().await;
}

#[wasm_bindgen_test]
async fn closed_stores_refuse_every_call() {
    let db = TempDb::new("closed");
    let store = db.open().await;
    let s = session("before close", 1);
    store.save(&s).await.unwrap();
    store.close();
    let id = s.metadata.id.as_str();
    assert_code(store.list().await, "CLOSED");
    assert_code(store.resume(id).await, "CLOSED");
    assert_code(store.save(&s).await, "CLOSED");
    assert_code(store.delete(id).await, "CLOSED");
    assert_code(store.fork(id, None).await, "CLOSED");
    assert_code(store.rewind(id, 0).await, "CLOSED");
    assert_code(store.tag(id, vec!["x".into()]).await, "CLOSED");
    assert_code(store.rename(id, "x".into()).await, "CLOSED");
    let again = db.open().await;
    assert_eq!(again.resume(id).await.unwrap().messages, s.messages);
    again.close();
    db.remove().await;
}

#[wasm_bindgen_test]
async fn a_newer_version_elsewhere_closes_this_connection() {
    let db = TempDb::new("upgrade");
    let store = db.open().await;
    let s = session("old tab", 1);
    store.save(&s).await.unwrap();
    // Another tab upgrades the database: this connection must step aside instead of blocking it.
    // One past the store's schema (version 3, see the layout test above).
    open_newer(&db.name, 4).await;
    let err = assert_code(store.resume(&s.metadata.id).await, "CLOSED");
    assert!(err.to_string().contains("newer version"), "{err}");
    db.remove().await;
}

#[wasm_bindgen_test]
async fn opening_needs_a_database_name() {
    let err = IndexedDbSessionManager::open("").await.unwrap_err();
    assert_eq!(err.code(), "INVALID_INPUT");
}

#[wasm_bindgen_test]
async fn pages_are_right_without_get_all_records_too() {
    // Browsers without IndexedDB 3.0's getAll direction page with a cursor instead.
    let db = TempDb::new("cursor-pages");
    let store = db.open().await;
    hide_get_all_records();
    conformance::list_page_returns_slices_of_list(&store).await;
    restore_get_all_records();
    store.close();
    db.remove().await;
}

#[wasm_bindgen_test]
async fn writes_built_on_a_stale_view_are_redone() {
    // Each connection remembers what it last wrote and writes without reading first; another
    // connection's writes in between must be noticed inside the transaction, never overwritten.
    let db = TempDb::new("stale");
    let (a, b) = (db.open().await, db.open().await);
    let mut s = session("shared", 300);
    a.save(&s).await.unwrap();
    let mut other = s.clone();
    other.messages = (0..300).map(|i| json!({"from": "b", "i": i})).collect();
    b.save(&other).await.unwrap();
    // A changes only the last message after B rewrote them all: A's save replaces B's whole.
    s.messages[299] = json!({"from": "a", "edited": true});
    a.save(&s).await.unwrap();
    assert_eq!(b.resume(&s.metadata.id).await.unwrap().messages, s.messages);

    let id = s.metadata.id.as_str();
    a.append(id, vec![json!("a1")], TurnOptions::tokens(1))
        .await
        .unwrap();
    b.append(id, vec![json!("b1")], TurnOptions::tokens(1))
        .await
        .unwrap();
    a.append(id, vec![json!("a2")], TurnOptions::tokens(1))
        .await
        .unwrap();
    let back = b.resume(id).await.unwrap();
    assert_eq!(
        back.messages[300..],
        [json!("a1"), json!("b1"), json!("a2")]
    );
    assert_eq!(back.metadata.turn_count, 300 + 3);

    // B deletes the session A appended to last: A's append must not bring it back.
    b.delete(id).await.unwrap();
    assert_code(
        a.append(id, vec![json!("a3")], TurnOptions::tokens(1))
            .await,
        "NOT_FOUND",
    );
    assert_code(b.resume(id).await, "NOT_FOUND");
    assert!(b.list().await.unwrap().iter().all(|m| m.id != id));

    // The clock moved on in B: A's next write must still sort first.
    let fresh = session("fresh", 1);
    b.save(&session("from b", 1)).await.unwrap();
    a.save(&fresh).await.unwrap();
    assert_eq!(b.list().await.unwrap()[0].id, fresh.metadata.id);
    a.close();
    b.close();
    db.remove().await;
}

#[wasm_bindgen_test]
async fn rewind_cuts_long_astral_messages_exactly() {
    // A rewind copies only a growing start of the chunk into wasm; long messages of astral
    // characters make it grow several times and split surrogate pairs at the prefix's end.
    let db = TempDb::new("rewind-long");
    let store = db.open().await;
    let mut s = session("long messages", 0);
    s.messages = (0..40)
        .map(|i| json!({"i": i, "text": "😀,]\"".repeat(300 + i), "nested": [{"a": "}"}]}))
        .collect();
    s.metadata.turn_count = 40;
    store.save(&s).await.unwrap();
    for n in [39, 17, 5, 1, 0] {
        let r = store.rewind(&s.metadata.id, n).await.unwrap();
        assert_eq!(r.messages, s.messages[..n as usize], "rewind to {n}");
        assert_eq!(store.resume(&s.metadata.id).await.unwrap(), r);
    }
    store.close();
    db.remove().await;
}
