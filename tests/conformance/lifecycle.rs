//! Saving, listing, resuming, deleting, forking, rewinding, tagging and renaming sessions, and
//! refusing bad input.

use idb_session_store::{Session, SessionManager, SessionMetadata, TurnOptions};
use serde_json::{json, Value};

use super::*;

pub async fn save_then_resume_returns_the_same_session(m: &impl SessionManager) {
    let s = session("roundtrip", 7);
    let stored = m.save_returning(&s).await.unwrap();
    let back = m.resume(&s.metadata.id).await.unwrap();
    assert_eq!(back.metadata, stored);
    assert_eq!(back.messages, s.messages);
    assert_eq!(back.state, s.state);
    let expected = SessionMetadata {
        created_at: stored.created_at,
        updated_at: stored.updated_at,
        ..s.metadata
    };
    assert_eq!(
        stored, expected,
        "only the timestamps may differ from what was saved"
    );
}

pub async fn save_stamps_updated_at_and_a_zero_created_at(m: &impl SessionManager) {
    let mut s = session("stamps", 1);
    s.metadata.updated_at = 42;
    let before = now_ms();
    let stored = m.save_returning(&s).await.unwrap();
    let after = now_ms();
    assert!(
        stored.updated_at >= before && stored.updated_at <= after,
        "{stored:?} not in {before}..={after}"
    );
    assert_eq!(stored.created_at, stored.updated_at);
}

pub async fn save_keeps_a_given_created_at(m: &impl SessionManager) {
    let mut s = session("created", 1);
    s.metadata.created_at = 1_700_000_000_000;
    let stored = m.save_returning(&s).await.unwrap();
    assert_eq!(stored.created_at, 1_700_000_000_000);
    assert_eq!(
        m.resume(&s.metadata.id).await.unwrap().metadata.created_at,
        1_700_000_000_000
    );
}

pub async fn save_replaces_in_place(m: &impl SessionManager) {
    let mut s = session("first", 3);
    let first = m.save_returning(&s).await.unwrap();
    s.metadata.name = Some("second".into());
    s.metadata.created_at = first.created_at;
    s.messages.truncate(1);
    s.state = json!(["replaced"]);
    m.save(&s).await.unwrap();
    let list = m.list().await.unwrap();
    assert_eq!(ids(&list), [s.metadata.id.as_str()]);
    assert_eq!(list[0].name.as_deref(), Some("second"));
    let back = m.resume(&s.metadata.id).await.unwrap();
    assert_eq!(back.messages, s.messages);
    assert_eq!(back.state, json!(["replaced"]));
    assert_eq!(back.metadata.created_at, first.created_at);
}

pub async fn save_returning_matches_list(m: &impl SessionManager) {
    let stored = m.save_returning(&session("listed", 2)).await.unwrap();
    assert_eq!(m.list().await.unwrap(), [stored]);
}

pub async fn list_is_newest_first_even_within_a_millisecond(m: &impl SessionManager) {
    let sessions: Vec<Session> = (0..5).map(|i| session(&format!("s{i}"), i)).collect();
    for s in &sessions {
        m.save(s).await.unwrap();
    }
    let list = m.list().await.unwrap();
    let expected: Vec<&str> = sessions
        .iter()
        .rev()
        .map(|s| s.metadata.id.as_str())
        .collect();
    assert_eq!(ids(&list), expected);
    assert!(list.windows(2).all(|w| w[0].updated_at >= w[1].updated_at));
}

