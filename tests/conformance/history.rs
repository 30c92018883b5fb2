//! Histories: long ones edited anywhere, exact strings and numbers, appended turns, pages of
//! the list, nesting limits.

use idb_session_store::{Session, SessionManager, TurnOptions, MAX_DEPTH};
use serde_json::{json, Value};

use super::*;

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
        let meta = m
            .append(&id, new.clone(), TurnOptions::tokens(10 * turn as u64))
            .await
            .unwrap();
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
    m.append(&id, vec![json!("after rewind")], TurnOptions::tokens(0))
        .await
        .unwrap();
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
        m.append("no-such-session", vec![json!(1)], TurnOptions::tokens(1))
            .await,
        "NOT_FOUND",
    );
    assert!(e.to_string().contains("no-such-session"));
    assert_code(
        m.append("", vec![json!(1)], TurnOptions::tokens(1)).await,
        "INVALID_INPUT",
    );
    let e = assert_code(
        m.append(&s.metadata.id, vec![json!(1)], TurnOptions::tokens(11))
            .await,
        "INVALID_INPUT",
    );
    assert!(e.to_string().contains(&s.metadata.id), "{e}");
    let mut maxed = session("maxed", 1);
    maxed.metadata.turn_count = u32::MAX;
    m.save(&maxed).await.unwrap();
    let before_maxed = snapshot(m).await;
    assert_code(
        m.append(&maxed.metadata.id, vec![json!(1)], TurnOptions::tokens(0))
            .await,
        "INVALID_INPUT",
    );
    assert_eq!(snapshot(m).await, before_maxed);
    assert_eq!(
        before_maxed[1..],
        before[..],
        "refused appends changed nothing"
    );
    m.append(&s.metadata.id, vec![], TurnOptions::tokens(9))
        .await
        .unwrap();
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
        m.append(
            &s.metadata.id,
            vec![nested(MAX_DEPTH + 1)],
            TurnOptions::tokens(0),
        )
        .await,
        "INVALID_INPUT",
    );
    assert_eq!(snapshot(m).await, before);
}
