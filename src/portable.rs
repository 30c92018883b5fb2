//! The portable export format, shared by every store: JSON Lines, a header line
//! `{"format":"idb-session-store","version":1,"sessions":N}` then N lines, one session each in the
//! serde form of [`Session`] (snake_case, what `serde_json::to_string(&session)` makes), oldest
//! first, each line ending in `\n`. A Rust program reads each session line with
//! `serde_json::from_str::<Session>`.
//!
//! [`import`] checks the whole file (header, every line, every rule `save` applies, no id twice)
//! and the conflicts with stored sessions before it writes anything. Stores that can write a
//! whole import atomically (the SQL stores) call [`parse`] and [`resolve`] themselves.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::manager::SessionManager;
use crate::model::Session;
use crate::rules;

/// The `format` every header names.
pub const FORMAT: &str = "idb-session-store";
/// The only format version there is.
pub const VERSION: u32 = 1;

/// The first line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// How many session lines follow.
    pub sessions: u64,
}

/// What an import does with a session whose id is already stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnConflict {
    /// Keep the stored session; the imported one is dropped.
    Skip,
    /// Save the imported session over the stored one.
    Replace,
    /// Write the imported session under a new UUID v4 (name unchanged).
    Fork,
    /// Refuse the whole import with `CONFLICT`, naming the clashing ids, before writing anything.
    #[default]
    Fail,
}

/// What an import did. The four counts add up to the number of sessions in the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Written under their own id, which no stored session had.
    pub imported: u64,
    /// Dropped because their id was stored ([`OnConflict::Skip`]).
    pub skipped: u64,
    /// Written under a new id because theirs was stored ([`OnConflict::Fork`]).
    pub forked: u64,
    /// Saved over the stored session of the same id ([`OnConflict::Replace`]).
    pub replaced: u64,
}

/// The sessions an import writes, in file order (ids already changed where forked), and its report.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportPlan {
    /// Sessions to save, in this order, so that the last line of the file ends up first in `list`.
    pub sessions: Vec<Session>,
    /// The counts the import reports once every session is written.
    pub report: ImportReport,
}

