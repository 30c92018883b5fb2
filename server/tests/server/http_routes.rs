//! Every route over real HTTP, checked against what a second read returns.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::db::{Backend, TestDb};
use crate::server::{cli, encode, token, Server};

fn session(id: &str, name: &str, messages: usize) -> Value {
    json!({
        "metadata": {
            "id": id, "name": name, "tags": ["t"], "agent_name": "code-agent",
            "created_at": 0, "updated_at": 0, "turn_count": messages, "total_tokens": 5
        },
        "messages": (0..messages).map(|i| json!({"role": "user", "content": format!("m{i}")})).collect::<Vec<_>>(),
        "state": {"cwd": "/home/user"}
    })
}

async fn every_route_does_what_the_store_does(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db.url, &[]).await;
    let c = server.client(&token(&db.url, "alice"));

    // POST /v1/sessions: the stored metadata, stamped.
    let (status, meta) = c.post("/v1/sessions", session("a", "first", 3)).await;
    assert_eq!(status, StatusCode::OK, "{meta}");
    assert_eq!(
        (meta["id"].as_str(), meta["name"].as_str()),
        (Some("a"), Some("first"))
    );
    assert!(meta["updated_at"].as_i64().unwrap() > 0);
    assert_eq!(meta["created_at"], meta["updated_at"]);
    let odd_id = "odd / id ? # % 🚀";
    let (status, _) = c.post("/v1/sessions", session(odd_id, "second", 1)).await;
    assert_eq!(status, StatusCode::OK);

    // GET /v1/sessions, whole and paged.
    let (status, list) = c.get("/v1/sessions").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [odd_id, "a"]);
    assert!(list[0].get("messages").is_none(), "metadata only");
    let (_, page) = c.get("/v1/sessions?offset=1&limit=1").await;
    assert_eq!(page, json!([list[1]]));
    let (_, page) = c.get("/v1/sessions?limit=0").await;
    assert_eq!(page, json!([]));

    // GET /v1/sessions/{id}, with an id that needs percent-encoding.
    let (status, odd) = c.get(&format!("/v1/sessions/{}", encode(odd_id))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(odd["metadata"]["id"], odd_id);
    assert_eq!(odd["messages"], session(odd_id, "", 1)["messages"]);
    assert_eq!(odd["state"], json!({"cwd": "/home/user"}));

    // POST append: one turn, tokens added, state replaced when given.
    let (status, meta) = c
        .post(
            "/v1/sessions/a/append",
            json!({"messages": [{"role": "assistant", "content": "m3"}, "m4"], "tokens": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{meta}");
    assert_eq!(
        (meta["turn_count"].as_u64(), meta["total_tokens"].as_u64()),
        (Some(4), Some(15))
    );
    let (_, meta) = c
        .post(
            "/v1/sessions/a/append",
            json!({"messages": [], "state": {"step": 2}}),
        )
        .await;
    assert_eq!(
        (meta["turn_count"].as_u64(), meta["total_tokens"].as_u64()),
        (Some(5), Some(15))
    );
    let (_, a) = c.get("/v1/sessions/a").await;
    assert_eq!(a["messages"].as_array().unwrap().len(), 5);
    assert_eq!(a["messages"][4], "m4");
    assert_eq!(a["state"], json!({"step": 2}));
    assert_eq!(a["metadata"], meta);
    let (_, _) = c
        .post(
            "/v1/sessions/a/append",
            json!({"messages": ["m5"], "state": null}),
        )
        .await;
    let (_, a) = c.get("/v1/sessions/a").await;
    assert_eq!(a["state"], Value::Null, "\"state\": null stores null");

    // POST replace_last: rewrites the last message only; the turn count stays.
    let (status, meta) = c
        .post(
            "/v1/sessions/a/replace_last",
            json!({"message": {"content": "m5, streamed"}, "tokens": 7, "state": [1]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{meta}");
    assert_eq!(
        (meta["turn_count"].as_u64(), meta["total_tokens"].as_u64()),
        (Some(6), Some(22))
    );
    let (_, a) = c.get("/v1/sessions/a").await;
    assert_eq!(a["messages"].as_array().unwrap().len(), 6);
    assert_eq!(a["messages"][5], json!({"content": "m5, streamed"}));
    assert_eq!(a["messages"][4], "m4");
    assert_eq!(a["state"], json!([1]));

    // POST fork: a copy under a new id, named as asked or "<name> (fork)".
    let (status, fork) = c
        .post("/v1/sessions/a/fork", json!({"name": "branch"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{fork}");
    assert_eq!(fork["name"], "branch");
    let fork_id = fork["id"].as_str().unwrap().to_owned();
    let (_, copy) = c.get(&format!("/v1/sessions/{fork_id}")).await;
    assert_eq!(
        (&copy["messages"], &copy["state"]),
        (&a["messages"], &a["state"])
    );
    let (_, unnamed) = c.post("/v1/sessions/a/fork", json!({})).await;
    assert_eq!(unnamed["name"], "first (fork)");

    // POST rewind: keeps the first n messages and returns the session.
    let (status, rewound) = c
        .post(
            &format!("/v1/sessions/{fork_id}/rewind"),
            json!({"turn_index": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rewound}");
    assert_eq!(
        rewound["messages"],
        json!(a["messages"].as_array().unwrap()[..2])
    );
    assert_eq!(rewound["metadata"]["turn_count"], 2);
    assert_eq!(c.get(&format!("/v1/sessions/{fork_id}")).await.1, rewound);

    // POST tags and PUT name: 204, then visible in the metadata.
    let (status, body) = c
        .post("/v1/sessions/a/tags", json!({"tags": ["x", "t", "y", "x"]}))
        .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, _) = c
        .put("/v1/sessions/a/name", json!({"name": "renamed"}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, a) = c.get("/v1/sessions/a").await;
    assert_eq!(a["metadata"]["tags"], json!(["t", "x", "y"]));
    assert_eq!(a["metadata"]["name"], "renamed");
    assert_eq!(
        c.get("/v1/sessions?limit=1").await.1[0]["id"],
        "a",
        "the last write sorts first"
    );

    // GET /v1/export, then POST /v1/import into another owner: the same sessions, same order.
    let export = c.export().await;
    let lines: Vec<&str> = export.lines().collect();
    assert_eq!(
        lines[0],
        r#"{"format":"idb-session-store","version":1,"sessions":4}"#
    );
    assert!(export.ends_with('\n'));
    let bob = server.client(&token(&db.url, "bob"));
    let (status, report) = bob
        .raw(
            reqwest::Method::POST,
            "/v1/import",
            "application/x-ndjson",
            export.clone().into_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        report,
        json!({"imported": 4, "skipped": 0, "forked": 0, "replaced": 0})
    );
    let (mine, theirs) = (c.snapshot().await, bob.snapshot().await);
    assert_eq!(mine.len(), 4);
    for (m, t) in mine.iter().zip(&theirs) {
        assert_eq!((&m["messages"], &m["state"]), (&t["messages"], &t["state"]));
        assert_eq!(m["metadata"]["id"], t["metadata"]["id"]);
        assert_eq!(m["metadata"]["created_at"], t["metadata"]["created_at"]);
    }
    for (mode, expected) in [
        (
            "skip",
            json!({"imported": 0, "skipped": 4, "forked": 0, "replaced": 0}),
        ),
        (
            "replace",
            json!({"imported": 0, "skipped": 0, "forked": 0, "replaced": 4}),
        ),
        (
            "fork",
            json!({"imported": 0, "skipped": 0, "forked": 4, "replaced": 0}),
        ),
    ] {
        let path = format!("/v1/import?on_conflict={mode}");
        let (status, report) = bob
            .raw(
                reqwest::Method::POST,
                &path,
                "text/plain",
                export.clone().into_bytes(),
            )
            .await;
        assert_eq!((status, report), (StatusCode::OK, expected), "{mode}");
    }
    assert_eq!(bob.snapshot().await.len(), 8, "the forks are new sessions");

    // DELETE: 204, then the id is unknown.
    let (status, _) = c.delete("/v1/sessions/a").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(c.get("/v1/sessions/a").await.0, StatusCode::NOT_FOUND);
    assert_eq!(c.get("/v1/sessions").await.1.as_array().unwrap().len(), 3);
}

async fn tokens_are_minted_and_revoked_from_the_command_line(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db.url, &[]).await;
    let (ok, out) = cli(&db.url, &["token", "create", "--owner", "carol"]);
    assert!(ok, "{out}");
    let token = out.lines().last().unwrap();
    assert!(
        token.starts_with("sst_") && !token.contains(' '),
        "alone on the last line: {out:?}"
    );
    let c = server.client(token);
    assert_eq!(c.get("/v1/sessions").await.0, StatusCode::OK);
    let (ok, out) = cli(&db.url, &["token", "revoke", token]);
    assert!(ok, "{out}");
    assert_eq!(c.get("/v1/sessions").await.0, StatusCode::UNAUTHORIZED);
    let (ok, out) = cli(&db.url, &["token", "revoke", token]);
    assert!(
        !ok && out.contains("no active token"),
        "revoking twice fails: {out}"
    );
    let (ok, out) = cli(&db.url, &["token", "create", "--owner", ""]);
    assert!(!ok && out.contains("owner name"), "{out}");
}

on_both_backends!(
    every_route_does_what_the_store_does,
    tokens_are_minted_and_revoked_from_the_command_line
);
