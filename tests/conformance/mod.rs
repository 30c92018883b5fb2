//! The behaviour every `SessionManager` must have, as one suite of async cases. `tests/native.rs`
//! runs it against the in-memory store; `tests/web.rs` runs it in a browser against the in-memory
//! store and the IndexedDB store. `for_each_case!` lists every case, so no runner can skip one.

use idb_session_store::{Error, Session, SessionManager, SessionMetadata, MAX_DEPTH};
use serde_json::{json, Value};

/// Calls `$run! { case, case, ... }` with every case of the suite.
macro_rules! for_each_case {
    ($run:ident) => {
        $run! {
            save_then_resume_returns_the_same_session,
            save_stamps_updated_at_and_a_zero_created_at,
            save_keeps_a_given_created_at,
            save_replaces_in_place,
            save_returning_matches_list,
            list_is_newest_first_even_within_a_millisecond,
            every_write_moves_a_session_to_the_front,
            unknown_ids_are_not_found,
            delete_removes_only_that_session,
            fork_copies_under_a_new_uuid,
            fork_names_default_to_the_original_with_a_suffix,
            fork_diverges_independently,
            rewind_keeps_the_first_n_messages,
            rewind_past_the_end_keeps_all,
            rewind_to_zero_empties,
            tag_appends_new_tags_in_order_without_duplicates,
            rename_sets_the_name,
            invalid_input_is_refused_and_changes_nothing,
            long_histories_survive_edits_anywhere,
            strings_and_numbers_round_trip_exactly,
            empty_session_round_trips,
            append_adds_a_turn_after_the_history,
            append_refuses_unknown_ids_and_overflow,
            list_page_returns_slices_of_list,
            nesting_past_max_depth_is_refused,
        }
    };
}
pub(crate) use for_each_case;

/// Now, in Unix milliseconds, on the clock the stores use.
pub fn now_ms() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    }
}

/// A message shaped like a real agent transcript entry.
pub fn message(i: usize) -> Value {
    match i % 3 {
        0 => {
            json!({"role": "user", "content": format!("Question {i}: what does the build log say about the failing test?")})
        }
        1 => {
            json!({"role": "assistant", "content": format!("Turn {i}: let me look."), "tool_calls": [
                {"id": format!("call_{i}"), "name": "read_file", "arguments": {"path": "build.log", "lines": [1, 200]}}
            ]})
        }
        _ => {
            json!({"role": "tool", "tool_call_id": format!("call_{}", i - 1), "content": "error[E0308]: mismatched types"})
        }
    }
}

/// A session with `n` messages, a name, tags and some state.
pub fn session(name: &str, n: usize) -> Session {
    let mut s = Session::new("code-agent");
    s.metadata.name = Some(name.to_owned());
    s.metadata.tags = vec!["test".to_owned()];
    s.metadata.turn_count = n as u32;
    s.metadata.total_tokens = 1_234;
    s.messages = (0..n).map(message).collect();
    s.state = json!({"cwd": "/home/user", "plugins": {"fs": true}});
    s
}

#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(result: Result<T, Error>, code: &str) -> Error {
    match result {
        Err(e) => {
            assert_eq!(e.code(), code, "wrong error: {e}");
            e
        }
        Ok(v) => panic!("expected {code}, got Ok({v:?})"),
    }
}

fn ids(list: &[SessionMetadata]) -> Vec<&str> {
    list.iter().map(|m| m.id.as_str()).collect()
}

/// Everything a store holds, for comparing before and after a refused call.
async fn snapshot(m: &impl SessionManager) -> Vec<Session> {
    let mut all = Vec::new();
    for meta in m.list().await.unwrap() {
        all.push(m.resume(&meta.id).await.unwrap());
    }
    all
}

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
        m.append(&id, new.clone(), 0).await.unwrap();
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

