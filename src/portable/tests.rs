//! The export format against the in-memory store: lossless round trips, every refusal, conflicts.

use futures::executor::block_on;
use serde_json::json;

use super::*;
use crate::{InMemorySessionManager, SessionMetadata};

fn session(name: &str, messages: Vec<serde_json::Value>) -> Session {
    let mut s = Session::new("code-agent");
    s.metadata.name = Some(name.to_owned());
    s.metadata.tags = vec!["t".to_owned()];
    s.metadata.turn_count = messages.len() as u32;
    s.metadata.total_tokens = 77;
    s.messages = messages;
    s.state = json!({"cwd": "/home/user", "sum": 0.30000000000000004, "big": u64::MAX});
    s
}

fn export_text(store: &InMemorySessionManager, ids: Option<&[String]>) -> Result<String> {
    let mut text = String::new();
    block_on(export(store, ids, |line| {
        text.push_str(line);
        Ok(())
    }))?;
    Ok(text)
}

fn stored(store: &InMemorySessionManager) -> Vec<Session> {
    block_on(async {
        let mut all = Vec::new();
        for meta in store.list().await.unwrap() {
            all.push(store.resume(&meta.id).await.unwrap());
        }
        all
    })
}

/// A store holding three sessions with awkward values, saved in this order.
fn source() -> InMemorySessionManager {
    let store = InMemorySessionManager::new();
    let mut odd = session(
        "odd \u{0} 𝄞",
        vec![
            json!({"content": "a\u{0}b\n\"\\", "__proto__": {"x": 1}}),
            json!([
                0,
                -1,
                1.5,
                1e300,
                5e-324,
                -0.25,
                9007199254740993_u64,
                i64::MIN
            ]),
            json!(null),
        ],
    );
    odd.metadata.id = "id with / and 🚀".to_owned();
    odd.metadata.created_at = 1_700_000_000_000;
    let empty = Session::new("bare");
    let long = session("long", (0..500).map(|i| json!({"i": i})).collect());
    for s in [&odd, &empty, &long] {
        block_on(store.save(s)).unwrap();
    }
    store
}

#[test]
fn round_trip_is_lossless_and_keeps_the_list_order() {
    let from = source();
    let text = export_text(&from, None).unwrap();
    let to = InMemorySessionManager::new();
    let report = block_on(import(&to, &text, OnConflict::Fail)).unwrap();
    assert_eq!(
        report,
        ImportReport {
            imported: 3,
            ..Default::default()
        }
    );
    let (before, after) = (stored(&from), stored(&to));
    assert_eq!(before.len(), 3);
    for (a, b) in before.iter().zip(&after) {
        let meta = SessionMetadata {
            updated_at: b.metadata.updated_at,
            ..a.metadata.clone()
        };
        assert_eq!(b.metadata, meta, "only updated_at changes");
        assert_eq!(
            serde_json::to_string(&(&a.messages, &a.state)).unwrap(),
            serde_json::to_string(&(&b.messages, &b.state)).unwrap(),
            "messages and state byte for byte"
        );
    }
    assert_eq!(export_text(&to, None).unwrap().lines().count(), 4);
}

#[test]
fn lines_are_the_seeds_serde_form_oldest_first() {
    let from = source();
    let text = export_text(&from, None).unwrap();
    assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        r#"{"format":"idb-session-store","version":1,"sessions":3}"#
    );
    assert_eq!(lines[0], header_line(3));
    let names: Vec<Option<String>> = lines[1..]
        .iter()
        .map(|l| serde_json::from_str::<Session>(l).unwrap().metadata.name)
        .collect();
    assert_eq!(
        names,
        [
            Some("odd \u{0} 𝄞".to_owned()),
            None,
            Some("long".to_owned())
        ]
    );
    for key in [
        "\"agent_name\":",
        "\"created_at\":",
        "\"turn_count\":",
        "\"total_tokens\":",
    ] {
        assert!(lines[1].contains(key), "{key} in {}", lines[1]);
    }
    assert_eq!(
        export_text(&InMemorySessionManager::new(), None).unwrap(),
        format!("{}\n", header_line(0))
    );
}

#[test]
fn export_of_chosen_ids_keeps_list_order_and_refuses_unknown_ids() {
    let from = source();
    let ids: Vec<String> = stored(&from)
        .iter()
        .map(|s| s.metadata.id.clone())
        .collect();
    let picked = [ids[0].clone(), ids[2].clone(), ids[0].clone()];
    let text = export_text(&from, Some(&picked)).unwrap();
    let got: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| parse_session(2, l).unwrap().metadata.id)
        .collect();
    assert_eq!(
        got,
        [ids[2].clone(), ids[0].clone()],
        "oldest first, each once"
    );
    let mut called = false;
    let missing = [ids[0].clone(), "nope".to_owned()];
    let e = block_on(export(&from, Some(&missing), |_| {
        called = true;
        Ok(())
    }))
    .unwrap_err();
    assert_eq!((e.code(), called), ("NOT_FOUND", false));
    assert!(e.to_string().contains("nope"));
}

