//! `export()` and `import()` of the JS API: the portable format (`crate::portable`, whose rules
//! every store follows) read from a `Blob` or a string and written to a `Blob`, one slice at a
//! time. Lines are built from and parsed into the store's stored form, so no message is parsed in
//! wasm; an import reads its file twice (checked whole first, then written in batches, each one
//! transaction) rather than holding it in memory.

use js_sys::{Array, JsString, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use super::args::refused;
use crate::error::{Error, Result};
use crate::idb::{EncodedSession, IndexedDbSessionManager, WRITE_CHUNK};
use crate::js_value::{describe, get, metadata_from_js, metadata_to_js, whole, Shape};
use crate::manager::SessionManager;
use crate::portable::{self, Decision, Header, ImportReport, Lines, OnConflict};
use crate::rules::{self, MAX_DEPTH};

#[wasm_bindgen(module = "/src/js/convert.js")]
extern "C" {
    /// Reads `source`'s lines a batch at a time (see `lineReader` in convert.js).
    type LineReader;
    #[wasm_bindgen(js_name = lineReader, catch)]
    fn line_reader(source: &JsValue) -> Result<LineReader, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn next(this: &LineReader) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, getter, js_name = endsWithNewline)]
    fn ends_with_newline(this: &LineReader) -> bool;
    #[wasm_bindgen(js_name = encodeLine, catch)]
    fn encode_line(text: &JsValue, chunk_len: u32, max_depth: u32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = sessionLine)]
    fn session_line(metadata: &JsValue, chunks: &Array, state: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = blobOf)]
    fn blob_of(blob: Option<Blob>, parts: &Array) -> Blob;
}

/// Sessions read (and lines built) per transaction of an export.
const EXPORT_BATCH: usize = 100;
/// Sessions written per transaction of an import.
const IMPORT_BATCH: usize = 100;

/// The export of sessions `ids` (all if `None`), oldest first, as a Blob of JSON Lines, built
/// one batch of sessions at a time. Sessions deleted while it runs are left out.
pub(crate) async fn export(
    store: &IndexedDbSessionManager,
    ids: Option<Vec<String>>,
) -> Result<Blob> {
    let order = portable::export_order(store.list().await?, ids.as_deref())?;
    let mut body: Option<Blob> = None;
    let mut count = 0u64;
    for batch in order.chunks(EXPORT_BATCH) {
        let lines: Array = store
            .resume_many_stored(batch)
            .await?
            .iter()
            .map(|s| {
                session_line(
                    &metadata_to_js(&s.metadata, Shape::Serde),
                    &s.chunks,
                    &s.state,
                )
            })
            .collect();
        count += u64::from(lines.length());
        body = Some(blob_of(body, &lines));
    }
    let header = Array::of1(&format!("{}\n", portable::header_line(count)).into());
    let header = blob_of(None, &header);
    Ok(match body {
        Some(body) => blob_of(Some(header), &Array::of1(&body)),
        None => header,
    })
}

