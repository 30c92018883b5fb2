//! What the SQL stores promise beyond the conformance suite: `append` and `replace_last`,
//! values PostgreSQL's TEXT cannot hold, appends and lists that never read the history, owners
//! apart, and writes from many tasks and many servers at once.

use idb_session_store::TurnOptions;
use idb_session_store::{Session, SessionManager};
use serde_json::json;
use session_server::sql::{OwnerSessions, SqlSessionManager};

use crate::conformance::{assert_code, session};
use crate::db::{Backend, TestDb};

async fn append_turn_and_replace_last_follow_the_turn_options(backend: Backend) {
    let db = TestDb::new(backend).await;
    let s = db.store.owner("o").unwrap();
    let mut saved = session("turns", 2);
    saved.metadata.total_tokens = 10;
    s.save(&saved).await.unwrap();
    let id = saved.metadata.id.as_str();
    let state = |v| TurnOptions {
        tokens: 1,
        state: Some(v),
    };

    let meta = s
        .append(id, vec![json!("a")], state(json!({"step": 1})))
        .await
        .unwrap();
    assert_eq!((meta.turn_count, meta.total_tokens), (3, 11));
    let meta = s
        .replace_last(id, json!("a, revised"), state(json!(null)))
        .await
        .unwrap();
    assert_eq!(
        (meta.turn_count, meta.total_tokens),
        (3, 12),
        "replace_last adds no turn"
    );
    let meta = s
        .replace_last(id, json!("a, final"), TurnOptions::default())
        .await
        .unwrap();
    let back = s.resume(id).await.unwrap();
    assert_eq!(back.metadata, meta);
    assert_eq!(back.messages[..2], saved.messages[..]);
    assert_eq!(back.messages[2], json!("a, final"));
    assert_eq!(back.state, json!(null), "no state given keeps the last one");
    assert_eq!(s.list().await.unwrap()[0], meta);

    let before = s.resume(id).await.unwrap();
    assert_code(
        s.replace_last("nope", json!(1), TurnOptions::default())
            .await,
        "NOT_FOUND",
    );
    let over = TurnOptions {
        tokens: 1 << 53,
        state: None,
    };
    assert_code(
        s.replace_last(id, json!(1), over.clone()).await,
        "INVALID_INPUT",
    );
    assert_code(s.append(id, vec![json!(1)], over).await, "INVALID_INPUT");
    let deep = (0..101).fold(json!(0), |v, _| json!([v]));
    assert_code(
        s.replace_last(id, deep.clone(), TurnOptions::default())
            .await,
        "INVALID_INPUT",
    );
    assert_code(s.append(id, vec![], state(deep)).await, "INVALID_INPUT");
    assert_eq!(
        s.resume(id).await.unwrap(),
        before,
        "refused calls changed nothing"
    );

    let empty = Session::new("a");
    s.save(&empty).await.unwrap();
    let e = assert_code(
        s.replace_last(&empty.metadata.id, json!(1), TurnOptions::default())
            .await,
        "INVALID_INPUT",
    );
    assert!(e.to_string().contains(&empty.metadata.id), "{e}");
}

async fn nul_characters_round_trip_everywhere(backend: Backend) {
    let db = TestDb::new(backend).await;
    let s = db.store.owner("o").unwrap();
    let mut odd = session("name \u{0} here", 1);
    odd.metadata.id = "id \u{0} with nul".into();
    odd.metadata.agent_name = "agent\u{0}".into();
    odd.metadata.tags = vec!["\u{0}".into()];
    odd.messages = vec![json!({"\u{0}": "\u{0}"})];
    odd.state = json!("\u{0}");
    let meta = s.save_returning(&odd).await.unwrap();
    let back = s.resume(&odd.metadata.id).await.unwrap();
    assert_eq!(back.metadata, meta);
    assert_eq!((back.messages, back.state), (odd.messages, odd.state));
    assert_eq!(
        s.fork(&odd.metadata.id, None)
            .await
            .unwrap()
            .name
            .as_deref(),
        Some("name \u{0} here (fork)")
    );
}

