//! Turns that carry state, and replies that stream: `append` with a state, `replace_last`.

use idb_session_store::{SessionManager, TurnOptions, MAX_DEPTH};
use serde_json::{json, Value};

use super::*;

fn with_state(tokens: u64, state: Value) -> TurnOptions {
    TurnOptions {
        tokens,
        state: Some(state),
    }
}

pub async fn append_carries_the_turns_state(m: &impl SessionManager) {
    let s = session("stateful", 3);
    m.save(&s).await.unwrap();
    let id = s.metadata.id.as_str();
    let state = json!({"cwd": "/tmp/build", "step": 2, "plugins": {"fs": false}});
    let meta = m
        .append(
            id,
            vec![json!("q"), json!("a")],
            with_state(7, state.clone()),
        )
        .await
        .unwrap();
    assert_eq!(meta.turn_count, s.metadata.turn_count + 1);
    assert_eq!(meta.total_tokens, s.metadata.total_tokens + 7);
    let back = m.resume(id).await.unwrap();
    assert_eq!(back.metadata, meta);
    assert_eq!(back.state, state);
    assert_eq!(back.messages[..3], s.messages[..]);
    assert_eq!(back.messages[3..], [json!("q"), json!("a")]);

    // Without a state the state stays; `null` is a state like any other.
    m.append(id, vec![json!("x")], TurnOptions::tokens(1))
        .await
        .unwrap();
    assert_eq!(m.resume(id).await.unwrap().state, state);
    m.append(id, vec![], with_state(0, Value::Null))
        .await
        .unwrap();
    assert_eq!(m.resume(id).await.unwrap().state, Value::Null);

    // A state nested too deep is refused, and nothing of the turn is written.
    let before = snapshot(m).await;
    let deep = with_state(1, nested(MAX_DEPTH + 1));
    assert_code(m.append(id, vec![json!("y")], deep).await, "INVALID_INPUT");
    assert_eq!(snapshot(m).await, before);
}

pub async fn replace_last_rewrites_only_the_last_message(m: &impl SessionManager) {
    // A history over chunk boundaries (stores that chunk: 1,024 per saved record) and appended
    // turns, then a reply streamed into its last message.
    let s = session("streaming", 1_100);
    m.save(&s).await.unwrap();
    let id = s.metadata.id.as_str();
    let mut expected = s.messages.clone();
    let turn = vec![
        json!({"role": "user", "content": "go"}),
        json!({"role": "assistant", "content": ""}),
    ];
    m.append(id, turn.clone(), TurnOptions::tokens(3))
        .await
        .unwrap();
    expected.extend(turn);
    let mut reply = String::new();
    let mut tokens = s.metadata.total_tokens + 3;
    for piece in ["Hel", "lo, ", "wor", "ld! 😀", " \"quoted\" ,] {[", "\\"] {
        reply.push_str(piece);
        let message = json!({"role": "assistant", "content": reply});
        let meta = m
            .replace_last(id, message.clone(), TurnOptions::tokens(1))
            .await
            .unwrap();
        tokens += 1;
        *expected.last_mut().unwrap() = message;
        assert_eq!(
            meta.turn_count,
            s.metadata.turn_count + 1,
            "a reply is no new turn"
        );
        assert_eq!(meta.total_tokens, tokens);
        let back = m.resume(id).await.unwrap();
        assert_eq!(back.messages, expected, "after {reply:?}");
        assert_eq!(back.state, s.state);
        assert_eq!(back.metadata, meta);
    }
    // With a state; then the session goes on as usual.
    let meta = m
        .replace_last(id, json!("final"), with_state(0, json!({"done": true})))
        .await
        .unwrap();
    *expected.last_mut().unwrap() = json!("final");
    assert_eq!(meta.total_tokens, tokens);
    m.append(id, vec![json!("next")], TurnOptions::tokens(0))
        .await
        .unwrap();
    expected.push(json!("next"));
    let back = m.resume(id).await.unwrap();
    assert_eq!(
        (back.messages, back.state),
        (expected.clone(), json!({"done": true}))
    );

    // After rewinds onto and beside chunk boundaries, the last message is still the one replaced.
    for keep in [1_025, 1_024, 1_023, 1] {
        m.rewind(id, keep).await.unwrap();
        expected.truncate(keep as usize);
        m.replace_last(id, json!({"kept": keep}), TurnOptions::default())
            .await
            .unwrap();
        *expected.last_mut().unwrap() = json!({"kept": keep});
        assert_eq!(
            m.resume(id).await.unwrap().messages,
            expected,
            "rewound to {keep}"
        );
    }
}

pub async fn replace_last_replaces_empty_arrays_and_objects(m: &impl SessionManager) {
    // A message may be any JSON value, `[]` and `{}` too, and be the only one: stores that scan
    // their text for where the last message starts must not take `[[]]` for an empty history.
    for first in [json!([]), json!({}), json!([[], {}])] {
        let mut s = session("empty values", 0);
        s.messages = vec![first.clone()];
        m.save(&s).await.unwrap();
        let id = s.metadata.id.as_str();
        m.replace_last(id, json!({}), TurnOptions::default())
            .await
            .unwrap();
        assert_eq!(
            m.resume(id).await.unwrap().messages,
            [json!({})],
            "over {first}"
        );
        m.append(id, vec![json!([])], TurnOptions::default())
            .await
            .unwrap();
        m.replace_last(id, first.clone(), TurnOptions::default())
            .await
            .unwrap();
        assert_eq!(
            m.resume(id).await.unwrap().messages,
            [json!({}), first.clone()],
            "after {first}"
        );
    }
}

pub async fn replace_last_refuses_and_changes_nothing(m: &impl SessionManager) {
    let empty = session("no messages", 0);
    m.save(&empty).await.unwrap();
    let full = session("some", 4);
    m.save(&full).await.unwrap();
    let before = snapshot(m).await;
    let err = assert_code(
        m.replace_last(&empty.metadata.id, json!("x"), TurnOptions::default())
            .await,
        "INVALID_INPUT",
    );
    assert!(err.to_string().contains("no message to replace"), "{err}");
    assert_code(
        m.replace_last("no-such-session", json!("x"), TurnOptions::default())
            .await,
        "NOT_FOUND",
    );
    assert_code(
        m.replace_last("", json!("x"), TurnOptions::default()).await,
        "INVALID_INPUT",
    );
    let id = full.metadata.id.as_str();
    assert_code(
        m.replace_last(id, nested(MAX_DEPTH + 1), TurnOptions::default())
            .await,
        "INVALID_INPUT",
    );
    let over = TurnOptions::tokens(idb_session_store::rules::MAX_SAFE_INTEGER);
    assert_code(m.replace_last(id, json!("x"), over).await, "INVALID_INPUT");
    let deep_state = with_state(0, nested(MAX_DEPTH + 1));
    assert_code(
        m.replace_last(id, json!("x"), deep_state).await,
        "INVALID_INPUT",
    );
    assert_eq!(snapshot(m).await, before);
}
