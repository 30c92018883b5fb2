//! A server killed (SIGKILL) while a client writes, and started again on the same database,
//! has every write it acknowledged.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::db::{Backend, TestDb};
use crate::server::{token, Server};

async fn a_restart_loses_nothing_acknowledged(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut server = Server::start(&db.url, &[]).await;
    let c = server.client(&token(&db.url, "alice"));
    let session = json!({
        "metadata": {"id": "r", "name": "before", "tags": [], "agent_name": "a",
                     "created_at": 0, "updated_at": 0, "turn_count": 0, "total_tokens": 0},
        "messages": [], "state": null
    });
    assert_eq!(c.post("/v1/sessions", session).await.0, StatusCode::OK);
    assert_eq!(
        c.put("/v1/sessions/r/name", json!({"name": "acknowledged"}))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, fork) = c.post("/v1/sessions/r/fork", json!({})).await;

    // A writer appends attempt numbers one by one, remembering those the server acknowledged.
    let acked: Arc<Mutex<Vec<u64>>> = Arc::default();
    let writer = {
        let (c, acked) = (c.clone(), acked.clone());
        tokio::spawn(async move {
            for attempt in 0u64.. {
                if acked.lock().unwrap().len() >= 120 {
                    break;
                }
                let body = json!({"messages": [attempt], "tokens": 1});
                let request = c
                    .http
                    .post(format!("{}/v1/sessions/r/append", c.base))
                    .bearer_auth(c.token.as_deref().unwrap())
                    .json(&body)
                    .send();
                match request.await {
                    Ok(response) if response.status() == StatusCode::OK => {
                        acked.lock().unwrap().push(attempt)
                    }
                    _ => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        })
    };
    while acked.lock().unwrap().len() < 40 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.restart().await;
    tokio::time::timeout(Duration::from_secs(60), writer)
        .await
        .unwrap()
        .unwrap();

    let c = server.client(c.token.as_deref().unwrap());
    let (status, r) = c.get("/v1/sessions/r").await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let stored: Vec<u64> = r["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_u64().unwrap())
        .collect();
    let acked = acked.lock().unwrap().clone();
    assert!(
        stored.windows(2).all(|w| w[0] < w[1]),
        "in order, none twice: {stored:?}"
    );
    let lost: Vec<&u64> = acked.iter().filter(|a| !stored.contains(a)).collect();
    assert!(lost.is_empty(), "acknowledged appends lost: {lost:?}");
    assert!(
        stored.len() <= acked.len() + 1,
        "at most the one in flight is unacknowledged"
    );
    assert_eq!(
        r["metadata"]["turn_count"].as_u64(),
        Some(stored.len() as u64)
    );
    assert_eq!(r["metadata"]["name"], "acknowledged");
    let (status, copy): (StatusCode, Value) = c
        .get(&format!("/v1/sessions/{}", fork["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        (status, &copy["metadata"]["name"]),
        (StatusCode::OK, &json!("acknowledged (fork)"))
    );
}

on_both_backends!(a_restart_loses_nothing_acknowledged);