pub async fn every_write_moves_a_session_to_the_front(m: &impl SessionManager) {
    let a = session("a", 4);
    let b = session("b", 4);
    let (a_id, b_id) = (a.metadata.id.as_str(), b.metadata.id.as_str());
    m.save(&a).await.unwrap();
    m.save(&b).await.unwrap();
    let front = |list: Vec<SessionMetadata>| list[0].id.clone();
    m.tag(a_id, vec!["x".into()]).await.unwrap();
    assert_eq!(front(m.list().await.unwrap()), a_id);
    m.rename(b_id, "b2".into()).await.unwrap();
    assert_eq!(front(m.list().await.unwrap()), b_id);
    m.rewind(a_id, 2).await.unwrap();
    assert_eq!(front(m.list().await.unwrap()), a_id);
    m.save(&b).await.unwrap();
    assert_eq!(front(m.list().await.unwrap()), b_id);
    m.resume(a_id).await.unwrap();
    assert_eq!(
        front(m.list().await.unwrap()),
        b_id,
        "reading is not a write"
    );
}

pub async fn unknown_ids_are_not_found(m: &impl SessionManager) {
    m.save(&session("other", 1)).await.unwrap();
    let id = "no-such-session";
    let errors = vec![
        assert_code(m.resume(id).await, "NOT_FOUND"),
        assert_code(m.delete(id).await, "NOT_FOUND"),
        assert_code(m.fork(id, None).await, "NOT_FOUND"),
        assert_code(m.rewind(id, 0).await, "NOT_FOUND"),
        assert_code(m.tag(id, vec!["t".into()]).await, "NOT_FOUND"),
        assert_code(m.rename(id, "n".into()).await, "NOT_FOUND"),
    ];
    for e in errors {
        assert!(e.to_string().contains(id), "message must name the id: {e}");
    }
    assert_eq!(m.list().await.unwrap().len(), 1);
}

pub async fn delete_removes_only_that_session(m: &impl SessionManager) {
    let keep = session("keep", 40);
    let gone = session("gone", 40);
    m.save(&keep).await.unwrap();
    m.save(&gone).await.unwrap();
    m.delete(&gone.metadata.id).await.unwrap();
    assert_code(m.resume(&gone.metadata.id).await, "NOT_FOUND");
    assert_code(m.delete(&gone.metadata.id).await, "NOT_FOUND");
    assert_eq!(ids(&m.list().await.unwrap()), [keep.metadata.id.as_str()]);
    assert_eq!(
        m.resume(&keep.metadata.id).await.unwrap().messages,
        keep.messages
    );
    // The id can be used again, and nothing of the deleted session comes back with it.
    let mut again = session("again", 1);
    again.metadata.id = gone.metadata.id.clone();
    m.save(&again).await.unwrap();
    assert_eq!(
        m.resume(&gone.metadata.id).await.unwrap().messages,
        again.messages
    );
}

fn is_uuid_v4(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 4)
}

pub async fn fork_copies_under_a_new_uuid(m: &impl SessionManager) {
    let mut s = session("original", 50);
    s.metadata.created_at = 1_000;
    m.save(&s).await.unwrap();
    let before = now_ms();
    let fork = m.fork(&s.metadata.id, Some("branch".into())).await.unwrap();
    assert_ne!(fork.id, s.metadata.id);
    assert!(is_uuid_v4(&fork.id), "{}", fork.id);
    assert_eq!(fork.name.as_deref(), Some("branch"));
    assert!(fork.created_at >= before);
    assert_eq!(fork.created_at, fork.updated_at);
    assert_eq!(
        (&fork.tags, &fork.agent_name),
        (&s.metadata.tags, &s.metadata.agent_name)
    );
    assert_eq!(
        (fork.turn_count, fork.total_tokens),
        (s.metadata.turn_count, s.metadata.total_tokens)
    );
    let copy = m.resume(&fork.id).await.unwrap();
    assert_eq!(copy.metadata, fork);
    assert_eq!((copy.messages, copy.state), (s.messages, s.state));
    assert_eq!(
        ids(&m.list().await.unwrap()),
        [fork.id.as_str(), s.metadata.id.as_str()]
    );
}

