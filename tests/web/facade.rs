//! The JS facade and the Rust API are one store: the same limits, the same words for damage,
//! and only input the facade's JS helpers refused is `INVALID_INPUT` (their bugs are not).

use idb_session_store::{
    Error, IndexedDbSessionManager, Session, SessionManager, SessionStore, MAX_DEPTH,
};
use js_sys::{Function, Promise, Reflect, JSON};
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

use crate::conformance::{nested, session};
use crate::raw_idb::put_raw;
use crate::support::TempDb;

#[wasm_bindgen(module = "/tests/support/page.js")]
extern "C" {
    #[wasm_bindgen(js_name = breakStringify)]
    fn break_stringify();
    #[wasm_bindgen(js_name = mendStringify)]
    fn mend_stringify();
}

/// Both APIs on one database.
struct Both {
    db: TempDb,
    rust: IndexedDbSessionManager,
    js: JsValue,
}

impl Both {
    async fn open(test: &str) -> Self {
        let db = TempDb::new(test);
        let rust = db.open().await;
        let js = JsFuture::from(SessionStore::open(Some(db.name.clone()), None))
            .await
            .expect("SessionStore.open");
        Both { db, rust, js }
    }

    /// Calls `store[method](...args)` on the JS facade: the value it resolves with, or the
    /// `code` and `message` of the `SessionError` it rejects with.
    async fn js(&self, method: &str, args: &[JsValue]) -> Result<JsValue, (String, String)> {
        settled(self.call(method, args)).await
    }

    /// Calls `store[method](...args)` on the JS facade, returning its promise.
    fn call(&self, method: &str, args: &[JsValue]) -> Promise {
        let function: Function = Reflect::get(&self.js, &method.into()).unwrap().into();
        let args: js_sys::Array = args.iter().collect();
        function.apply(&self.js, &args).unwrap().into()
    }

    async fn close(self) {
        self.rust.close();
        let close: Function = Reflect::get(&self.js, &"close".into()).unwrap().into();
        close.call0(&self.js).unwrap();
        self.db.remove().await;
    }
}

/// What a facade promise settles with: its value, or the `code` and `message` of its
/// `SessionError`.
async fn settled(promise: Promise) -> Result<JsValue, (String, String)> {
    JsFuture::from(promise).await.map_err(|e| {
        let field = |name: &str| Reflect::get(&e, &name.into()).unwrap().as_string();
        assert_eq!(field("name").as_deref(), Some("SessionError"), "{e:?}");
        (field("code").unwrap(), field("message").unwrap())
    })
}

/// A session in its JS shape (camelCase metadata), as an app passes it to `save`.
fn to_js(s: &Session) -> JsValue {
    let m = &s.metadata;
    let value = json!({
        "metadata": {
            "id": m.id, "name": m.name, "tags": m.tags, "agentName": m.agent_name,
            "createdAt": m.created_at, "updatedAt": m.updated_at, "turnCount": m.turn_count,
            "totalTokens": m.total_tokens,
        },
        "messages": s.messages,
        "state": s.state,
    });
    JSON::parse(&value.to_string()).unwrap()
}

fn rust_error<T>(result: Result<T, Error>) -> (String, String) {
    let e = result.err().expect("an error");
    (e.code().to_owned(), e.to_string())
}

#[wasm_bindgen_test]
async fn both_apis_refuse_exactly_past_max_depth() {
    let both = Both::open("agree-depth").await;
    for depth in [MAX_DEPTH, MAX_DEPTH + 1] {
        let mut by_rust = session("deep", 0);
        by_rust.messages = vec![nested(depth)];
        let mut by_js = by_rust.clone();
        by_js.metadata.id = format!("{}-js", by_rust.metadata.id);
        let rust = both
            .rust
            .save(&by_rust)
            .await
            .map_err(|e| (e.code(), e.to_string()));
        let js = both.js("save", &[to_js(&by_js)]).await.map(drop);
        if depth == MAX_DEPTH {
            assert_eq!(
                (rust, js.map_err(|e| e.0)),
                (Ok(()), Ok(())),
                "depth {depth}"
            );
        } else {
            assert_eq!(rust.unwrap_err().0, "INVALID_INPUT");
            let (code, message) = js.unwrap_err();
            assert_eq!(code, "INVALID_INPUT");
            let limit = format!("nested deeper than {MAX_DEPTH} levels");
            assert!(message.contains(&limit), "{message}");
        }
    }
    both.close().await;
}

