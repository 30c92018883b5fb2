//! Every error status over real HTTP, each as `{"code", "message"}` naming what was wrong, and
//! each leaving the owner's sessions exactly as they were.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::db::{postgres_url, Backend, TestDb};
use crate::server::{assert_error, cli, token, Client, Server};

fn session(id: &str, messages: usize) -> Value {
    json!({
        "metadata": {"id": id, "name": "n", "tags": [], "agent_name": "a", "created_at": 0,
                     "updated_at": 0, "turn_count": 0, "total_tokens": 0},
        "messages": (0..messages).map(|i| json!(format!("message {i}"))).collect::<Vec<_>>(),
        "state": null
    })
}

async fn bad_requests_are_400_and_write_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db.url, &[]).await;
    let c = server.client(&token(&db.url, "alice"));
    assert_eq!(
        c.post("/v1/sessions", session("s", 2)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        c.post("/v1/sessions", session("empty", 0)).await.0,
        StatusCode::OK
    );
    let before = c.snapshot().await;
    let raw = |path: &str, content_type: &str, body: &[u8]| {
        let (c, path, content_type, body) = (
            c.clone(),
            path.to_owned(),
            content_type.to_owned(),
            body.to_vec(),
        );
        async move { c.raw(Method::POST, &path, &content_type, body).await }
    };
    let mut bad_tag = session("new", 1);
    bad_tag["metadata"]["tags"] = json!(["ok", ""]);
    let cases: Vec<((StatusCode, Value), &str)> = vec![
        (
            raw("/v1/sessions", "application/json", b"{\"metadata\":").await,
            "EOF",
        ),
        (
            raw(
                "/v1/sessions",
                "text/plain",
                &serde_json::to_vec(&session("new", 1)).unwrap(),
            )
            .await,
            "Content-Type",
        ),
        (
            c.post("/v1/sessions", json!({"metadata": {}})).await,
            "missing field",
        ),
        (c.post("/v1/sessions", bad_tag).await, "tags"),
        (
            c.post("/v1/sessions/s/append", json!({"messages": "not a list"}))
                .await,
            "messages",
        ),
        (
            c.post(
                "/v1/sessions/s/append",
                json!({"messages": [], "tokenz": 1}),
            )
            .await,
            "tokenz",
        ),
        (
            c.post(
                "/v1/sessions/s/append",
                json!({"messages": [], "tokens": -1}),
            )
            .await,
            "tokens",
        ),
        (
            c.post(
                "/v1/sessions/s/append",
                json!({"messages": [], "tokens": 1u64 << 53}),
            )
            .await,
            "total_tokens",
        ),
        (
            c.post("/v1/sessions/s/rewind", json!({"turn_index": -1}))
                .await,
            "turn_index",
        ),
        (
            c.post("/v1/sessions/s/tags", json!({"tags": [""]})).await,
            "tags",
        ),
        (
            c.put("/v1/sessions/s/name", json!({"name": ""})).await,
            "name",
        ),
        (
            c.post("/v1/sessions/s/fork", json!({"name": ""})).await,
            "name",
        ),
        (
            c.post("/v1/sessions/empty/replace_last", json!({"message": 1}))
                .await,
            "no message",
        ),
        (c.get("/v1/sessions?limit=abc").await, "limit"),
        (c.get("/v1/sessions?page=2").await, "page"),
        (
            raw("/v1/import?on_conflict=maybe", "text/plain", b"").await,
            "on_conflict",
        ),
        (
            raw(
                "/v1/import",
                "text/plain",
                b"{\"format\":\"idb-session-store\",\"version\":1,\"sessions\":1}\n[]\n",
            )
            .await,
            "line 2: ",
        ),
        (
            raw("/v1/import", "text/plain", b"\xff\xfe\n").await,
            "UTF-8",
        ),
        (c.call(Method::PATCH, "/v1/sessions", None).await, "PATCH"),
    ];
    for (response, names) in cases {
        let message = assert_error(&response, 400, "INVALID_INPUT");
        assert!(message.contains(names), "{message:?} should name {names:?}");
    }
    assert_eq!(c.snapshot().await, before, "nothing written");
}