/// Replaces the first stored message of `id` with text that is not JSON.
async fn damage_first_message(db: &TestDb, owner: &OwnerSessions, id: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let done = sqlx::query("UPDATE messages SET body = 'not json' WHERE owner = $1 AND session_id = $2 AND position = 0")
        .bind(owner.owner())
        .bind(id.as_bytes())
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1);
    pool.close().await;
}

async fn append_replace_last_and_list_never_read_the_history(backend: Backend) {
    let db = TestDb::new(backend).await;
    let s = db.store.owner("o").unwrap();
    let saved = session("history", 50);
    let id = saved.metadata.id.as_str();
    s.save(&saved).await.unwrap();
    damage_first_message(&db, &s, id).await;
    // Were any of these to read message 0, they would fail on it.
    s.append(id, vec![json!("new")], TurnOptions::tokens(1))
        .await
        .unwrap();
    s.replace_last(id, json!("newer"), TurnOptions::default())
        .await
        .unwrap();
    s.tag(id, vec!["x".into()]).await.unwrap();
    assert_eq!(s.list().await.unwrap()[0].turn_count, 51);
    let e = assert_code(s.resume(id).await, "STORAGE");
    assert!(e.to_string().contains("messages[0]"), "{e}");
}

async fn owners_are_apart_in_the_library_too(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (a, b) = (db.store.owner("a").unwrap(), db.store.owner("b").unwrap());
    let mut s = session("same id", 3);
    s.metadata.id = "shared".into();
    a.save(&s).await.unwrap();
    assert_code(b.resume("shared").await, "NOT_FOUND");
    assert_code(
        b.append("shared", vec![], TurnOptions::tokens(0)).await,
        "NOT_FOUND",
    );
    s.messages.clear();
    b.save(&s).await.unwrap();
    b.delete("shared").await.unwrap();
    assert_eq!(a.resume("shared").await.unwrap().messages.len(), 3);
    assert!(b.list().await.unwrap().is_empty());
    for bad in ["", "a\nb", &"x".repeat(129)] {
        assert_code(db.store.owner(bad), "INVALID_INPUT");
    }
}

async fn concurrent_writers_lose_nothing_and_keep_the_clock(backend: Backend) {
    let db = TestDb::new(backend).await;
    // Two stores on one database, as two servers behind a load balancer.
    let other = SqlSessionManager::connect(&db.url).await.unwrap();
    let stores = [db.store.owner("o").unwrap(), other.owner("o").unwrap()];
    let target = session("target", 0);
    stores[0].save(&target).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..8u64 {
        let s = stores[task as usize % 2].clone();
        let id = target.metadata.id.clone();
        tasks.spawn(async move {
            for i in 0..25u64 {
                s.append(&id, vec![json!([task, i])], TurnOptions::tokens(1))
                    .await
                    .unwrap();
                if i % 5 == 0 {
                    s.save(&session(&format!("t{task}-{i}"), 1)).await.unwrap();
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let back = stores[1].resume(&target.metadata.id).await.unwrap();
    assert_eq!(
        (
            back.messages.len(),
            back.metadata.turn_count,
            back.metadata.total_tokens
        ),
        (200, 200, 1_234 + 200)
    );
    for task in 0..8u64 {
        let mine: Vec<u64> = back
            .messages
            .iter()
            .filter(|m| m[0] == task)
            .map(|m| m[1].as_u64().unwrap())
            .collect();
        assert_eq!(
            mine,
            (0..25).collect::<Vec<_>>(),
            "task {task}'s appends, in order"
        );
    }
    let list = stores[0].list().await.unwrap();
    assert_eq!(list.len(), 41);
    assert!(
        list.windows(2).all(|w| w[0].updated_at >= w[1].updated_at),
        "the clock never goes back"
    );
}

on_both_backends!(
    append_turn_and_replace_last_follow_the_turn_options,
    nul_characters_round_trip_everywhere,
    append_replace_last_and_list_never_read_the_history,
    owners_are_apart_in_the_library_too,
    concurrent_writers_lose_nothing_and_keep_the_clock
);