/// The header line for an export of `sessions` sessions, without its newline.
pub fn header_line(sessions: u64) -> String {
    format!(r#"{{"format":"{FORMAT}","version":{VERSION},"sessions":{sessions}}}"#)
}

/// One session's line, without its newline.
pub fn session_line(session: &Session) -> String {
    // A Session is plain data: serializing it cannot fail.
    serde_json::to_string(session).expect("a Session serializes to JSON")
}

/// Reads and checks the header line (line 1).
pub fn parse_header(line: &str) -> Result<Header> {
    let header: Header = serde_json::from_str(line)
        .map_err(|e| Error::invalid(format!("line 1: not an export header: {e}")))?;
    if header.format != FORMAT {
        return Err(Error::invalid(format!(
            "line 1: format is \"{}\", expected \"{FORMAT}\"",
            header.format
        )));
    }
    if header.version != VERSION {
        return Err(Error::invalid(format!(
            "line 1: version {} is not supported, expected {VERSION}",
            header.version
        )));
    }
    Ok(header)
}

/// Reads line `line_number` (1-based, the header is line 1) as a session and checks it with
/// every rule `save` applies.
pub fn parse_session(line_number: usize, line: &str) -> Result<Session> {
    let session: Session = serde_json::from_str(line)
        .map_err(|e| Error::invalid(format!("line {line_number}: not a session: {e}")))?;
    rules::check_session(&session)
        .map_err(|e| Error::invalid(format!("line {line_number}: {e}")))?;
    Ok(session)
}

/// Reads a whole export: the header, exactly as many session lines as it announces, each valid
/// and no id twice, a newline after the last line and no blank line.
pub fn parse(text: &str) -> Result<Vec<Session>> {
    let Some(body) = text.strip_suffix('\n') else {
        let line = text.split('\n').count();
        return Err(Error::invalid(if text.is_empty() {
            "line 1: the file is empty, expected the header".to_owned()
        } else {
            format!("line {line}: the file must end with a newline")
        }));
    };
    let mut lines = body.split('\n');
    let header = parse_header(lines.next().unwrap_or_default())?;
    let mut sessions = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for (i, line) in lines.enumerate() {
        let number = i + 2;
        if line.trim().is_empty() {
            return Err(Error::invalid(format!("line {number}: blank line")));
        }
        let session = parse_session(number, line)?;
        if let Some(first) = first_line.insert(session.metadata.id.clone(), number) {
            return Err(Error::invalid(format!(
                "line {number}: session id \"{}\" is already on line {first}",
                session.metadata.id
            )));
        }
        sessions.push(session);
    }
    if header.sessions != sessions.len() as u64 {
        return Err(Error::invalid(format!(
            "line 1: the header announces {} sessions, the file has {}",
            header.sessions,
            sessions.len()
        )));
    }
    Ok(sessions)
}

/// Decides what an import of `sessions` does given the ids already `stored`; with
/// [`OnConflict::Fail`] a clash is a `CONFLICT` naming the clashing ids.
pub fn resolve(
    sessions: Vec<Session>,
    stored: &HashSet<String>,
    on_conflict: OnConflict,
) -> Result<ImportPlan> {
    let clashes: Vec<&str> = sessions
        .iter()
        .map(|s| s.metadata.id.as_str())
        .filter(|id| stored.contains(*id))
        .collect();
    if on_conflict == OnConflict::Fail && !clashes.is_empty() {
        const SHOWN: usize = 10;
        let mut named: Vec<String> = clashes
            .iter()
            .take(SHOWN)
            .map(|id| format!("\"{id}\""))
            .collect();
        if clashes.len() > SHOWN {
            named.push(format!("and {} more", clashes.len() - SHOWN));
        }
        return Err(Error::Conflict {
            message: format!(
                "import refused: {} sessions are already stored: {} (on_conflict is fail)",
                clashes.len(),
                named.join(", ")
            ),
        });
    }
    let mut report = ImportReport::default();
    let mut planned = Vec::with_capacity(sessions.len());
    for mut session in sessions {
        if !stored.contains(&session.metadata.id) {
            report.imported += 1;
        } else {
            match on_conflict {
                OnConflict::Skip => {
                    report.skipped += 1;
                    continue;
                }
                OnConflict::Replace => report.replaced += 1,
                OnConflict::Fork | OnConflict::Fail => {
                    session.metadata.id = uuid::Uuid::new_v4().to_string();
                    report.forked += 1;
                }
            }
        }
        planned.push(session);
    }
    Ok(ImportPlan {
        sessions: planned,
        report,
    })
}

/// Writes an export of `store` to `sink`, one call per line (each ending in `\n`), oldest first,
/// reading one session at a time. `ids` picks sessions (in list order, each once; an unknown id is
/// `NOT_FOUND` before anything is written); `None` exports all. Returns the number exported.
pub async fn export<M: SessionManager + ?Sized>(
    store: &M,
    ids: Option<&[String]>,
    mut sink: impl FnMut(&str) -> Result<()>,
) -> Result<u64> {
    let listed = store.list().await?;
    let mut chosen: Vec<String> = listed.into_iter().rev().map(|m| m.id).collect();
    if let Some(ids) = ids {
        let known: HashSet<&str> = chosen.iter().map(String::as_str).collect();
        if let Some(unknown) = ids.iter().find(|id| !known.contains(id.as_str())) {
            rules::check_id(unknown)?;
            return Err(Error::not_found(unknown));
        }
        let wanted: HashSet<&String> = ids.iter().collect();
        chosen.retain(|id| wanted.contains(id));
    }
    sink(&format!("{}\n", header_line(chosen.len() as u64)))?;
    for id in &chosen {
        let session = store.resume(id).await?;
        sink(&format!("{}\n", session_line(&session)))?;
    }
    Ok(chosen.len() as u64)
}

/// Imports an export into `store`: [`parse`], then [`resolve`] against the stored ids, then one
/// `save` per session in file order (so `updated_at` is now and `created_at` is kept unless 0).
/// Nothing is written when the file or a conflict refuses the import. Stores whose writes can
/// fail midway may keep the sessions saved before the failure; the SQL stores import atomically.
pub async fn import<M: SessionManager + ?Sized>(
    store: &M,
    text: &str,
    on_conflict: OnConflict,
) -> Result<ImportReport> {
    let sessions = parse(text)?;
    let stored: HashSet<String> = store.list().await?.into_iter().map(|m| m.id).collect();
    let plan = resolve(sessions, &stored, on_conflict)?;
    for session in &plan.sessions {
        store.save(session).await?;
    }
    Ok(plan.report)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