async fn credentials_are_checked_before_anything_else(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db.url, &[]).await;
    let alice = token(&db.url, "alice");
    let c = server.client(&alice);
    assert_eq!(
        c.post("/v1/sessions", session("s", 1)).await.0,
        StatusCode::OK
    );
    let before = c.snapshot().await;
    let revoked = token(&db.url, "alice");
    assert!(cli(&db.url, &["token", "revoke", &revoked]).0);
    let no_token = Client {
        token: None,
        ..c.clone()
    };
    let callers = [
        no_token,
        server.client(&format!("sst_{}", "0".repeat(64))),
        server.client("not-a-token"),
        server.client(&revoked),
    ];
    for caller in &callers {
        for (method, path, body) in [
            (Method::GET, "/v1/sessions", None),
            (Method::GET, "/v1/sessions/s", None),
            (Method::POST, "/v1/sessions", Some(session("intruder", 1))),
            (
                Method::POST,
                "/v1/sessions/s/append",
                Some(json!({"messages": ["x"]})),
            ),
            (
                Method::POST,
                "/v1/sessions/s/append",
                Some(json!({"malformed": true})),
            ),
            (Method::DELETE, "/v1/sessions/s", None),
            (Method::GET, "/v1/export", None),
        ] {
            let response = caller.call(method.clone(), path, body).await;
            assert_error(&response, 401, "UNAUTHORIZED");
        }
    }
    // The scheme must be Bearer, and the challenge says so.
    let response = c
        .http
        .get(format!("{}/v1/sessions", server.base))
        .header("authorization", format!("Basic {alice}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(c.snapshot().await, before, "nothing written");
}

async fn unknown_ids_and_routes_are_404_and_clashing_imports_409(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db.url, &[]).await;
    let c = server.client(&token(&db.url, "alice"));
    assert_eq!(
        c.post("/v1/sessions", session("s", 1)).await.0,
        StatusCode::OK
    );
    let message = assert_error(&c.get("/v1/sessions/nope").await, 404, "NOT_FOUND");
    assert_eq!(message, "session \"nope\" not found");
    assert_error(&c.get("/v1/nope").await, 404, "NOT_FOUND");
    assert_error(&c.get("/v2/sessions").await, 404, "NOT_FOUND");

    let before = c.snapshot().await;
    let mut other = session("other", 1);
    other["metadata"]["created_at"] = json!(5);
    let file = format!(
        "{}\n{}\n{}\n",
        r#"{"format":"idb-session-store","version":1,"sessions":2}"#,
        serde_json::to_string(&other).unwrap(),
        serde_json::to_string(&session("s", 3)).unwrap()
    );
    let response = c
        .raw(
            Method::POST,
            "/v1/import",
            "application/x-ndjson",
            file.into_bytes(),
        )
        .await;
    let message = assert_error(&response, 409, "CONFLICT");
    assert!(message.contains("\"s\""), "{message}");
    assert_eq!(
        c.snapshot().await,
        before,
        "a refused import writes nothing"
    );
}

async fn bodies_over_the_limit_are_413_and_write_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = Server::start(&db.url, &["--max-body-bytes", "4096"]).await;
    let c = server.client(&token(&db.url, "alice"));
    assert_eq!(
        c.post("/v1/sessions", session("s", 10)).await.0,
        StatusCode::OK,
        "under the limit"
    );
    let before = c.snapshot().await;
    let big = "x".repeat(5000);
    let mut file = r#"{"format":"idb-session-store","version":1,"sessions":1}"#.to_owned() + "\n";
    file += &serde_json::to_string(&session(&big, 0)).unwrap();
    file.push('\n');
    for response in [
        c.post("/v1/sessions", session(&big[..100], 400)).await,
        c.post("/v1/sessions/s/append", json!({"messages": [big]}))
            .await,
        c.post("/v1/sessions/s/replace_last", json!({"message": big}))
            .await,
        c.raw(Method::POST, "/v1/import", "text/plain", file.into_bytes())
            .await,
    ] {
        let message = assert_error(&response, 413, "TOO_LARGE");
        assert!(message.contains("limit"), "{message}");
    }
    assert_eq!(c.snapshot().await, before, "nothing written");
}

async fn cors_answers_the_allowed_origins_only(backend: Backend) {
    let db = TestDb::new(backend).await;
    let open = Server::start(
        &db.url,
        &[
            "--allow-origin",
            "http://app.test",
            "--allow-origin",
            "http://admin.test",
        ],
    )
    .await;
    let closed = Server::start(&db.url, &[]).await;
    let http = reqwest::Client::new();
    let preflight = |base: &str, origin: &str| {
        http.request(Method::OPTIONS, format!("{base}/v1/sessions"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    for origin in ["http://app.test", "http://admin.test"] {
        let response = preflight(&open.base, origin).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let h = response.headers();
        assert_eq!(h["access-control-allow-origin"], origin);
        assert!(h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST"));
        assert!(h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization"));
    }
    let refused = preflight(&open.base, "http://evil.test").await.unwrap();
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    let by_default = preflight(&closed.base, "http://app.test").await.unwrap();
    assert!(
        by_default
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "no origin is allowed by default"
    );

    let token = token(&db.url, "alice");
    let get = |origin: &'static str| {
        http.get(format!("{}/v1/sessions", open.base))
            .bearer_auth(&token)
            .header("origin", origin)
            .send()
    };
    let allowed = get("http://app.test").await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "http://app.test"
    );
    let other = get("http://evil.test").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

on_both_backends!(
    bad_requests_are_400_and_write_nothing,
    credentials_are_checked_before_anything_else,
    unknown_ids_and_routes_are_404_and_clashing_imports_409,
    bodies_over_the_limit_are_413_and_write_nothing,
    cors_answers_the_allowed_origins_only
);

/// A TCP proxy to the test PostgreSQL server that can be cut, as a network or database outage.
struct Proxy {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn to(target: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                links.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Proxy { port, task }
    }

    /// Closes the listener and every link (the JoinSet aborts its tasks when dropped).
    async fn cut(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_503() {
    let admin = postgres_url();
    let db = TestDb::postgres().await;
    let host_port = admin
        .split('@')
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let proxy = Proxy::to(host_port.clone()).await;
    let url = db
        .url
        .replace(&host_port, &format!("127.0.0.1:{}", proxy.port));
    let server = Server::start(&url, &[]).await;
    let c = server.client(&token(&url, "alice"));
    assert_eq!(
        c.post("/v1/sessions", session("s", 1)).await.0,
        StatusCode::OK
    );
    proxy.cut().await;
    let message = assert_error(&c.get("/v1/sessions").await, 503, "UNAVAILABLE");
    assert!(message.contains("cannot be reached"), "{message}");
    assert!(!message.contains("SELECT"), "no SQL in messages: {message}");
}
