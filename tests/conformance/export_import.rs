//! The portable format on every store: an export imported into an emptied store gives back the
//! same sessions byte for byte; a bad file or a conflict writes nothing.

use idb_session_store::portable::{self, ImportReport, OnConflict};
use idb_session_store::{Result, Session, SessionManager, TurnOptions};
use serde_json::{json, Value};

use super::*;

async fn export_text(m: &impl SessionManager, ids: Option<&[String]>) -> Result<String> {
    let mut out = String::new();
    portable::export(m, ids, |line| {
        out.push_str(line);
        Ok(())
    })
    .await?;
    Ok(out)
}

/// The lines of an export with each session's `updated_at` (the time of its last write) blanked.
fn without_write_times(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| match serde_json::from_str::<Session>(line) {
            Ok(mut s) => {
                s.metadata.updated_at = 0;
                serde_json::to_string(&s).unwrap()
            }
            Err(_) => line.to_owned(),
        })
        .collect()
}

pub async fn export_then_import_round_trips_exactly(m: &impl SessionManager) {
    let long = session("long", 1_100);
    m.save(&long).await.unwrap();
    m.append(
        &long.metadata.id,
        vec![json!("turn")],
        TurnOptions::tokens(5),
    )
    .await
    .unwrap();
    m.replace_last(
        &long.metadata.id,
        json!({"streamed": "😀 ,]\"\\"}),
        TurnOptions::default(),
    )
    .await
    .unwrap();
    let empty = session("empty", 0);
    m.save(&empty).await.unwrap();
    let mut exact = session("exact", 0);
    exact.metadata.name = None;
    exact.messages = vec![
        json!(0.1),
        json!(1e300),
        json!(-0.0),
        json!(9007199254740991u64),
        json!("\u{0}\u{1f}é𝄞"),
    ];
    exact.state = json!({"__proto__": {"k": [1.5, null]}, "": ""});
    m.save(&exact).await.unwrap();
    let listed = m.list().await.unwrap();

    let text = export_text(m, None).await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        r#"{"format":"idb-session-store","version":1,"sessions":3}"#
    );
    assert_eq!(lines.len(), 4);
    // Oldest first, and each line the seeds' serde form of a session.
    let order: Vec<String> = lines[1..]
        .iter()
        .map(|line| serde_json::from_str::<Session>(line).unwrap().metadata.id)
        .collect();
    assert_eq!(
        order,
        listed
            .iter()
            .rev()
            .map(|m| m.id.clone())
            .collect::<Vec<_>>()
    );
    let first: Value = serde_json::from_str(lines[1]).unwrap();
    assert!(first["metadata"]["agent_name"].is_string(), "{first}");

    for meta in &listed {
        m.delete(&meta.id).await.unwrap();
    }
    let report = portable::import(m, &text, OnConflict::Fail).await.unwrap();
    let all_new = ImportReport {
        imported: 3,
        ..ImportReport::default()
    };
    assert_eq!(report, all_new);
    let again = export_text(m, None).await.unwrap();
    assert_eq!(without_write_times(&again), without_write_times(&text));
    let relisted: Vec<String> = m.list().await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(
        relisted,
        listed.iter().map(|m| m.id.clone()).collect::<Vec<_>>()
    );

    // One session alone, by id.
    let one = export_text(m, Some(&[exact.metadata.id.clone()]))
        .await
        .unwrap();
    assert_eq!(one.lines().count(), 2);
    assert_code(
        export_text(m, Some(&["no-such-session".into()])).await,
        "NOT_FOUND",
    );
}

pub async fn import_checks_the_file_and_conflicts_before_writing(m: &impl SessionManager) {
    let kept = session("kept", 3);
    m.save(&kept).await.unwrap();
    let text = export_text(m, None).await.unwrap();
    let mut newcomer = session("newcomer", 2);
    newcomer.metadata.created_at = 1_000;
    let with_newcomer = format!(
        "{}\n{}\n{}\n",
        portable::header_line(2),
        text.lines().nth(1).unwrap(),
        portable::session_line(&newcomer)
    );
    let before = snapshot(m).await;

    // A broken line, a line that breaks a rule, a header that miscounts: nothing is written.
    let broken = with_newcomer.replace("\"newcomer\"", "\"newcomer");
    let err = assert_code(
        portable::import(m, &broken, OnConflict::Replace).await,
        "INVALID_INPUT",
    );
    assert!(err.to_string().starts_with("line 3: "), "{err}");
    let unruly = with_newcomer.replace("\"test\"]", "\"test\",\"test\"]");
    let err = assert_code(
        portable::import(m, &unruly, OnConflict::Replace).await,
        "INVALID_INPUT",
    );
    assert!(err.to_string().starts_with("line 2: "), "{err}");
    let miscounted = with_newcomer.replacen("\"sessions\":2", "\"sessions\":3", 1);
    assert_code(
        portable::import(m, &miscounted, OnConflict::Skip).await,
        "INVALID_INPUT",
    );
    // By default a session already stored refuses the whole import.
    let err = assert_code(
        portable::import(m, &with_newcomer, OnConflict::default()).await,
        "CONFLICT",
    );
    assert!(err.to_string().contains(&kept.metadata.id), "{err}");
    assert_eq!(snapshot(m).await, before);

    let report = portable::import(m, &with_newcomer, OnConflict::Skip)
        .await
        .unwrap();
    assert_eq!((report.imported, report.skipped), (1, 1));
    let back = m.resume(&newcomer.metadata.id).await.unwrap();
    assert_eq!(
        (back.messages, back.metadata.created_at),
        (newcomer.messages.clone(), 1_000)
    );
    m.rename(&kept.metadata.id, "changed here".into())
        .await
        .unwrap();
    let report = portable::import(m, &with_newcomer, OnConflict::Replace)
        .await
        .unwrap();
    assert_eq!(report.replaced, 2);
    let name = m.resume(&kept.metadata.id).await.unwrap().metadata.name;
    assert_eq!(
        name.as_deref(),
        Some("kept"),
        "the file's copy replaced the stored one"
    );
    let report = portable::import(m, &with_newcomer, OnConflict::Fork)
        .await
        .unwrap();
    assert_eq!(report.forked, 2);
    let listed = m.list().await.unwrap();
    assert_eq!(listed.len(), 4);
    let copies: Vec<_> = listed
        .iter()
        .filter(|s| s.name.as_deref() == Some("newcomer"))
        .collect();
    assert_eq!(copies.len(), 2, "the fork keeps the name, under a new id");
}