pub async fn fork_names_default_to_the_original_with_a_suffix(m: &impl SessionManager) {
    let named = session("plan", 1);
    let mut unnamed = session("", 1);
    unnamed.metadata.name = None;
    m.save(&named).await.unwrap();
    m.save(&unnamed).await.unwrap();
    let f = m.fork(&named.metadata.id, None).await.unwrap();
    assert_eq!(f.name.as_deref(), Some("plan (fork)"));
    let ff = m.fork(&f.id, None).await.unwrap();
    assert_eq!(ff.name.as_deref(), Some("plan (fork) (fork)"));
    assert_eq!(m.fork(&unnamed.metadata.id, None).await.unwrap().name, None);
}

pub async fn fork_diverges_independently(m: &impl SessionManager) {
    let s = session("trunk", 40);
    m.save(&s).await.unwrap();
    let fork_id = m.fork(&s.metadata.id, None).await.unwrap().id;
    let mut branch = m.resume(&fork_id).await.unwrap();
    branch
        .messages
        .push(json!({"role": "user", "content": "only on the branch"}));
    branch.state = json!({"branch": true});
    m.save(&branch).await.unwrap();
    m.rewind(&s.metadata.id, 3).await.unwrap();
    m.tag(&s.metadata.id, vec!["trunk-only".into()])
        .await
        .unwrap();
    let trunk = m.resume(&s.metadata.id).await.unwrap();
    let branch_back = m.resume(&fork_id).await.unwrap();
    assert_eq!(trunk.messages, s.messages[..3]);
    assert_eq!(trunk.state, s.state);
    assert_eq!(branch_back.messages.len(), 41);
    assert_eq!(branch_back.messages[..40], s.messages[..]);
    assert_eq!(branch_back.state, json!({"branch": true}));
    assert!(!branch_back.metadata.tags.contains(&"trunk-only".to_owned()));
    m.delete(&s.metadata.id).await.unwrap();
    assert_eq!(
        m.resume(&fork_id).await.unwrap().messages.len(),
        41,
        "deleting the original keeps the fork"
    );
}

pub async fn rewind_keeps_the_first_n_messages(m: &impl SessionManager) {
    // Stores that chunk (IndexedDB: 1,024 messages per saved record, appends topping up the last
    // record to 128) get cuts on, beside and between every chunk boundary: a saved 1,100 (chunks
    // at 0 and 1024), then appends of 60 (1024 topped up to 128 messages, new chunk at 1152) and
    // 200 (topped up, new chunk at 1272).
    let mut s = session("long", 1100);
    let saved = m.save_returning(&s).await.unwrap();
    let id = s.metadata.id.clone();
    for (turn, size) in [60, 200].into_iter().enumerate() {
        let new: Vec<Value> = (0..size).map(|i| json!({"turn": turn, "i": i})).collect();
        m.append(&id, new.clone(), TurnOptions::tokens(0))
            .await
            .unwrap();
        s.messages.extend(new);
    }
    for n in [
        1359, 1273, 1272, 1271, 1153, 1152, 1151, 1101, 1100, 1099, 1025, 1024, 1023, 500, 3,
    ] {
        let r = m.rewind(&id, n).await.unwrap();
        assert_eq!(r.messages, s.messages[..n as usize], "rewind to {n}");
        assert_eq!(r.metadata.turn_count, n);
        assert!(r.metadata.updated_at >= saved.updated_at);
        assert_eq!(r.state, s.state);
        let back = m.resume(&id).await.unwrap();
        assert_eq!(back, r, "rewind to {n} is persisted");
    }
}

pub async fn rewind_past_the_end_keeps_all(m: &impl SessionManager) {
    let mut s = session("short", 5);
    s.metadata.turn_count = 2;
    m.save(&s).await.unwrap();
    let r = m.rewind(&s.metadata.id, 1_000).await.unwrap();
    assert_eq!(r.messages, s.messages);
    assert_eq!(
        r.metadata.turn_count, 5,
        "turn_count becomes the number kept"
    );
    assert_eq!(m.resume(&s.metadata.id).await.unwrap(), r);
    assert_eq!(m.list().await.unwrap()[0], r.metadata);
}

