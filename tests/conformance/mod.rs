//! The behaviour every `SessionManager` must have, as one suite of async cases. `tests/native.rs`
//! runs it against the in-memory store; `tests/web/` runs it in a browser against the in-memory
//! store and the IndexedDB store; `server/tests/` against the SQL stores on SQLite and
//! PostgreSQL. `for_each_case!` lists every case, so no runner can skip one.

mod export_import;
mod history;
mod lifecycle;
mod live;
mod search;
mod turns;

pub use export_import::*;
pub use history::*;
pub use lifecycle::*;
pub use live::*;
pub use search::*;
pub use turns::*;

use idb_session_store::{Error, Session, SessionManager, SessionMetadata};
use serde_json::{json, Value};

/// Calls `$run! { case, case, ... }` with every case of the suite.
macro_rules! for_each_case {
    ($run:ident) => {
        $run! {
            save_then_resume_returns_the_same_session,
            save_stamps_updated_at_and_a_zero_created_at,
            save_keeps_a_given_created_at,
            save_replaces_in_place,
            save_returning_matches_list,
            list_is_newest_first_even_within_a_millisecond,
            every_write_moves_a_session_to_the_front,
            unknown_ids_are_not_found,
            delete_removes_only_that_session,
            fork_copies_under_a_new_uuid,
            fork_names_default_to_the_original_with_a_suffix,
            fork_diverges_independently,
            rewind_keeps_the_first_n_messages,
            rewind_past_the_end_keeps_all,
            rewind_to_zero_empties,
            tag_appends_new_tags_in_order_without_duplicates,
            rename_sets_the_name,
            invalid_input_is_refused_and_changes_nothing,
            long_histories_survive_edits_anywhere,
            strings_and_numbers_round_trip_exactly,
            empty_session_round_trips,
            append_adds_a_turn_after_the_history,
            append_refuses_unknown_ids_and_overflow,
            list_page_returns_slices_of_list,
            nesting_past_max_depth_is_refused,
            append_carries_the_turns_state,
            replace_last_rewrites_only_the_last_message,
            replace_last_replaces_empty_arrays_and_objects,
            replace_last_refuses_and_changes_nothing,
            watch_reports_each_committed_write_once,
            export_then_import_round_trips_exactly,
            import_checks_the_file_and_conflicts_before_writing,
            search_matches_every_word_whole_or_as_a_prefix,
            search_reads_every_string_of_a_message_but_roles_types_and_ids,
            search_puts_near_words_first_then_newer,
            search_counts_words_within_eight_as_near,
            search_of_common_words_keeps_the_order,
            search_snippets_show_the_first_match,
            search_follows_every_write_at_once,
            search_keeps_long_histories_exact_through_every_edit,
            search_finds_chinese_japanese_and_korean_words,
            search_and_filters_refuse_bad_input_and_change_nothing,
            search_and_list_filter_by_tag_and_agent,
        }
    };
}
pub(crate) use for_each_case;

/// Now, in Unix milliseconds, on the clock the stores use.
pub fn now_ms() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    }
}

/// A message shaped like a real agent transcript entry.
pub fn message(i: usize) -> Value {
    match i % 3 {
        0 => {
            json!({"role": "user", "content": format!("Question {i}: what does the build log say about the failing test?")})
        }
        1 => {
            json!({"role": "assistant", "content": format!("Turn {i}: let me look."), "tool_calls": [
                {"id": format!("call_{i}"), "name": "read_file", "arguments": {"path": "build.log", "lines": [1, 200]}}
            ]})
        }
        _ => {
            json!({"role": "tool", "tool_call_id": format!("call_{}", i - 1), "content": "error[E0308]: mismatched types"})
        }
    }
}

/// A session with `n` messages, a name, tags and some state.
pub fn session(name: &str, n: usize) -> Session {
    let mut s = Session::new("code-agent");
    s.metadata.name = Some(name.to_owned());
    s.metadata.tags = vec!["test".to_owned()];
    s.metadata.turn_count = n as u32;
    s.metadata.total_tokens = 1_234;
    s.messages = (0..n).map(message).collect();
    s.state = json!({"cwd": "/home/user", "plugins": {"fs": true}});
    s
}

#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(result: Result<T, Error>, code: &str) -> Error {
    match result {
        Err(e) => {
            assert_eq!(e.code(), code, "wrong error: {e}");
            e
        }
        Ok(v) => panic!("expected {code}, got Ok({v:?})"),
    }
}

fn ids(list: &[SessionMetadata]) -> Vec<&str> {
    list.iter().map(|m| m.id.as_str()).collect()
}

/// Everything a store holds, for comparing before and after a refused call.
async fn snapshot(m: &impl SessionManager) -> Vec<Session> {
    let mut all = Vec::new();
    for meta in m.list().await.unwrap() {
        all.push(m.resume(&meta.id).await.unwrap());
    }
    all
}