/// Imports the export in `source` (a Blob or a string): checks the whole file and the conflicts
/// first (nothing is written if either refuses it), then writes it in batches.
pub(crate) async fn import(
    store: &IndexedDbSessionManager,
    source: &JsValue,
    on_conflict: OnConflict,
) -> Result<ImportReport> {
    let mut ids = Vec::new();
    let mut lines = SessionLines::open(source)?;
    while let Some(session) = lines.next().await? {
        ids.push(session.metadata.id);
    }
    lines.end()?;
    let stored = store.existing(&ids).await?;
    let ids = ids.iter().map(String::as_str).zip(stored);
    let (decisions, report) = portable::decide(ids, on_conflict)?;
    let mut decisions = decisions.into_iter();
    let mut lines = SessionLines::open(source)?;
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    while let Some(mut session) = lines.next().await? {
        match decisions.next() {
            Some(Decision::Skip) | None => continue,
            Some(Decision::Fork) => session.metadata.id = uuid::Uuid::new_v4().to_string(),
            Some(Decision::Import | Decision::Replace) => {}
        }
        batch.push(session);
        if batch.len() == IMPORT_BATCH {
            store.save_many_stored(std::mem::take(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        store.save_many_stored(batch).await?;
    }
    Ok(report)
}

/// The session lines of an export, read a batch of lines at a time and checked as
/// `crate::portable` checks a file: the header first, then each session encoded for storage.
struct SessionLines {
    reader: LineReader,
    lines: Lines,
    header: Option<Header>,
    /// The batch of lines being read, and the index of the next one.
    batch: Array,
    at: u32,
}

impl SessionLines {
    fn open(source: &JsValue) -> Result<Self> {
        Ok(SessionLines {
            reader: line_reader(source).map_err(|e| refused("lineReader", e))?,
            lines: Lines::new(),
            header: None,
            batch: Array::new(),
            at: 0,
        })
    }

    /// The next session, or `None` at the end of the file.
    async fn next(&mut self) -> Result<Option<EncodedSession>> {
        loop {
            if self.at == self.batch.length() {
                let next = self.reader.next().map_err(|e| refused("lineReader", e))?;
                let batch = JsFuture::from(next)
                    .await
                    .map_err(|e| refused("lineReader", e))?;
                match batch.dyn_into::<Array>() {
                    Ok(batch) => (self.batch, self.at) = (batch, 0),
                    Err(_) => return Ok(None),
                }
                continue;
            }
            let text = self.batch.get(self.at);
            self.at += 1;
            let blank = text
                .dyn_ref::<JsString>()
                .is_some_and(|t| t.trim().length() == 0);
            let number = self.lines.next(blank)?;
            if self.header.is_none() {
                self.header = Some(header_line(&text)?);
                continue;
            }
            let session = session_line_at(number, &text)?;
            self.lines.session(number, &session.metadata.id)?;
            return Ok(Some(session));
        }
    }

    /// Checks the end of the file: its last newline, and the count the header announced.
    fn end(self) -> Result<()> {
        let header = self.header.unwrap_or_default();
        self.lines.end(&header, self.reader.ends_with_newline())
    }
}

/// Line `number`, a session, encoded for storage and checked as `save` checks.
fn session_line_at(number: usize, text: &JsValue) -> Result<EncodedSession> {
    let at = |e: Error| portable::at_line(number, e);
    let encoded = encode_line(text, WRITE_CHUNK as u32, MAX_DEPTH as u32)
        .map_err(|e| at(refused("encodeLine", e)))?;
    let metadata = metadata_from_js(&get(&encoded, "metadata"), "metadata", Shape::Serde)
        .map_err(|why| at(Error::invalid(why)))?;
    rules::check_metadata(&metadata).map_err(at)?;
    Ok(EncodedSession {
        metadata,
        chunks: get(&encoded, "chunks").unchecked_into(),
        state: get(&encoded, "state"),
        message_count: get(&encoded, "count").as_f64().unwrap_or(0.0) as u64,
    })
}

/// Line 1, the header, read and checked as `portable::parse_header` does.
fn header_line(text: &JsValue) -> Result<Header> {
    let not_a_header = |why: String| Error::invalid(format!("line 1: not an export header: {why}"));
    let text = text.as_string().unwrap_or_default();
    let value = js_sys::JSON::parse(&text).map_err(|e| not_a_header(describe(&e)))?;
    if !value.is_object() || js_sys::Array::is_array(&value) {
        return Err(not_a_header(format!(
            "expected an object, got {}",
            describe(&value)
        )));
    }
    let keys = Object::keys(value.unchecked_ref::<Object>());
    if let Some(unknown) = keys
        .iter()
        .filter_map(|k| k.as_string())
        .find(|k| !["format", "version", "sessions"].contains(&k.as_str()))
    {
        return Err(not_a_header(format!("unknown field \"{unknown}\"")));
    }
    let number = |name: &str, max: u64| {
        whole(&get(&value, name), max)
            .ok_or_else(|| not_a_header(format!("{name} must be a whole number")))
    };
    let header = Header {
        format: get(&value, "format")
            .as_string()
            .ok_or_else(|| not_a_header("format must be a string".into()))?,
        version: number("version", u64::from(u32::MAX))? as u32,
        sessions: number("sessions", rules::MAX_SAFE_INTEGER)?,
    };
    portable::check_header(&header)?;
    Ok(header)
}

/// An `ImportReport` as the JS API shows it.
pub(crate) fn report_to_js(report: ImportReport) -> JsValue {
    let out = Object::new();
    for (name, n) in [
        ("imported", report.imported),
        ("skipped", report.skipped),
        ("forked", report.forked),
        ("replaced", report.replaced),
    ] {
        let _ = Reflect::set(&out, &name.into(), &JsValue::from_f64(n as f64));
    }
    out.into()
}