pub async fn long_histories_survive_edits_anywhere(m: &impl SessionManager) {
    let mut s = session("edits", 300);
    m.save(&s).await.unwrap();
    let check = |expected: Session| async move {
        let back = m.resume(&expected.metadata.id).await.unwrap();
        assert_eq!(back.messages, expected.messages);
        assert_eq!(back.state, expected.state);
    };
    s.messages[5] = json!({"role": "user", "content": "edited early"});
    m.save(&s).await.unwrap();
    check(s.clone()).await;
    s.messages
        .push(json!({"role": "assistant", "content": "appended"}));
    m.save(&s).await.unwrap();
    check(s.clone()).await;
    s.messages.truncate(140);
    m.save(&s).await.unwrap();
    check(s.clone()).await;
    s.messages.remove(0);
    s.state = json!({"cwd": "/tmp"});
    m.save(&s).await.unwrap();
    check(s.clone()).await;
    s.messages.extend((0..200).map(message));
    m.save(&s).await.unwrap();
    check(s.clone()).await;
}

pub async fn strings_and_numbers_round_trip_exactly(m: &impl SessionManager) {
    let mut s = session("exact \u{0} 𝄞 名前", 0);
    s.metadata.id = "id with spaces / and 🚀".into();
    s.metadata.tags = vec!["𝄞".into(), "\u{0}".into(), " ".into()];
    s.metadata.total_tokens = (1 << 53) - 1;
    s.metadata.turn_count = u32::MAX;
    s.messages = vec![
        json!({"__proto__": {"polluted": true}, "constructor": "c", "content": "a\u{0}b\u{1F600}\n\t\"\\"}),
        json!([
            0,
            -1,
            1.5,
            -0.25,
            1e300,
            5e-324,
            9007199254740993_u64,
            -9007199254740993_i64,
            u64::MAX
        ]),
        json!(null),
        json!("just a string"),
        json!({"nested": {"deeper": [[[{"k": "v"}]]]}}),
        json!("x".repeat(100_000)),
    ];
    s.state = json!({"": "empty key", "emoji 🦀": [true, false]});
    m.save(&s).await.unwrap();
    let back = m.resume(&s.metadata.id).await.unwrap();
    assert_eq!(back.messages, s.messages);
    assert_eq!(back.state, s.state);
    assert_eq!(back.metadata.name, s.metadata.name);
    assert_eq!(back.metadata.tags, s.metadata.tags);
    assert_eq!(
        (back.metadata.total_tokens, back.metadata.turn_count),
        ((1 << 53) - 1, u32::MAX)
    );
}

pub async fn empty_session_round_trips(m: &impl SessionManager) {
    let s = Session::new("bare-agent");
    let stored = m.save_returning(&s).await.unwrap();
    assert_eq!(stored.name, None);
    assert_eq!(stored.agent_name, "bare-agent");
    let back = m.resume(&s.metadata.id).await.unwrap();
    assert!(back.messages.is_empty());
    assert_eq!(back.state, Value::Null);
}

pub async fn append_adds_a_turn_after_the_history(m: &impl SessionManager) {
    // 30 messages leave the last chunk partly filled in stores that chunk; appends fill it, cross
    // it, start new ones, and (1,100 at once) span more than one new chunk.
    let mut s = session("growing", 30);
    let saved = m.save_returning(&s).await.unwrap();
    let id = s.metadata.id.clone();
    let mut expected_tokens = s.metadata.total_tokens;
    for (turn, size) in [1usize, 5, 70, 0, 150, 2, 300, 1100]
        .into_iter()
        .enumerate()
    {
        let new: Vec<Value> = (0..size).map(|i| json!({"turn": turn, "i": i})).collect();
        let meta = m.append(&id, new.clone(), 10 * turn as u64).await.unwrap();
        s.messages.extend(new);
        expected_tokens += 10 * turn as u64;
        assert_eq!(meta.turn_count, 30 + turn as u32 + 1);
        assert_eq!(meta.total_tokens, expected_tokens);
        assert!(meta.updated_at >= saved.updated_at);
        assert_eq!(meta.created_at, saved.created_at);
        let back = m.resume(&id).await.unwrap();
        assert_eq!(back.messages, s.messages, "after append {turn}");
        assert_eq!(back.metadata, meta);
        assert_eq!(back.state, s.state);
    }
    // A whole-session save after appends, and an append after a rewind, stay consistent.
    s.messages.truncate(40);
    s.metadata = m.resume(&id).await.unwrap().metadata;
    m.save(&s).await.unwrap();
    m.rewind(&id, 33).await.unwrap();
    m.append(&id, vec![json!("after rewind")], 0).await.unwrap();
    let back = m.resume(&id).await.unwrap();
    assert_eq!(back.messages[..33], s.messages[..33]);
    assert_eq!(back.messages[33], json!("after rewind"));
    assert_eq!(back.messages.len(), 34);
    assert_eq!(m.list().await.unwrap()[0].id, id);
}