#[wasm_bindgen_test]
async fn both_apis_report_damage_in_the_same_words() {
    let both = Both::open("agree-damage").await;
    let s = session("to be damaged", 40);
    both.rust.save(&s).await.unwrap();
    let id = s.metadata.id.as_str();
    let key = js_sys::Array::of2(&id.into(), &0.0.into());
    // A chunk that parses, but holds fewer messages than the record counts...
    put_raw(&both.db.name, "chunks", key.clone().into(), "[1]".into()).await;
    let rust = rust_error(both.rust.resume(id).await);
    let js = both.js("resume", &[id.into()]).await.unwrap_err();
    assert_eq!(rust, js);
    let expected =
        format!("messages of session \"{id}\" are damaged: expected 40 messages, found 1");
    assert_eq!(rust, ("STORAGE".to_owned(), expected));
    // ... and one that does not parse: the parsers' words differ, the rest is the same.
    put_raw(&both.db.name, "chunks", key.into(), "[{".into()).await;
    let rust = rust_error(both.rust.resume(id).await);
    let js = both.js("resume", &[id.into()]).await.unwrap_err();
    let prefix = format!("messages of session \"{id}\" are damaged: ");
    for (code, message) in [&rust, &js] {
        assert_eq!(code, "STORAGE");
        assert!(message.starts_with(&prefix), "{message}");
    }
    both.close().await;
}

#[wasm_bindgen_test]
async fn a_bug_in_a_js_helper_is_internal_and_bad_input_is_invalid() {
    let both = Both::open("agree-bug").await;
    let s = session("fine", 3);
    let session = to_js(&s);
    break_stringify();
    // The facade checks and encodes its arguments before it returns the promise.
    let broken = both.call("save", &[session]);
    mend_stringify();
    let (code, message) = settled(broken).await.unwrap_err();
    assert_eq!(code, "INTERNAL", "{message}");
    assert!(message.contains("a bug in the encoder"), "{message}");
    assert!(
        both.rust.list().await.unwrap().is_empty(),
        "nothing was written"
    );

    // A getter of the caller's that throws is the input refusing to be read: INVALID_INPUT.
    let hostile = to_js(&s);
    let messages = Reflect::get(&hostile, &"messages".into()).unwrap();
    let getter = Function::new_no_args("throw new Error('no reading me')");
    let descriptor = js_sys::Object::new();
    Reflect::set(&descriptor, &"get".into(), &getter).unwrap();
    js_sys::Object::define_property(
        messages.unchecked_ref::<js_sys::Object>(),
        &"0".into(),
        &descriptor,
    );
    let (code, message) = both.js("save", &[hostile]).await.unwrap_err();
    assert_eq!(code, "INVALID_INPUT", "{message}");
    assert!(message.contains("no reading me"), "{message}");
    both.js("save", &[to_js(&s)]).await.unwrap();
    let back = both.rust.resume(&s.metadata.id).await.unwrap();
    assert_eq!(back.messages, s.messages);
    both.close().await;
}

#[wasm_bindgen_test]
async fn export_files_cross_between_the_rust_api_and_the_js_api() {
    use idb_session_store::portable::{self, OnConflict};
    use idb_session_store::InMemorySessionManager;

    // Written by the Rust API, read by the JS API...
    let native = InMemorySessionManager::new();
    let mut sessions = vec![session("native", 1_100), session("empty", 0)];
    sessions[1].state = json!({"exact": [0.1, 1e300, "é𝄞\u{0}"]});
    for s in &sessions {
        native.save(s).await.unwrap();
    }
    let mut text = String::new();
    portable::export(&native, None, |line| {
        text.push_str(line);
        Ok(())
    })
    .await
    .unwrap();
    let both = Both::open("portable-cross").await;
    both.js("import", &[text.clone().into()]).await.unwrap();
    for s in &sessions {
        let back = both.rust.resume(&s.metadata.id).await.unwrap();
        assert_eq!((&back.messages, &back.state), (&s.messages, &s.state));
    }
    // ... and written by the JS API, read by the Rust API (serde), line for line the same.
    let blob = both.js("export", &[]).await.unwrap();
    let read: Function = Reflect::get(&blob, &"text".into()).unwrap().into();
    let promise: Promise = read.call0(&blob).unwrap().into();
    let from_js = JsFuture::from(promise).await.unwrap().as_string().unwrap();
    let parsed = portable::parse(&from_js).expect("the JS export parses natively");
    let reimported = InMemorySessionManager::new();
    portable::import(&reimported, &from_js, OnConflict::Fail)
        .await
        .unwrap();
    for s in &sessions {
        let back = parsed
            .iter()
            .find(|p| p.metadata.id == s.metadata.id)
            .unwrap();
        assert_eq!((&back.messages, &back.state), (&s.messages, &s.state));
        let stored = both.rust.resume(&s.metadata.id).await.unwrap();
        assert_eq!(back.metadata, stored.metadata);
    }
    // Byte for byte, but for the time each session was written.
    let unstamped = |text: &str| {
        let key = "\"updated_at\":";
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find(key) {
            out.push_str(&rest[..at + key.len()]);
            rest = rest[at + key.len()..].trim_start_matches(|c: char| c.is_ascii_digit());
        }
        out + rest
    };
    assert_eq!(
        unstamped(&from_js),
        unstamped(&text),
        "the JS export is the Rust export"
    );
    both.close().await;
}