pub async fn rewind_to_zero_empties(m: &impl SessionManager) {
    let s = session("zero", 33);
    m.save(&s).await.unwrap();
    let r = m.rewind(&s.metadata.id, 0).await.unwrap();
    assert!(r.messages.is_empty());
    assert_eq!(r.metadata.turn_count, 0);
    let back = m.resume(&s.metadata.id).await.unwrap();
    assert_eq!(back, r);
    let mut grown = back;
    grown.messages = (0..3).map(message).collect();
    m.save(&grown).await.unwrap();
    assert_eq!(
        m.resume(&s.metadata.id).await.unwrap().messages,
        grown.messages
    );
}

pub async fn tag_appends_new_tags_in_order_without_duplicates(m: &impl SessionManager) {
    let s = session("tags", 1);
    let saved = m.save_returning(&s).await.unwrap();
    m.tag(
        &s.metadata.id,
        vec![
            "reviewed".into(),
            "test".into(),
            "archived".into(),
            "reviewed".into(),
        ],
    )
    .await
    .unwrap();
    let meta = m.resume(&s.metadata.id).await.unwrap().metadata;
    assert_eq!(meta.tags, ["test", "reviewed", "archived"]);
    assert!(meta.updated_at >= saved.updated_at);
    m.tag(&s.metadata.id, vec![]).await.unwrap();
    assert_eq!(
        m.list().await.unwrap()[0].tags,
        ["test", "reviewed", "archived"]
    );
}

pub async fn rename_sets_the_name(m: &impl SessionManager) {
    let mut s = session("", 2);
    s.metadata.name = None;
    let saved = m.save_returning(&s).await.unwrap();
    m.rename(&s.metadata.id, "final-delivery".into())
        .await
        .unwrap();
    let back = m.resume(&s.metadata.id).await.unwrap();
    assert_eq!(back.metadata.name.as_deref(), Some("final-delivery"));
    assert!(back.metadata.updated_at >= saved.updated_at);
    assert_eq!(back.messages, s.messages);
}

pub async fn invalid_input_is_refused_and_changes_nothing(m: &impl SessionManager) {
    let s = session("stable", 35);
    m.save(&s).await.unwrap();
    let id = s.metadata.id.as_str();
    let before = snapshot(m).await;

    let with = |f: &dyn Fn(&mut Session)| {
        let mut bad = session("bad", 3);
        f(&mut bad);
        bad
    };
    let bad_sessions = [
        with(&|b| b.metadata.id = String::new()),
        with(&|b| b.metadata.id = "x".repeat(513)),
        with(&|b| b.metadata.name = Some(String::new())),
        with(&|b| b.metadata.tags = vec!["a".into(), "a".into()]),
        with(&|b| b.metadata.tags = vec![String::new()]),
        with(&|b| b.metadata.created_at = -1),
        with(&|b| b.metadata.updated_at = i64::MAX),
        with(&|b| b.metadata.total_tokens = 1 << 53),
        // Replacing an existing session with a bad one must leave the old one whole.
        with(&|b| {
            b.metadata.id = id.to_owned();
            b.metadata.tags = vec![String::new()];
        }),
    ];
    for bad in &bad_sessions {
        assert_code(m.save(bad).await, "INVALID_INPUT");
    }
    assert_code(m.resume("").await, "INVALID_INPUT");
    assert_code(m.delete("").await, "INVALID_INPUT");
    assert_code(m.rename(id, String::new()).await, "INVALID_INPUT");
    assert_code(
        m.tag(id, vec!["ok".into(), String::new()]).await,
        "INVALID_INPUT",
    );
    assert_code(m.fork(id, Some(String::new())).await, "INVALID_INPUT");
    assert_code(m.rewind("", 1).await, "INVALID_INPUT");
    let named = assert_code(m.rename(id, String::new()).await, "INVALID_INPUT");
    assert!(
        named.to_string().contains(id),
        "message names the session: {named}"
    );
    assert_eq!(snapshot(m).await, before);
}