pub async fn append_refuses_unknown_ids_and_overflow(m: &impl SessionManager) {
    let mut s = session("full", 3);
    s.metadata.total_tokens = (1 << 53) - 10;
    m.save(&s).await.unwrap();
    let before = snapshot(m).await;
    let e = assert_code(
        m.append("no-such-session", vec![json!(1)], 1).await,
        "NOT_FOUND",
    );
    assert!(e.to_string().contains("no-such-session"));
    assert_code(m.append("", vec![json!(1)], 1).await, "INVALID_INPUT");
    let e = assert_code(
        m.append(&s.metadata.id, vec![json!(1)], 11).await,
        "INVALID_INPUT",
    );
    assert!(e.to_string().contains(&s.metadata.id), "{e}");
    let mut maxed = session("maxed", 1);
    maxed.metadata.turn_count = u32::MAX;
    m.save(&maxed).await.unwrap();
    let before_maxed = snapshot(m).await;
    assert_code(
        m.append(&maxed.metadata.id, vec![json!(1)], 0).await,
        "INVALID_INPUT",
    );
    assert_eq!(snapshot(m).await, before_maxed);
    assert_eq!(
        before_maxed[1..],
        before[..],
        "refused appends changed nothing"
    );
    m.append(&s.metadata.id, vec![], 9).await.unwrap();
    assert_eq!(
        m.resume(&s.metadata.id)
            .await
            .unwrap()
            .metadata
            .total_tokens,
        (1 << 53) - 1
    );
}

pub async fn list_page_returns_slices_of_list(m: &impl SessionManager) {
    for i in 0..7 {
        m.save(&session(&format!("p{i}"), 1)).await.unwrap();
    }
    m.tag(&m.list().await.unwrap()[6].id, vec!["bumped".into()])
        .await
        .unwrap();
    let all = m.list().await.unwrap();
    for (offset, limit) in [
        (0, 3),
        (3, 3),
        (6, 3),
        (7, 3),
        (10, 3),
        (0, 0),
        (2, 100),
        (0, usize::MAX),
    ] {
        let page = m.list_page(offset, limit).await.unwrap();
        let expected: Vec<_> = all.iter().skip(offset).take(limit).cloned().collect();
        assert_eq!(page, expected, "page offset {offset} limit {limit}");
    }
}

/// A value `depth` arrays and objects deep, alternating.
pub fn nested(depth: usize) -> Value {
    (0..depth).fold(json!("leaf"), |v, i| {
        if i % 2 == 0 {
            json!([v])
        } else {
            json!({ "k": v })
        }
    })
}

pub async fn nesting_past_max_depth_is_refused(m: &impl SessionManager) {
    let mut s = session("deep", 1);
    s.messages = vec![nested(MAX_DEPTH)];
    s.state = nested(MAX_DEPTH);
    m.save(&s).await.unwrap();
    let back = m.resume(&s.metadata.id).await.unwrap();
    assert_eq!(
        (&back.messages, &back.state),
        (&s.messages, &s.state),
        "the deepest allowed reads back"
    );
    let before = snapshot(m).await;
    let mut deeper = s.clone();
    deeper.messages.push(nested(MAX_DEPTH + 1));
    let e = assert_code(m.save(&deeper).await, "INVALID_INPUT");
    assert!(e.to_string().contains("messages[1]"), "{e}");
    let mut deeper = s.clone();
    deeper.state = json!({ "wrapped": nested(MAX_DEPTH) });
    assert_code(m.save(&deeper).await, "INVALID_INPUT");
    assert_code(
        m.append(&s.metadata.id, vec![nested(MAX_DEPTH + 1)], 0)
            .await,
        "INVALID_INPUT",
    );
    assert_eq!(snapshot(m).await, before);
}
