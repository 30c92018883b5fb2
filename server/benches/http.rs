//! `make bench-server`: the built `session-server` measured over HTTP on SQLite and PostgreSQL
//! (the one `scripts/with-postgres.sh` starts), rounds interleaved between the two backends:
//! append at history 10 and 10,000, the first 50 of 10,000 sessions, and append throughput with
//! 1, 4 and 16 concurrent clients (each its own owner and session). Prints a Markdown table.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BINARY: &str = env!("CARGO_BIN_EXE_session-server");
const ROUNDS: usize = 3;
const APPENDS: usize = 100;
const LISTS: usize = 100;
const SESSIONS: usize = 10_000;
const THROUGHPUT_WINDOW: Duration = Duration::from_secs(2);

struct Server {
    child: Child,
    base: String,
    database: String,
    name: &'static str,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(name: &'static str, database: String) -> Server {
    let mut child = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &database])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned();
    Server {
        child,
        base,
        database,
        name,
    }
}

fn token(server: &Server, owner: &str) -> String {
    let out = Command::new(BINARY)
        .args([
            "token",
            "create",
            "--owner",
            owner,
            "--database",
            &server.database,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned()
}

fn session(id: &str, messages: usize) -> Value {
    json!({
        "metadata": {"id": id, "name": id, "tags": ["bench"], "agent_name": "bench", "created_at": 0,
                     "updated_at": 0, "turn_count": messages, "total_tokens": 0},
        "messages": (0..messages).map(message).collect::<Vec<_>>(),
        "state": {"cwd": "/home/user"}
    })
}

/// About 150 bytes, like a short chat turn.
fn message(i: usize) -> Value {
    json!({"role": if i.is_multiple_of(2) { "user" } else { "assistant" },
           "content": format!("Message {i}: the build log shows one failing test in the parser module.")})
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn post(&self, path: &str, body: &Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        response.json().await.unwrap()
    }
}

fn client(server: &Server, owner: &str) -> Client {
    Client {
        http: reqwest::Client::new(),
        base: server.base.clone(),
        token: token(server, owner),
    }
}

/// Milliseconds per append of one message to a session saved with `history` messages.
async fn appends(c: &Client, round: usize, history: usize) -> Vec<f64> {
    let id = format!("history-{history}-{round}");
    c.post("/v1/sessions", &session(&id, history)).await;
    let mut times = Vec::new();
    for i in 0..APPENDS {
        let body = json!({"messages": [message(history + i)], "tokens": 12});
        let start = Instant::now();
        c.post(&format!("/v1/sessions/{id}/append"), &body).await;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times
}

/// Milliseconds per `GET /v1/sessions?limit=50`.
async fn lists(c: &Client) -> Vec<f64> {
    let mut times = Vec::new();
    for _ in 0..LISTS {
        let start = Instant::now();
        let page = c.get("/v1/sessions?limit=50").await;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        assert_eq!(page.as_array().unwrap().len(), 50);
    }
    times
}

/// Appends per second with `clients` clients appending at once, each to its own session.
async fn throughput(clients: &[Client], round: usize) -> f64 {
    for (i, c) in clients.iter().enumerate() {
        c.post("/v1/sessions", &session(&format!("load-{round}-{i}"), 10))
            .await;
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, c) in clients.iter().enumerate() {
        let c = Client {
            http: c.http.clone(),
            base: c.base.clone(),
            token: c.token.clone(),
        };
        tasks.spawn(async move {
            let mut done = 0u64;
            while start.elapsed() < THROUGHPUT_WINDOW {
                c.post(
                    &format!("/v1/sessions/load-{round}-{i}/append"),
                    &json!({"messages": [message(done as usize)], "tokens": 1}),
                )
                .await;
                done += 1;
            }
            done
        });
    }
    let mut total = 0;
    while let Some(done) = tasks.join_next().await {
        total += done.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// Median and the 10th to 90th percentile, in the unit given.
fn summary(mut samples: Vec<f64>) -> String {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    format!("{:.2} ({:.2}–{:.2})", at(0.5), at(0.1), at(0.9))
}

#[derive(Default)]
struct Results {
    append_10: Vec<f64>,
    append_10k: Vec<f64>,
    list: Vec<f64>,
    rate: [Vec<f64>; 3],
}

#[tokio::main]
async fn main() {
    let postgres = std::env::var("TEST_POSTGRES_URL")
        .expect("TEST_POSTGRES_URL is not set: run `make bench-server` (scripts/with-postgres.sh starts PostgreSQL)");
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let pg_db = format!("bench_{}", uuid::Uuid::new_v4().simple());
    {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::AnyConnection::connect(&postgres).await.unwrap();
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {pg_db}")))
            .await
            .unwrap();
    }
    let servers = [
        start(
            "SQLite",
            format!("sqlite://{}", dir.path().join("bench.db").display()),
        ),
        start(
            "PostgreSQL",
            format!("{}/{pg_db}", postgres.rsplit_once('/').unwrap().0),
        ),
    ];
    let levels = [1usize, 4, 16];
    let mut results: Vec<Results> = servers.iter().map(|_| Results::default()).collect();
    let mut setups = Vec::new();
    for server in &servers {
        let main = client(server, "bench");
        // 10,000 sessions of 4 messages, imported in one request, for the list.
        let mut file =
            format!("{{\"format\":\"idb-session-store\",\"version\":1,\"sessions\":{SESSIONS}}}\n");
        for i in 0..SESSIONS {
            file += &serde_json::to_string(&session(&format!("listed-{i:05}"), 4)).unwrap();
            file.push('\n');
        }
        let started = Instant::now();
        let response = main
            .http
            .post(format!("{}/v1/import", server.base))
            .bearer_auth(&main.token)
            .body(file)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        eprintln!(
            "{}: imported {SESSIONS} sessions in {:.1} s",
            server.name,
            started.elapsed().as_secs_f64()
        );
        let load: Vec<Client> = (0..16)
            .map(|i| client(server, &format!("load-{i}")))
            .collect();
        setups.push((main, load));
    }
    for round in 0..ROUNDS {
        for (s, (main, load)) in setups.iter().enumerate() {
            let r = &mut results[s];
            r.append_10.extend(appends(main, round, 10).await);
            r.append_10k.extend(appends(main, round, 10_000).await);
            r.list.extend(lists(main).await);
            for (l, n) in levels.iter().enumerate() {
                r.rate[l].push(throughput(&load[..*n], round).await);
            }
            eprintln!("round {} of {ROUNDS}: {} done", round + 1, servers[s].name);
        }
    }
    println!("| measure | {} | {} |", servers[0].name, servers[1].name);
    println!("| --- | --- | --- |");
    let row = |label: &str, f: &dyn Fn(&Results) -> String| {
        println!("| {label} | {} | {} |", f(&results[0]), f(&results[1]));
    };
    row("append at history 10, ms (p10–p90)", &|r| {
        summary(r.append_10.clone())
    });
    row("append at history 10,000, ms (p10–p90)", &|r| {
        summary(r.append_10k.clone())
    });
    row("list first 50 of 10,000, ms (p10–p90)", &|r| {
        summary(r.list.clone())
    });
    for (l, n) in levels.iter().enumerate() {
        row(
            &format!(
                "appends/s, {n} client{} (min–max of rounds)",
                if *n == 1 { "" } else { "s" }
            ),
            &|r| {
                let mut v = r.rate[l].clone();
                v.sort_by(f64::total_cmp);
                format!("{:.0} ({:.0}–{:.0})", v[v.len() / 2], v[0], v[v.len() - 1])
            },
        );
    }
}
