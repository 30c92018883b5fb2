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
use crate::model::{Session, SessionMetadata};
use crate::rules;

/// The `format` every header names.
pub const FORMAT: &str = "idb-session-store";
/// The only format version there is.
pub const VERSION: u32 = 1;

/// The first line of an export.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    check_header(&header)?;
    Ok(header)
}

/// Checks a header read by any parser: its format and version.
pub fn check_header(header: &Header) -> Result<()> {
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
    Ok(())
}

/// Reads line `line_number` (1-based, the header is line 1) as a session and checks it with
/// every rule `save` applies.
pub fn parse_session(line_number: usize, line: &str) -> Result<Session> {
    let session: Session = serde_json::from_str(line)
        .map_err(|e| at_line(line_number, format!("not a session: {e}")))?;
    rules::check_session(&session).map_err(|e| at_line(line_number, e))?;
    Ok(session)
}

/// `INVALID_INPUT` saying what is wrong on line `line`.
pub fn at_line(line: usize, why: impl std::fmt::Display) -> Error {
    Error::invalid(format!("line {line}: {why}"))
}

/// The rules of a whole file, for a reader that goes through it line by line (a string here, a
/// `Blob` in the browser), whatever parses each line: no blank line, no id twice, a newline
/// after the last line, and as many sessions as the header announces.
#[derive(Debug, Default)]
pub struct Lines {
    /// The number of the line last read.
    line: usize,
    first_line: HashMap<String, usize>,
}

impl Lines {
    /// Before the first line.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next line (`blank` if it holds only white space): its number, or `INVALID_INPUT`
    /// if it is a blank session line.
    pub fn next(&mut self, blank: bool) -> Result<usize> {
        self.line += 1;
        if self.line > 1 && blank {
            return Err(at_line(self.line, "blank line"));
        }
        Ok(self.line)
    }

    /// Session `id` is on line `line`: `INVALID_INPUT` if an earlier line had it.
    pub fn session(&mut self, line: usize, id: &str) -> Result<()> {
        match self.first_line.insert(id.to_owned(), line) {
            Some(first) => Err(at_line(
                line,
                format!("session id \"{id}\" is already on line {first}"),
            )),
            None => Ok(()),
        }
    }

    /// The end of the file, which ended with a newline or not, after the header `header`.
    pub fn end(self, header: &Header, ends_with_newline: bool) -> Result<()> {
        if self.line == 0 {
            return Err(at_line(1, "the file is empty, expected the header"));
        }
        if !ends_with_newline {
            return Err(at_line(self.line, "the file must end with a newline"));
        }
        let found = self.first_line.len() as u64;
        if header.sessions != found {
            return Err(at_line(
                1,
                format!(
                    "the header announces {} sessions, the file has {found}",
                    header.sessions
                ),
            ));
        }
        Ok(())
    }
}

/// Reads a whole export: the header, exactly as many session lines as it announces, each valid
/// and no id twice, a newline after the last line and no blank line.
pub fn parse(text: &str) -> Result<Vec<Session>> {
    if text.is_empty() {
        return Lines::new()
            .end(&Header::default(), false)
            .map(|()| Vec::new());
    }
    let body = text.strip_suffix('\n');
    let mut lines = Lines::new();
    let mut header = None;
    let mut sessions = Vec::new();
    for line in body.unwrap_or(text).split('\n') {
        let number = lines.next(line.trim().is_empty())?;
        let Some(_) = &header else {
            header = Some(parse_header(line)?);
            continue;
        };
        let session = parse_session(number, line)?;
        lines.session(number, &session.metadata.id)?;
        sessions.push(session);
    }
    let header = header.unwrap_or_default();
    lines.end(&header, body.is_some())?;
    Ok(sessions)
}

/// What an import does with each session of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Write it under its own id, which no stored session has.
    Import,
    /// Leave the stored session of that id alone.
    Skip,
    /// Save it over the stored session of that id.
    Replace,
    /// Write it under a new UUID v4.
    Fork,
}