#[test]
fn a_failing_sink_stops_the_export() {
    let from = source();
    let mut lines = 0;
    let e = block_on(export(&from, None, |_| {
        lines += 1;
        if lines == 2 {
            Err(Error::Storage {
                message: "disk full".into(),
            })
        } else {
            Ok(())
        }
    }))
    .unwrap_err();
    assert_eq!((e.code(), lines), ("STORAGE", 2));
}

#[test]
fn malformed_files_name_the_line_and_write_nothing() {
    let good = export_text(&source(), None).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let join = |ls: &[&str]| ls.iter().map(|l| format!("{l}\n")).collect::<String>();
    let mut bad_tag = serde_json::from_str::<Session>(lines[2]).unwrap();
    bad_tag.metadata.tags = vec![String::new()];
    let bad_tag = session_line(&bad_tag);
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "line 1: "),
        (good.trim_end().to_owned(), "line 4: "),
        (
            join(&[r#"{"format":"other","version":1,"sessions":0}"#]),
            "line 1: ",
        ),
        (
            join(&[r#"{"format":"idb-session-store","version":2,"sessions":0}"#]),
            "line 1: ",
        ),
        (
            join(&[r#"{"format":"idb-session-store","version":1}"#]),
            "line 1: ",
        ),
        (join(&["not json"]), "line 1: "),
        (join(&[&header_line(2), lines[1], "", lines[2]]), "line 3: "),
        (
            join(&[&header_line(3), lines[1], lines[2], "{\"metadata\":"]),
            "line 4: ",
        ),
        (join(&[&header_line(2), lines[1], &bad_tag]), "line 3: "),
        (join(&[&header_line(2), lines[1], lines[1]]), "line 3: "),
        (join(&[&header_line(3), lines[1], lines[2]]), "line 1: "),
        (join(&[&header_line(1), lines[1], lines[2]]), "line 1: "),
        (join(&[&header_line(1), "[1, 2]"]), "line 2: "),
    ];
    let to = InMemorySessionManager::new();
    for (text, prefix) in cases {
        let e = block_on(import(&to, &text, OnConflict::Replace)).unwrap_err();
        assert_eq!(e.code(), "INVALID_INPUT", "{text:?}: {e}");
        assert!(
            e.to_string().starts_with(prefix),
            "{text:?}: {e} should start with {prefix:?}"
        );
        assert!(
            block_on(to.list()).unwrap().is_empty(),
            "nothing written for {text:?}"
        );
    }
}

#[test]
fn conflicts_follow_on_conflict() {
    let from = source();
    let text = export_text(&from, None).unwrap();
    let ids: Vec<String> = stored(&from)
        .iter()
        .map(|s| s.metadata.id.clone())
        .collect();
    // The target already holds the first session (changed) and nothing else.
    let target = || {
        let to = InMemorySessionManager::new();
        let mut mine = block_on(from.resume(&ids[0])).unwrap();
        mine.messages.clear();
        block_on(to.save(&mine)).unwrap();
        to
    };

    let to = target();
    let before = stored(&to);
    let e = block_on(import(&to, &text, OnConflict::Fail)).unwrap_err();
    assert_eq!(e.code(), "CONFLICT");
    assert!(e.to_string().contains(&ids[0]), "{e}");
    assert_eq!(stored(&to), before, "nothing written");

    let to = target();
    let report = block_on(import(&to, &text, OnConflict::Skip)).unwrap();
    assert_eq!(
        report,
        ImportReport {
            imported: 2,
            skipped: 1,
            ..Default::default()
        }
    );
    assert!(
        block_on(to.resume(&ids[0])).unwrap().messages.is_empty(),
        "kept"
    );

    let to = target();
    let report = block_on(import(&to, &text, OnConflict::Replace)).unwrap();
    assert_eq!(
        report,
        ImportReport {
            imported: 2,
            replaced: 1,
            ..Default::default()
        }
    );
    assert_eq!(block_on(to.resume(&ids[0])).unwrap().messages.len(), 500);

    let to = target();
    let report = block_on(import(&to, &text, OnConflict::Fork)).unwrap();
    assert_eq!(
        report,
        ImportReport {
            imported: 2,
            forked: 1,
            ..Default::default()
        }
    );
    let all = stored(&to);
    assert_eq!(all.len(), 4);
    let fork = all.iter().find(|s| !ids.contains(&s.metadata.id)).unwrap();
    assert!(uuid::Uuid::parse_str(&fork.metadata.id).is_ok_and(|u| u.get_version_num() == 4));
    assert_eq!(
        (fork.metadata.name.as_deref(), fork.messages.len()),
        (Some("long"), 500)
    );
    assert!(
        block_on(to.resume(&ids[0])).unwrap().messages.is_empty(),
        "the stored one is kept"
    );
}

#[test]
fn on_conflict_and_report_serialize_lowercase_and_snake_case() {
    assert_eq!(
        serde_json::to_string(&OnConflict::Fork).unwrap(),
        "\"fork\""
    );
    assert_eq!(
        serde_json::from_str::<OnConflict>("\"skip\"").unwrap(),
        OnConflict::Skip
    );
    assert_eq!(OnConflict::default(), OnConflict::Fail);
    assert_eq!(
        serde_json::to_value(ImportReport {
            imported: 1,
            ..Default::default()
        })
        .unwrap(),
        json!({"imported": 1, "skipped": 0, "forked": 0, "replaced": 0})
    );
}
