//! The sync protocol on the SQL stores: pushes apply on the version they were made on, once;
//! pulls carry every write (the API's too) so that replaying them rebuilds the server's state;
//! nothing deleted comes back; a cursor older than the log gets everything anew.

use std::collections::HashMap;
use std::time::Duration;

use idb_session_store::portable::{self, OnConflict};
use idb_session_store::{Session, SessionManager, SessionMetadata, TurnOptions};
use serde_json::json;
use session_server::sql::OwnerSessions;
use session_server::sync::{Entry, Op, Outcome, Push};

use crate::conformance::{assert_code, session};
use crate::db::{Backend, TestDb};

fn push(device: &str, acked: i64, ops: Vec<Op>) -> Push {
    Push {
        device: device.to_owned(),
        acked,
        ops,
    }
}

fn put(op: i64, base: Option<i64>, session: &Session) -> Op {
    Op::Put {
        op,
        base,
        session: session.clone(),
    }
}

/// A patch appending `messages` to `session` (as the device has it, with `count` messages on the
/// server at `base`).
fn append(
    op: i64,
    base: i64,
    session: &Session,
    count: u64,
    messages: Vec<serde_json::Value>,
) -> Op {
    let mut metadata = session.metadata.clone();
    metadata.turn_count += 1;
    Op::Patch {
        op,
        base,
        cut: count,
        messages,
        state: None,
        metadata,
    }
}

fn version(outcome: &Outcome) -> i64 {
    match outcome {
        Outcome::Applied { version, .. } => *version,
        other => panic!("not applied: {other:?}"),
    }
}

/// The sessions a device that applied every pulled entry since `since` (to `have`) holds.
async fn replay(s: &OwnerSessions, have: &mut HashMap<String, (i64, Session)>, since: i64) -> i64 {
    let mut cursor = since;
    loop {
        let page = s.pull(cursor, 7, false, None).await.unwrap();
        assert!(!page.reset, "no reset expected");
        for entry in page.entries {
            match entry {
                Entry::Put { seq, session } => {
                    have.insert(session.metadata.id.clone(), (seq, session));
                }
                Entry::Patch {
                    seq,
                    prev,
                    cut,
                    messages,
                    state,
                    metadata,
                } => {
                    let (version, s) = have
                        .get_mut(&metadata.id)
                        .expect("a patch of a known session");
                    if *version >= seq {
                        continue;
                    }
                    assert_eq!(
                        *version, prev,
                        "patches arrive on the version they apply to"
                    );
                    s.messages.truncate(cut as usize);
                    s.messages.extend(messages);
                    if let Some(state) = state {
                        s.state = state;
                    }
                    s.metadata = metadata;
                    *version = seq;
                }
                Entry::Meta {
                    seq,
                    prev,
                    metadata,
                } => {
                    let (version, s) = have.get_mut(&metadata.id).expect("a known session");
                    if *version >= seq {
                        continue;
                    }
                    assert_eq!(*version, prev);
                    s.metadata = metadata;
                    *version = seq;
                }
                Entry::Delete { id, .. } => {
                    have.remove(&id);
                }
            }
        }
        cursor = page.cursor;
        if !page.more {
            return cursor;
        }
    }
}

/// What the server holds, as `replay` builds it.
async fn server_state(s: &OwnerSessions) -> HashMap<String, Session> {
    let mut all = HashMap::new();
    for meta in s.list().await.unwrap() {
        all.insert(meta.id.clone(), s.resume(&meta.id).await.unwrap());
    }
    all
}

fn sessions(have: &HashMap<String, (i64, Session)>) -> HashMap<String, Session> {
    have.iter()
        .map(|(id, (_, s))| (id.clone(), s.clone()))
        .collect()
}

async fn every_write_reaches_the_log_and_replays_to_the_server_state(backend: Backend) {
    let db = TestDb::new(backend).await;
    let s = db.store.owner("o").unwrap();
    let mut have = HashMap::new();
    let mut cursor = 0;
    let a = session("a", 30);
    s.save(&a).await.unwrap();
    let id = a.metadata.id.as_str();
    // Each kind of write, with a replay after some and one at the end, pages of 7.
    s.append(
        id,
        vec![json!("t1"), json!("t2")],
        TurnOptions {
            tokens: 3,
            state: Some(json!({"s": 1})),
        },
    )
    .await
    .unwrap();
    cursor = replay(&s, &mut have, cursor).await;
    assert_eq!(sessions(&have), server_state(&s).await);
    s.replace_last(id, json!("t2, streamed"), TurnOptions::tokens(1))
        .await
        .unwrap();
    s.tag(id, vec!["x".into()]).await.unwrap();
    s.rename(id, "renamed".into()).await.unwrap();
    s.rewind(id, 12).await.unwrap();
    let fork = s.fork(id, None).await.unwrap();
    s.append(&fork.id, vec![json!("on the fork")], TurnOptions::default())
        .await
        .unwrap();
    cursor = replay(&s, &mut have, cursor).await;
    assert_eq!(sessions(&have), server_state(&s).await);
    s.delete(id).await.unwrap();
    let mut text = String::new();
    let b = session("imported", 3);
    let exporter = idb_session_store::InMemorySessionManager::new();
    exporter.save(&b).await.unwrap();
    portable::export(&exporter, None, |line| {
        text.push_str(line);
        Ok(())
    })
    .await
    .unwrap();
    s.import(&text, OnConflict::Fail).await.unwrap();
    s.save(&session("saved whole", 5)).await.unwrap();
    let end = replay(&s, &mut have, cursor).await;
    assert_eq!(sessions(&have), server_state(&s).await);
    // A device starting from nothing gets the same in one pass.
    let mut fresh = HashMap::new();
    assert_eq!(replay(&s, &mut fresh, 0).await, end);
    assert_eq!(sessions(&fresh), server_state(&s).await);
    // Nothing new: one small answer, the same cursor.
    let nothing = s.pull(end, 500, false, None).await.unwrap();
    assert!(nothing.entries.is_empty() && !nothing.more);
    assert_eq!(nothing.cursor, end);
}

