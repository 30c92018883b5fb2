//! Owners never see or change each other's sessions: another owner's id answers exactly as an
//! unknown id, on every route, and the real owner finds everything as it was.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::db::{Backend, TestDb};
use crate::server::{token, Client, Server};

/// Every route that takes a session id, called with `id`, as (status, body with the id blanked).
async fn try_every_route(c: &Client, id: &str) -> Vec<(StatusCode, Value)> {
    let at = |suffix: &str| format!("/v1/sessions/{id}{suffix}");
    let calls = [
        (Method::GET, at(""), None),
        (Method::POST, at("/fork"), Some(json!({"name": "stolen"}))),
        (Method::POST, at("/rewind"), Some(json!({"turn_index": 0}))),
        (Method::POST, at("/tags"), Some(json!({"tags": ["pwned"]}))),
        (Method::PUT, at("/name"), Some(json!({"name": "pwned"}))),
        (
            Method::POST,
            at("/append"),
            Some(json!({"messages": ["injected"], "tokens": 1})),
        ),
        (
            Method::POST,
            at("/replace_last"),
            Some(json!({"message": "injected"})),
        ),
        (Method::DELETE, at(""), None),
    ];
    let mut out = Vec::new();
    for (method, path, body) in calls {
        let (status, body) = c.call(method, &path, body).await;
        let blanked = serde_json::to_string(&body).unwrap().replace(id, "ID");
        out.push((status, serde_json::from_str(&blanked).unwrap()));
    }
    out
}

async fn owners_never_reach_each_others_sessions(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db.url, &[]).await;
    let alice = server.client(&token(&db.url, "alice"));
    let mallory = server.client(&token(&db.url, "mallory"));
    let session = json!({
        "metadata": {"id": "alice-1", "name": "secret", "tags": [], "agent_name": "a",
                     "created_at": 0, "updated_at": 0, "turn_count": 1, "total_tokens": 3},
        "messages": ["private"], "state": {"key": "hidden"}
    });
    assert_eq!(
        alice.post("/v1/sessions", session.clone()).await.0,
        StatusCode::OK
    );
    let before = alice.snapshot().await;

    // Each route with alice's id answers mallory exactly as with an id nobody has.
    let with_hers = try_every_route(&mallory, "alice-1").await;
    let with_none = try_every_route(&mallory, "nobody-1").await;
    assert_eq!(with_hers, with_none);
    for (status, body) in &with_hers {
        assert_eq!(
            (*status, &body["code"]),
            (StatusCode::NOT_FOUND, &json!("NOT_FOUND"))
        );
    }
    // Listing and exporting show mallory nothing.
    assert_eq!(mallory.get("/v1/sessions").await.1, json!([]));
    assert_eq!(
        mallory.export().await,
        "{\"format\":\"idb-session-store\",\"version\":1,\"sessions\":0}\n"
    );
    // Saving and importing under alice's id make mallory's own session, no conflict with hers.
    let mut forged = session.clone();
    forged["messages"] = json!(["forged"]);
    assert_eq!(
        mallory.post("/v1/sessions", forged.clone()).await.0,
        StatusCode::OK
    );
    let file = format!(
        "{{\"format\":\"idb-session-store\",\"version\":1,\"sessions\":1}}\n{}\n",
        serde_json::to_string(&forged).unwrap()
    );
    let (status, report) = mallory
        .raw(
            Method::POST,
            "/v1/import?on_conflict=replace",
            "text/plain",
            file.into_bytes(),
        )
        .await;
    assert_eq!(
        (status, report["replaced"].as_u64()),
        (StatusCode::OK, Some(1)),
        "replaced mallory's own"
    );
    assert_eq!(mallory.snapshot().await.len(), 1);

    // Alice's session and list are exactly as before: zero reads or writes crossed over.
    assert_eq!(alice.snapshot().await, before);
    assert_eq!(
        alice.get("/v1/sessions/alice-1").await.1["messages"],
        json!(["private"])
    );
    assert_eq!(
        mallory.get("/v1/sessions/alice-1").await.1["messages"],
        json!(["forged"])
    );
    let (_, list) = alice.get("/v1/sessions").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

on_both_backends!(owners_never_reach_each_others_sessions);
