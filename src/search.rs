//! Full-text search over every session's messages, and the filters `list` and `search` share.
//!
//! What is searched: every string value inside a message, at any depth (a `content` string, the
//! `text` of content parts, tool-call arguments, tool results), except the values of the keys
//! in [`UNSEARCHED_KEYS`] (roles, types, ids, and binary or URL payloads), and no object key.
//! Those strings are split into words ([`words`]): a word is a segment of the word
//! segmentation (`Intl.Segmenter` in the browser) holding a letter or a digit, compared
//! case- and accent-insensitively. A query matches a message when every one of its words is a
//! whole word or a word prefix of the message ([`rank`] orders the hits).

pub mod rank;
pub mod words;

use crate::error::{Error, Result};
use crate::manager::SessionManager;
use crate::model::SessionMetadata;

pub use rank::Query;

/// Object keys whose string values are not searched: they say what a part is, or hold ids,
/// encoded data or addresses, which would match everywhere or nowhere a person looks.
pub const UNSEARCHED_KEYS: &[&str] = &[
    "role",
    "type",
    "id",
    "tool_call_id",
    "tool_use_id",
    "call_id",
    "media_type",
    "mime_type",
    "mimeType",
    "data",
    "url",
    "image_url",
    "signature",
];
/// Most hits a search returns when no limit is given.
pub const DEFAULT_SEARCH_LIMIT: usize = 20;
/// Most hits one search may ask for.
pub const MAX_SEARCH_LIMIT: usize = 1000;

/// Which sessions `list` and `search` consider: those with this tag, of this agent (both, if
/// both are given; every session if neither is).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only sessions tagged with this tag.
    pub tag: Option<String>,
    /// Only sessions of this agent.
    pub agent_name: Option<String>,
}

impl Filter {
    /// Whether `meta` passes the filter.
    pub fn admits(&self, meta: &SessionMetadata) -> bool {
        self.tag.as_ref().is_none_or(|t| meta.tags.contains(t))
            && self
                .agent_name
                .as_ref()
                .is_none_or(|a| &meta.agent_name == a)
    }

    /// Whether the filter lets every session through.
    pub fn is_empty(&self) -> bool {
        self.tag.is_none() && self.agent_name.is_none()
    }

    /// Refuses an empty tag or agent name: no session has one.
    pub fn check(&self) -> Result<()> {
        if self.tag.as_deref() == Some("") {
            return Err(Error::invalid("tag filter must not be empty"));
        }
        if self.agent_name.as_deref() == Some("") {
            return Err(Error::invalid("agentName filter must not be empty"));
        }
        Ok(())
    }
}

/// How a search runs: at most `limit` hits, among the sessions `filter` admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchOptions {
    /// Most hits returned, 1 to [`MAX_SEARCH_LIMIT`].
    pub limit: usize,
    /// Which sessions are searched.
    pub filter: Filter,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            limit: DEFAULT_SEARCH_LIMIT,
            filter: Filter::default(),
        }
    }
}

impl SearchOptions {
    /// Refuses a limit outside 1 to [`MAX_SEARCH_LIMIT`], or an empty tag or agent.
    pub fn check(&self) -> Result<()> {
        self.filter.check()?;
        if self.limit == 0 || self.limit > MAX_SEARCH_LIMIT {
            return Err(Error::invalid(format!(
                "search limit must be from 1 to {MAX_SEARCH_LIMIT}, got {}",
                self.limit
            )));
        }
        Ok(())
    }
}

/// One message that matched a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// The session's id.
    pub id: String,
    /// The message's place in the session's history, from 0.
    pub message_index: u64,
    /// The message's searched text around the first match, `…` where it was cut.
    pub snippet: String,
    /// Byte ranges of `snippet` that matched a query word, in order.
    pub matches: Vec<std::ops::Range<usize>>,
    /// The session's metadata.
    pub metadata: SessionMetadata,
}

/// Search by reading every session the filter admits, message by message: the reference every
/// store's search is checked against, and the search of stores without an index of their own.
pub(crate) async fn scan<M: SessionManager + ?Sized>(
    store: &M,
    query: &str,
    options: SearchOptions,
) -> Result<Vec<SearchHit>> {
    let query = Query::parse(query)?;
    options.check()?;
    let mut sessions = Vec::new();
    let mut candidates = Vec::new();
    for meta in store.list().await? {
        if !options.filter.admits(&meta) {
            continue;
        }
        let session = match store.resume(&meta.id).await {
            // Deleted since the list was read: not there to be found.
            Err(Error::NotFound { .. }) => continue,
            session => session?,
        };
        for (i, message) in session.messages.iter().enumerate() {
            let keys = words::keys(&words::message_text(message));
            if let Some(nearness) = query.nearness(&keys) {
                candidates.push(rank::Candidate {
                    session_rank: sessions.len(),
                    message_index: i as u64,
                    nearness,
                });
            }
        }
        sessions.push(session);
    }
    rank::best_first(&mut candidates);
    Ok(candidates
        .into_iter()
        .take(options.limit)
        .map(|c| {
            let session = &sessions[c.session_rank];
            let text = words::message_text(&session.messages[c.message_index as usize]);
            let (snippet, matches) = query.snippet(&text);
            SearchHit {
                id: session.metadata.id.clone(),
                message_index: c.message_index,
                snippet,
                matches,
                metadata: session.metadata.clone(),
            }
        })
        .collect())
}