async fn pushes_apply_on_their_version_and_merge_tags_and_names(backend: Backend) {
    let db = TestDb::new(backend).await;
    let s = db.store.owner("o").unwrap();
    let x = session("shared", 4);
    let created = s
        .push(push("phone", 0, vec![put(1, None, &x)]))
        .await
        .unwrap();
    let v1 = version(&created[0]);
    // The laptop and the phone both append on v1: the first applies, the second conflicts.
    let laptop = s
        .push(push(
            "laptop",
            0,
            vec![append(1, v1, &x, 4, vec![json!("from the laptop")])],
        ))
        .await
        .unwrap();
    let v2 = version(&laptop[0]);
    let phone = s
        .push(push(
            "phone",
            1,
            vec![append(2, v1, &x, 4, vec![json!("from the phone")])],
        ))
        .await
        .unwrap();
    assert_eq!(phone, [Outcome::Conflict { op: 2, version: v2 }]);
    let back = s.resume(&x.metadata.id).await.unwrap();
    assert_eq!(back.messages.len(), 5);
    assert_eq!(back.messages[4], json!("from the laptop"));
    // Tags merge as a set and a rename applies whatever the version; last rename in server order wins.
    let meta = |op, tags: &[&str], name: Option<&str>| Op::Meta {
        op,
        id: x.metadata.id.clone(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        name: name.map(str::to_owned),
    };
    s.push(push(
        "phone",
        2,
        vec![meta(3, &["phone", "test"], Some("by the phone"))],
    ))
    .await
    .unwrap();
    s.push(push(
        "laptop",
        1,
        vec![meta(2, &["laptop"], Some("by the laptop"))],
    ))
    .await
    .unwrap();
    let back = s.resume(&x.metadata.id).await.unwrap();
    assert_eq!(back.metadata.tags, ["test", "phone", "laptop"]);
    assert_eq!(back.metadata.name.as_deref(), Some("by the laptop"));
    // A put on an old version conflicts; on the current one it replaces; a new id with a known
    // id's session conflicts too.
    let current = s.pull(0, 500, false, None).await.unwrap().cursor;
    let mut whole = back.clone();
    whole.messages.push(json!("whole"));
    let outcomes = s
        .push(push(
            "phone",
            3,
            vec![
                put(4, Some(v1), &whole),
                put(5, Some(current), &whole),
                put(6, None, &whole),
            ],
        ))
        .await
        .unwrap();
    assert!(
        matches!(outcomes[0], Outcome::Conflict { op: 4, .. }),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[1], Outcome::Applied { op: 5, .. }),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[2], Outcome::Conflict { op: 6, .. }),
        "{outcomes:?}"
    );
    assert_eq!(s.resume(&x.metadata.id).await.unwrap().messages.len(), 6);
}