/// Decides, for the sessions of a file in order (each id, and whether a session of that id is
/// already stored), what an import does; with [`OnConflict::Fail`] a clash is a `CONFLICT`
/// naming the clashing ids.
pub fn decide<'a>(
    sessions: impl IntoIterator<Item = (&'a str, bool)>,
    on_conflict: OnConflict,
) -> Result<(Vec<Decision>, ImportReport)> {
    let sessions: Vec<(&str, bool)> = sessions.into_iter().collect();
    let clashes = sessions.iter().filter(|(_, stored)| *stored).count();
    if on_conflict == OnConflict::Fail && clashes > 0 {
        const SHOWN: usize = 10;
        let mut named = String::new();
        for (id, _) in sessions.iter().filter(|(_, stored)| *stored).take(SHOWN) {
            let comma = if named.is_empty() { "" } else { ", " };
            named.push_str(&format!("{comma}\"{id}\""));
        }
        if clashes > SHOWN {
            named.push_str(&format!(" and {} more", clashes - SHOWN));
        }
        return Err(Error::Conflict {
            message: format!(
                "import refused: {clashes} sessions are already stored: {named} (on_conflict is fail)"
            ),
        });
    }
    let mut report = ImportReport::default();
    let mut decisions = Vec::with_capacity(sessions.len());
    for (_, stored) in sessions {
        let (decision, count) = match (stored, on_conflict) {
            (false, _) => (Decision::Import, &mut report.imported),
            (true, OnConflict::Skip) => (Decision::Skip, &mut report.skipped),
            (true, OnConflict::Replace) => (Decision::Replace, &mut report.replaced),
            (true, OnConflict::Fork | OnConflict::Fail) => (Decision::Fork, &mut report.forked),
        };
        *count += 1;
        decisions.push(decision);
    }
    Ok((decisions, report))
}

/// Decides what an import of `sessions` does given the ids already `stored` (see [`decide`]).
pub fn resolve(
    sessions: Vec<Session>,
    stored: &HashSet<String>,
    on_conflict: OnConflict,
) -> Result<ImportPlan> {
    let ids = sessions.iter().map(|s| s.metadata.id.as_str());
    let (decisions, report) = decide(ids.map(|id| (id, stored.contains(id))), on_conflict)?;
    let mut planned = Vec::with_capacity(sessions.len());
    for (mut session, decision) in sessions.into_iter().zip(decisions) {
        match decision {
            Decision::Skip => continue,
            Decision::Fork => session.metadata.id = uuid::Uuid::new_v4().to_string(),
            Decision::Import | Decision::Replace => {}
        }
        planned.push(session);
    }
    Ok(ImportPlan {
        sessions: planned,
        report,
    })
}

/// The ids an export of `ids` (all if `None`) writes, oldest first, given the store's `listed`
/// metadata (newest first, as `list` returns it): `NOT_FOUND` for an id not listed.
pub fn export_order(listed: Vec<SessionMetadata>, ids: Option<&[String]>) -> Result<Vec<String>> {
    let mut chosen: Vec<String> = listed.into_iter().rev().map(|m| m.id).collect();
    if let Some(ids) = ids {
        // Sorted lists rather than hash sets: this runs in the browser too, where size counts.
        let mut known: Vec<&str> = chosen.iter().map(String::as_str).collect();
        known.sort_unstable();
        if let Some(unknown) = ids
            .iter()
            .find(|id| known.binary_search(&id.as_str()).is_err())
        {
            rules::check_id(unknown)?;
            return Err(Error::not_found(unknown));
        }
        let mut wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        chosen.retain(|id| wanted.binary_search(&id.as_str()).is_ok());
    }
    Ok(chosen)
}

/// Writes an export of `store` to `sink`, one call per line (each ending in `\n`), oldest first,
/// reading one session at a time. `ids` picks sessions (in list order, each once; an unknown id is
/// `NOT_FOUND` before anything is written); `None` exports all. Returns the number exported.
pub async fn export<M: SessionManager + ?Sized>(
    store: &M,
    ids: Option<&[String]>,
    mut sink: impl FnMut(&str) -> Result<()>,
) -> Result<u64> {
    let chosen = export_order(store.list().await?, ids)?;
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
