//! Property tests of validation, natively against the in-memory store (`cargo test`): arbitrary
//! sessions and arguments are either accepted and read back identical, or refused with
//! `INVALID_INPUT` leaving the store unchanged, and which one is decided by the documented rules
//! (re-stated here as an independent oracle). Plus: any JSON value survives the text round trip
//! the IndexedDB store makes (serde_json out, serde_json in) exactly.
#![cfg(not(target_arch = "wasm32"))]

use futures::executor::block_on;
use idb_session_store::{InMemorySessionManager, Session, SessionManager, SessionMetadata};
use proptest::prelude::*;
use serde_json::Value;

const MAX_SAFE: u64 = (1 << 53) - 1;

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("JSON numbers are finite", |f| {
            serde_json::Number::from_f64(f).map(Value::Number)
        }),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("known".to_owned()),
        "[a-z0-9-]{1,12}",
        any::<String>(),
        "[é]{250,260}",
        "x{505,520}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[ab]", any::<String>()]
}

fn millis() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0i64),
        0..=MAX_SAFE as i64,
        any::<i64>(),
        Just(MAX_SAFE as i64 + 1)
    ]
}

prop_compose! {
    fn session()(
        id in id(),
        name in prop::option::of(text()),
        tags in prop::collection::vec(text(), 0..5),
        agent_name in any::<String>(),
        created_at in millis(),
        updated_at in millis(),
        turn_count in any::<u32>(),
        total_tokens in prop_oneof![0..=MAX_SAFE, any::<u64>()],
        messages in prop::collection::vec(json(), 0..40),
        state in json(),
    ) -> Session {
        Session {
            metadata: SessionMetadata {
                id, name, tags, agent_name, created_at, updated_at, turn_count, total_tokens,
            },
            messages,
            state,
        }
    }
}

/// The rules of the README's Semantics section, written out independently of `rules.rs`.
fn id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= 512
}

fn save_ok(s: &Session) -> bool {
    let m = &s.metadata;
    let millis_ok = |t: i64| t >= 0 && t as u64 <= MAX_SAFE;
    let distinct = m
        .tags
        .iter()
        .enumerate()
        .all(|(i, t)| !m.tags[..i].contains(t));
    id_ok(&m.id)
        && m.name.as_deref() != Some("")
        && m.tags.iter().all(|t| !t.is_empty())
        && distinct
        && millis_ok(m.created_at)
        && millis_ok(m.updated_at)
        && m.total_tokens <= MAX_SAFE
}

/// A store holding two sessions, one of them under the id "known".
fn seeded() -> InMemorySessionManager {
    let store = InMemorySessionManager::new();
    for (id, n) in [("known", 40), ("other", 3)] {
        let mut s = Session::new("seed");
        s.metadata.id = id.to_owned();
        s.metadata.name = Some(format!("{id} name"));
        s.metadata.tags = vec!["seed".into()];
        s.messages = (0..n)
            .map(|i| Value::from(format!("message {i}")))
            .collect();
        s.metadata.turn_count = n;
        block_on(store.save(&s)).unwrap();
    }
    store
}

/// Everything the store holds, in list order.
fn snapshot(store: &InMemorySessionManager) -> Vec<Session> {
    block_on(store.list())
        .unwrap()
        .iter()
        .map(|m| block_on(store.resume(&m.id)).unwrap())
        .collect()
}

proptest! {
    // At least 512 cases each; PROPTEST_CASES raises it.
    #![proptest_config(ProptestConfig {
        cases: ProptestConfig::default().cases.max(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn save_accepts_exactly_what_the_rules_allow(s in session()) {
        let store = seeded();
        let before = snapshot(&store);
        match block_on(store.save_returning(&s)) {
            Ok(stored) => {
                prop_assert!(save_ok(&s), "accepted an invalid session: {:?}", s.metadata);
                let back = block_on(store.resume(&s.metadata.id)).unwrap();
                let expected = SessionMetadata {
                    updated_at: stored.updated_at,
                    created_at: if s.metadata.created_at == 0 { stored.created_at } else { s.metadata.created_at },
                    ..s.metadata.clone()
                };
                prop_assert_eq!(&back.metadata, &expected);
                prop_assert_eq!(&stored, &expected);
                prop_assert_eq!(&back.messages, &s.messages);
                prop_assert_eq!(&back.state, &s.state);
                prop_assert_eq!(&block_on(store.list()).unwrap()[0], &expected);
            }
            Err(e) => {
                prop_assert_eq!(e.code(), "INVALID_INPUT", "{}", e);
                prop_assert!(!save_ok(&s), "refused a valid session: {}", e);
                prop_assert_eq!(snapshot(&store), before);
            }
        }
    }

    #[test]
    fn method_arguments_are_checked_before_anything_changes(
        id in id(),
        tags in prop::collection::vec(text(), 0..4),
        name in text(),
        fork_name in prop::option::of(text()),
        turn in prop_oneof![0u32..60, any::<u32>()],
        op in 0usize..6,
    ) {
        let store = seeded();
        let before = snapshot(&store);
        let known = id == "known" || id == "other";
        let (result, args_ok): (Result<(), _>, bool) = match op {
            0 => (block_on(store.tag(&id, tags.clone())).map(|_| ()), tags.iter().all(|t| !t.is_empty())),
            1 => (block_on(store.rename(&id, name.clone())), !name.is_empty()),
            2 => (block_on(store.fork(&id, fork_name.clone())).map(|_| ()), fork_name.as_deref() != Some("")),
            3 => (block_on(store.rewind(&id, turn)).map(|_| ()), true),
            4 => (block_on(store.resume(&id)).map(|_| ()), true),
            _ => (block_on(store.delete(&id)), true),
        };
        let expected = if !id_ok(&id) || !args_ok { "INVALID_INPUT" } else if !known { "NOT_FOUND" } else { "ok" };
        let got = result.as_ref().map_or_else(|e| e.code(), |_| "ok");
        prop_assert_eq!(got, expected, "op {} on {:?}: {:?}", op, id, result);
        if got != "ok" {
            prop_assert_eq!(snapshot(&store), before);
        } else if op == 0 {
            let mut want = before.iter().find(|s| s.metadata.id == id).unwrap().metadata.tags.clone();
            for t in tags {
                if !want.contains(&t) {
                    want.push(t);
                }
            }
            prop_assert_eq!(block_on(store.resume(&id)).unwrap().metadata.tags, want);
        } else if op == 1 {
            prop_assert_eq!(block_on(store.resume(&id)).unwrap().metadata.name, Some(name));
        }
    }

    #[test]
    fn json_text_round_trips_exactly(v in json()) {
        let text = serde_json::to_string(&v).unwrap();
        prop_assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
    }

    #[test]
    fn floats_round_trip_exactly(bits in any::<u64>()) {
        let f = f64::from_bits(bits);
        prop_assume!(f.is_finite());
        let text = serde_json::to_string(&Value::from(f)).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back.as_f64().map(f64::to_bits), Some(bits), "{} -> {}", f, text);
    }
}