async fn a_retried_push_applies_nothing_twice(backend: Backend) {
    let db = TestDb::new(backend).await;
    let s = db.store.owner("o").unwrap();
    let x = session("retried", 2);
    let first = push("d", 0, vec![put(1, None, &x)]);
    let v1 = version(&s.push(first.clone()).await.unwrap()[0]);
    // Its answer was lost: the same push again is answered the same, and creates nothing more.
    assert_eq!(
        s.push(first).await.unwrap(),
        [Outcome::Applied { op: 1, version: v1 }]
    );
    assert_eq!(s.list().await.unwrap().len(), 1);
    let turn = push(
        "d",
        1,
        vec![
            append(2, v1, &x, 2, vec![json!("once")]),
            append(3, v1 + 1, &x, 3, vec![json!("and once")]),
        ],
    );
    let answered = s.push(turn.clone()).await.unwrap();
    // The answer was lost: the device sends the same push again, and gets the same answers.
    assert_eq!(s.push(turn.clone()).await.unwrap(), answered);
    let back = s.resume(&x.metadata.id).await.unwrap();
    assert_eq!(
        back.messages[2..],
        [json!("once"), json!("and once")],
        "each appended message is there once"
    );
    // The device that pushed pulls past its own changes: its cursor moves, nothing is sent.
    let all = s.pull(0, 500, false, None).await.unwrap();
    let own = s.pull(0, 500, false, Some("d")).await.unwrap();
    assert!(!all.entries.is_empty());
    assert!(own.entries.is_empty(), "{:?}", own.entries);
    assert_eq!(own.cursor, all.cursor);
    let other = s.pull(0, 500, false, Some("e")).await.unwrap();
    assert_eq!(other.entries.len(), all.entries.len());
    // Acknowledged outcomes are forgotten; an operation older than the last is then refused.
    s.push(push("d", 3, vec![])).await.unwrap();
    assert_code(s.push(turn).await, "INVALID_INPUT");
    // Numbers must grow within a push.
    let out_of_order = push(
        "d",
        3,
        vec![
            put(9, None, &session("a", 0)),
            put(8, None, &session("b", 0)),
        ],
    );
    assert_code(s.push(out_of_order).await, "INVALID_INPUT");
    assert_code(s.push(push("", 0, vec![])).await, "INVALID_INPUT");
}

async fn nothing_deleted_comes_back(backend: Backend) {
    let db = TestDb::new(backend).await;
    let s = db.store.owner("o").unwrap();
    let x = session("doomed", 3);
    let v1 = version(&s.push(push("a", 0, vec![put(1, None, &x)])).await.unwrap()[0]);
    s.push(push(
        "b",
        0,
        vec![Op::Delete {
            op: 1,
            id: x.metadata.id.clone(),
        }],
    ))
    .await
    .unwrap();
    // Device a, offline meanwhile, pushes its older copy in every way: none brings it back.
    let outcomes = s
        .push(push(
            "a",
            1,
            vec![
                append(2, v1, &x, 3, vec![json!("late")]),
                put(3, Some(v1), &x),
                Op::Meta {
                    op: 4,
                    id: x.metadata.id.clone(),
                    tags: vec!["late".into()],
                    name: None,
                },
            ],
        ))
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        [
            Outcome::Deleted { op: 2 },
            Outcome::Deleted { op: 3 },
            Outcome::Deleted { op: 4 }
        ]
    );
    assert_code(s.resume(&x.metadata.id).await, "NOT_FOUND");
    let pulled = s.pull(0, 500, false, None).await.unwrap();
    let id = x.metadata.id.clone();
    assert!(
        pulled
            .entries
            .iter()
            .all(|e| !matches!(e, Entry::Put { session, .. } if session.metadata.id == id)),
        "the put is sent as the delete it became"
    );
    assert!(pulled
        .entries
        .iter()
        .any(|e| matches!(e, Entry::Delete { id: d, .. } if *d == id)));
}

async fn a_cursor_older_than_the_log_gets_every_session_anew(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store.clone().keep_changes(Duration::ZERO);
    let s = store.owner("o").unwrap();
    let kept: Vec<Session> = (0..9).map(|i| session(&format!("kept {i}"), i)).collect();
    let mut ops: Vec<Op> = kept
        .iter()
        .enumerate()
        .map(|(i, k)| put(i as i64 + 1, None, k))
        .collect();
    let gone = session("gone", 1);
    ops.push(put(10, None, &gone));
    s.push(push("d", 0, ops)).await.unwrap();
    s.delete(&gone.metadata.id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    // The next push prunes every change older than now (the horizon is zero).
    s.push(push("d", 10, vec![])).await.unwrap();
    let first = s.pull(0, 4, false, None).await.unwrap();
    assert!(first.reset, "a cursor before the pruned changes resets");
    let mut seen: Vec<SessionMetadata> = Vec::new();
    let mut page = first;
    loop {
        for entry in &page.entries {
            let Entry::Put { session, .. } = entry else {
                panic!("a reset sends whole sessions")
            };
            seen.push(session.metadata.clone());
        }
        if !page.more {
            break;
        }
        page = s.pull(page.cursor, 4, true, None).await.unwrap();
    }
    let mut ids: Vec<String> = seen.iter().map(|m| m.id.clone()).collect();
    ids.sort();
    let mut expected: Vec<String> = kept.iter().map(|k| k.metadata.id.clone()).collect();
    expected.sort();
    assert_eq!(
        ids, expected,
        "every session there is, and not the deleted one"
    );
    // After the reset, pulls go on from its cursor.
    let after = s.pull(page.cursor, 500, false, None).await.unwrap();
    assert!(!after.reset && after.entries.is_empty());
}

on_both_backends!(
    every_write_reaches_the_log_and_replays_to_the_server_state,
    pushes_apply_on_their_version_and_merge_tags_and_names,
    a_retried_push_applies_nothing_twice,
    nothing_deleted_comes_back,
    a_cursor_older_than_the_log_gets_every_session_anew,
);
