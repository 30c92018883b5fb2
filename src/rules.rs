//! Semantics every store shares: input validation, tag merging, fork naming and the write clock.
//! Stores call these instead of re-deciding them, so they behave alike by construction; they are
//! public so that stores in other crates (the SQL stores of `session-server`) call the same rules.

use crate::error::{Error, Result};
use serde_json::Value;

use crate::model::{Session, SessionMetadata, TurnOptions};

/// The largest integer a JS number (and so IndexedDB) holds exactly: 2^53 - 1.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// Longest session id accepted, in bytes; ids are IndexedDB keys and appear in every index entry.
pub const MAX_ID_BYTES: usize = 512;
/// Deepest nesting of arrays and objects in one message or in the state (`[1]` is 1 deep). The
/// IndexedDB store keeps JSON text, and its parser reads no deeper than 128 levels: a limit well
/// inside that keeps every accepted session readable, in every store alike.
pub const MAX_DEPTH: usize = 100;

/// Refuses an empty id or one longer than [`MAX_ID_BYTES`].
pub fn check_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid("session id must not be empty"));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(Error::invalid(format!(
            "session id is {} bytes long; at most {MAX_ID_BYTES} are allowed",
            id.len()
        )));
    }
    Ok(())
}

/// Refuses an empty name (no name is `None`); `id` names the session in the message.
pub fn check_name(name: &str, id: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid(format!(
            "name of session \"{id}\" must not be empty (use no name instead)"
        )));
    }
    Ok(())
}

/// Refuses empty tags; `id` names the session in the message.
pub fn check_tags(tags: &[String], id: &str) -> Result<()> {
    if tags.iter().any(String::is_empty) {
        return Err(Error::invalid(format!(
            "tags of session \"{id}\" must not be empty strings"
        )));
    }
    Ok(())
}

fn check_millis(value: i64, field: &str, id: &str) -> Result<()> {
    if value < 0 || value as u64 > MAX_SAFE_INTEGER {
        return Err(Error::invalid(format!(
            "{field} of session \"{id}\" must be Unix milliseconds from 0 to {MAX_SAFE_INTEGER}, got {value}"
        )));
    }
    Ok(())
}

/// Everything `save` refuses, checked before anything is written.
pub fn check_session(session: &Session) -> Result<()> {
    check_metadata(&session.metadata)?;
    check_messages(&session.messages, &session.metadata.id)?;
    check_state(&session.state, &session.metadata.id)
}

/// Refuses a state nested deeper than [`MAX_DEPTH`].
pub fn check_state(state: &Value, id: &str) -> Result<()> {
    check_depth(state, "state", id)
}

/// Refuses messages nested deeper than [`MAX_DEPTH`].
pub fn check_messages(messages: &[Value], id: &str) -> Result<()> {
    for (i, message) in messages.iter().enumerate() {
        check_depth(message, &format!("messages[{i}]"), id)?;
    }
    Ok(())
}

fn check_depth(value: &Value, what: &str, id: &str) -> Result<()> {
    // Iterative, so a hostile value cannot overflow the stack.
    let mut pending = vec![(value, 0usize)];
    while let Some((value, depth)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth + 1 > MAX_DEPTH {
            return Err(Error::invalid(format!(
                "{what} of session \"{id}\" is nested deeper than {MAX_DEPTH} levels"
            )));
        }
        pending.extend(children.map(|child| (child, depth + 1)));
    }
    Ok(())
}

/// Everything `save` refuses in metadata.
pub fn check_metadata(meta: &SessionMetadata) -> Result<()> {
    let id = meta.id.as_str();
    check_id(id)?;
    if let Some(name) = &meta.name {
        check_name(name, id)?;
    }
    check_tags(&meta.tags, id)?;
    for (i, tag) in meta.tags.iter().enumerate() {
        if meta.tags[..i].contains(tag) {
            return Err(Error::invalid(format!(
                "tags of session \"{id}\" list \"{tag}\" twice"
            )));
        }
    }
    check_millis(meta.created_at, "created_at", id)?;
    check_millis(meta.updated_at, "updated_at", id)?;
    if meta.total_tokens > MAX_SAFE_INTEGER {
        return Err(Error::invalid(format!(
            "total_tokens of session \"{id}\" must be at most {MAX_SAFE_INTEGER}, got {}",
            meta.total_tokens
        )));
    }
    Ok(())
}

/// Counts one appended turn of `tokens` into `meta`, refusing counters that would overflow.
pub fn count_turn(meta: &mut SessionMetadata, tokens: u64) -> Result<()> {
    let Some(turns) = meta.turn_count.checked_add(1) else {
        return Err(Error::invalid(format!(
            "session \"{}\" already has the most turns a u32 counts",
            meta.id
        )));
    };
    add_tokens(meta, tokens)?;
    meta.turn_count = turns;
    Ok(())
}

