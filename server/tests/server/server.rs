//! A real `session-server` process for the HTTP tests, and a small JSON client for it.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

use reqwest::{Method, StatusCode};
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_session-server");

/// A running `session-server serve`, killed when dropped.
pub struct Server {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    database: String,
    args: Vec<String>,
}

impl Server {
    /// Serves `database` on a free port of 127.0.0.1, with extra `serve` arguments.
    pub async fn start(database: &str, extra: &[&str]) -> Server {
        let mut args = vec!["--listen".to_owned(), "127.0.0.1:0".to_owned()];
        args.extend(extra.iter().map(|a| a.to_string()));
        Self::spawn(database, args).await
    }

    async fn spawn(database: &str, args: Vec<String>) -> Server {
        let database = database.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new(BINARY)
                .arg("serve")
                .arg("--database")
                .arg(&database)
                .args(&args)
                .env_remove("DATABASE_URL")
                .stdout(Stdio::piped())
                .spawn()
                .expect("start session-server");
            let mut stdout = BufReader::new(child.stdout.take().unwrap());
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            let base = line
                .split_whitespace()
                .find(|w| w.starts_with("http://"))
                .unwrap_or_else(|| panic!("no http:// address in {line:?}"))
                .to_owned();
            Server {
                child,
                _stdout: stdout,
                base,
                database,
                args,
            }
        })
        .await
        .unwrap()
    }

    /// Kills the process at once (SIGKILL: no graceful shutdown) and starts it again on the same
    /// database and address.
    pub async fn restart(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let listen = self.base.trim_start_matches("http://").to_owned();
        let mut args = self.args.clone();
        let at = args.iter().position(|a| a == "--listen").unwrap();
        args[at + 1] = listen;
        let next = Self::spawn(&self.database, args).await;
        assert_eq!(next.base, self.base, "restarted on the same address");
        *self = next;
    }

    /// A client of this server bearing `token`.
    pub fn client(&self, token: &str) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: self.base.clone(),
            token: Some(token.to_owned()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `session-server ARGS --database DATABASE`, returning its exit success and stdout.
pub fn cli(database: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(BINARY)
        .args(args)
        .arg("--database")
        .arg(database)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run session-server");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
    )
}

/// A new token for `owner`, from `session-server token create` (the last line of its output).
pub fn token(database: &str, owner: &str) -> String {
    let (ok, out) = cli(database, &["token", "create", "--owner", owner]);
    assert!(ok, "token create failed: {out}");
    out.lines().last().unwrap().to_owned()
}

/// A JSON client: every call returns the status and the parsed body (`Value::Null` if empty).
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
}

impl Client {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&body).unwrap());
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Sends a raw body with a content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.unwrap()).await
    }

    /// `GET /v1/export` as text.
    pub async fn export(&self) -> String {
        let mut request = self.http.get(format!("{}/v1/export", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/x-ndjson");
        response.text().await.unwrap()
    }

    /// Every session of this client's owner, newest first, read back whole.
    pub async fn snapshot(&self) -> Vec<Value> {
        let (status, list) = self.get("/v1/sessions").await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let mut all = Vec::new();
        for meta in list.as_array().unwrap() {
            let id = meta["id"].as_str().unwrap();
            let (status, session) = self.get(&format!("/v1/sessions/{}", encode(id))).await;
            assert_eq!(status, StatusCode::OK, "{session}");
            all.push(session);
        }
        all
    }
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{status}: body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, body)
}

/// Percent-encodes a session id for a path segment.
pub fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Asserts an error response: its status, and its body `{"code": code, "message": ...}` (which
/// is returned).
#[track_caller]
pub fn assert_error(response: &(StatusCode, Value), status: u16, code: &str) -> String {
    let (got, body) = response;
    assert_eq!(got.as_u16(), status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    let message = body["message"].as_str().expect("a message").to_owned();
    assert!(!message.is_empty());
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "only code and message: {body}"
    );
    message
}