/// Adds `tokens` to `meta.total_tokens`, refusing a total past [`MAX_SAFE_INTEGER`]; `meta` is
/// unchanged on error.
pub fn add_tokens(meta: &mut SessionMetadata, tokens: u64) -> Result<()> {
    let total = meta
        .total_tokens
        .checked_add(tokens)
        .filter(|t| *t <= MAX_SAFE_INTEGER);
    let Some(total) = total else {
        return Err(Error::invalid(format!(
            "appending {tokens} tokens to session \"{}\" would take total_tokens past {MAX_SAFE_INTEGER}",
            meta.id
        )));
    };
    meta.total_tokens = total;
    Ok(())
}

/// `append` on a whole session (the in-memory store, and the trait's default): `messages` after
/// the history, one more turn, tokens added and the state replaced if given; nothing changes on
/// error.
pub fn append_turn(
    session: &mut Session,
    messages: Vec<Value>,
    options: TurnOptions,
) -> Result<()> {
    let id = &session.metadata.id;
    check_messages(&messages, id)?;
    if let Some(state) = &options.state {
        check_state(state, id)?;
    }
    count_turn(&mut session.metadata, options.tokens)?;
    session.messages.extend(messages);
    if let Some(state) = options.state {
        session.state = state;
    }
    Ok(())
}

/// Refuses replacing the last message of session `id`, which has `count` messages, if it has none.
pub fn check_has_last_message(count: u64, id: &str) -> Result<()> {
    if count == 0 {
        return Err(Error::invalid(format!(
            "session \"{id}\" has no message to replace"
        )));
    }
    Ok(())
}

/// `replace_last` on a whole session (the in-memory store, and the trait's default): the last
/// message becomes `message`, tokens are added and the state replaced if given; nothing changes
/// on error.
pub fn replace_last(session: &mut Session, message: Value, options: TurnOptions) -> Result<()> {
    let id = &session.metadata.id;
    check_has_last_message(session.messages.len() as u64, id)?;
    check_messages(std::slice::from_ref(&message), id)?;
    if let Some(state) = &options.state {
        check_state(state, id)?;
    }
    add_tokens(&mut session.metadata, options.tokens)?;
    if let Some(last) = session.messages.last_mut() {
        *last = message;
    }
    if let Some(state) = options.state {
        session.state = state;
    }
    Ok(())
}

/// Appends the tags not already present, in the order given, skipping repeats within `new`.
pub fn merge_tags(existing: &mut Vec<String>, new: Vec<String>) {
    for tag in new {
        if !existing.contains(&tag) {
            existing.push(tag);
        }
    }
}

/// Everything `fork` refuses: a bad id, or an empty name asked for.
pub fn check_fork(id: &str, new_name: Option<&str>) -> Result<()> {
    check_id(id)?;
    new_name.map_or(Ok(()), |name| check_name(name, id))
}

/// The name a fork gets: the one asked for, else `"<original> (fork)"`, else none.
pub fn fork_name(original: Option<&str>, requested: Option<String>) -> Option<String> {
    requested.or_else(|| original.map(|name| format!("{name} (fork)")))
}

/// The name of the copy a sync keeps of this device's version of a session both this device and
/// another changed: `"<original> (conflict)"`, or `"(conflict)"` for a session without a name.
pub fn conflict_name(original: Option<&str>) -> String {
    match original {
        Some(name) => format!("{name} (conflict)"),
        None => "(conflict)".to_owned(),
    }
}

/// A store-wide write clock. `updated_at` never goes backwards (a clock set back keeps the last
/// value until real time catches up) and `seq` orders writes made within the same millisecond.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    /// Time of the last write, Unix milliseconds.
    pub ms: i64,
    /// Number of writes so far.
    pub seq: u64,
}

impl Clock {
    /// Advances the clock for one write made at `now`, returning that write's stamp.
    pub fn tick(&mut self, now: i64) -> Clock {
        self.ms = self.ms.max(now);
        self.seq += 1;
        *self
    }
}

/// The current time in Unix milliseconds.
#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// The current time in Unix milliseconds.
#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_never_goes_backwards_and_orders_same_millisecond_writes() {
        let mut clock = Clock::default();
        let a = clock.tick(1_000);
        let b = clock.tick(1_000);
        let c = clock.tick(900);
        assert_eq!((a.ms, a.seq), (1_000, 1));
        assert_eq!((b.ms, b.seq), (1_000, 2));
        assert_eq!((c.ms, c.seq), (1_000, 3));
        assert_eq!(clock.tick(2_000).ms, 2_000);
    }

    #[test]
    fn merge_tags_keeps_order_and_drops_repeats() {
        let mut tags = vec!["a".to_owned(), "b".to_owned()];
        merge_tags(
            &mut tags,
            vec!["b".into(), "c".into(), "a".into(), "c".into()],
        );
        assert_eq!(tags, ["a", "b", "c"]);
    }

    #[test]
    fn fork_name_prefers_request_then_suffix_then_none() {
        assert_eq!(fork_name(Some("x"), Some("y".into())).as_deref(), Some("y"));
        assert_eq!(fork_name(Some("x"), None).as_deref(), Some("x (fork)"));
        assert_eq!(fork_name(None, None), None);
    }
}
