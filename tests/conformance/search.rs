//! Search and filters: which messages a query finds (every word, whole or as a prefix, any case
//! or accent, inside any searched string), in which order, with which snippet; that every kind
//! of write keeps what is found true at once; and `list_filtered`'s pages by tag and by agent.

use idb_session_store::portable::{self, OnConflict};
use idb_session_store::{Filter, SearchHit, SearchOptions, Session, SessionManager, TurnOptions};
use serde_json::{json, Value};

use super::*;

/// A session of `agent` tagged `tags`, holding `messages`.
fn chat(agent: &str, tags: &[&str], messages: Vec<Value>) -> Session {
    let mut s = Session::new(agent);
    s.metadata.tags = tags.iter().map(|t| t.to_string()).collect();
    s.metadata.turn_count = messages.len() as u32;
    s.messages = messages;
    s
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

async fn search(m: &impl SessionManager, query: &str) -> Vec<SearchHit> {
    m.search(query, SearchOptions::default()).await.unwrap()
}

/// `(session id, message index)` of each hit, in order.
async fn found(m: &impl SessionManager, query: &str) -> Vec<(String, u64)> {
    search(m, query)
        .await
        .into_iter()
        .map(|h| (h.id, h.message_index))
        .collect()
}

fn at(s: &Session, i: u64) -> (String, u64) {
    (s.metadata.id.clone(), i)
}

pub async fn search_matches_every_word_whole_or_as_a_prefix(m: &impl SessionManager) {
    let s = chat(
        "a",
        &[],
        vec![
            user("The Café serves crème brûlée"),
            user("Deployment of the RUST service failed"),
            user("rust is a language"),
            user("trust the deployment"),
        ],
    );
    m.save(&s).await.unwrap();
    // Any case, any accent, on either side.
    assert_eq!(found(m, "cafe").await, [at(&s, 0)]);
    assert_eq!(found(m, "CRÈME Brulee").await, [at(&s, 0)]);
    // A prefix of a word matches; a piece inside a word does not.
    assert_eq!(found(m, "deplo rus").await, [at(&s, 1)]);
    assert_eq!(found(m, "ployment").await, []);
    // Every word must occur: "trust" does not hold the word "rust".
    assert_eq!(found(m, "rust deployment").await, [at(&s, 1)]);
    let mut one_word = found(m, "rust").await;
    one_word.sort();
    assert_eq!(one_word, [at(&s, 1), at(&s, 2)]);
    assert_eq!(found(m, "rust kubernetes").await, []);
}

pub async fn search_reads_every_string_of_a_message_but_roles_types_and_ids(
    m: &impl SessionManager,
) {
    let s = chat(
        "a",
        &[],
        vec![
            json!({"role": "assistant", "content": [
                {"type": "text", "text": "Looking at the manifest"},
                {"type": "tool_use", "id": "toolu_zebra", "name": "read_file", "input": {"path": "/srv/quokka.toml"}}
            ]}),
            json!({"role": "assistant", "tool_calls": [
                {"id": "call_walrus", "type": "function", "function": {"name": "grep", "arguments": "{\"pattern\":\"narwhal\"}"}}
            ]}),
            json!({"role": "tool", "tool_call_id": "call_walrus", "content": "no narwhal in 3 files"}),
            json!("a bare string message about pelicans"),
        ],
    );
    m.save(&s).await.unwrap();
    assert_eq!(found(m, "manifest").await, [at(&s, 0)]);
    assert_eq!(found(m, "quokka").await, [at(&s, 0)]);
    assert_eq!(found(m, "read_file").await, [at(&s, 0)]);
    assert_eq!(found(m, "pelicans").await, [at(&s, 3)]);
    assert_eq!(found(m, "narwhal pattern").await, [at(&s, 1)]);
    // Roles, part types and ids are not searched.
    for unsearched in ["assistant", "tool_use", "toolu_zebra", "walrus", "function"] {
        assert_eq!(found(m, unsearched).await, [], "{unsearched} was searched");
    }
}

pub async fn search_puts_near_words_first_then_newer(m: &impl SessionManager) {
    let far = chat(
        "a",
        &[],
        vec![user("apples are red, and many days later we ate pears")],
    );
    let near = chat("a", &[], vec![user("apples pears"), user("pears apples")]);
    m.save(&far).await.unwrap();
    m.save(&near).await.unwrap();
    // Words near each other first, whatever the session's age; then the later message.
    assert_eq!(
        found(m, "apples pears").await,
        [at(&near, 1), at(&near, 0), at(&far, 0)]
    );
    // Equally near: the most recently written session first.
    m.append(
        &far.metadata.id,
        vec![user("nothing")],
        TurnOptions::tokens(1),
    )
    .await
    .unwrap();
    assert_eq!(found(m, "red").await, [at(&far, 0)]);
    assert_eq!(
        found(m, "apples").await,
        [at(&far, 0), at(&near, 1), at(&near, 0)]
    );
    // At most `limit` hits, the best.
    let two = m
        .search(
            "apples",
            SearchOptions {
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        two.iter()
            .map(|h| (h.id.clone(), h.message_index))
            .collect::<Vec<_>>(),
        [at(&far, 0), at(&near, 1)]
    );
    // The hit carries the session's metadata as `list` has it.
    let listed = m.list().await.unwrap();
    assert_eq!(two[0].metadata, listed[0]);
}

pub async fn search_counts_words_within_eight_as_near(m: &impl SessionManager) {
    let adjacent = chat("a", &[], vec![user("apples pears")]);
    // Pears eighth from apples: near; ninth: not.
    let spaced = chat("a", &[], vec![user("apples b c d e f g pears")]);
    let apart = chat("a", &[], vec![user("apples b c d e f g h pears")]);
    for s in [&adjacent, &spaced, &apart] {
        m.save(s).await.unwrap();
    }
    // Within eight words nearer is no better: the newer session first.
    assert_eq!(
        found(m, "apples pears").await,
        [at(&spaced, 0), at(&adjacent, 0), at(&apart, 0)]
    );
}

/// 220 sessions of six messages, each holding `lorem`, five of them `ipsum` nine words after
/// it; only the oldest session has the two side by side. Enough hits for a store to look in the
/// newest sessions first (the IndexedDB store does from 1,024 messages holding every word) and
/// to give that up for reading every hit; the order must come out the same either way.
pub async fn search_of_common_words_keeps_the_order(m: &impl SessionManager) {
    let mut sessions = Vec::new();
    for k in 0..220 {
        let far = user("lorem one two three four five six seven eight ipsum");
        let mut messages = vec![far; 5];
        messages.push(user("lorem alone"));
        if k == 0 {
            messages[1] = user("lorem ipsum");
        }
        if k == 0 || k == 5 {
            messages[5] = user("lorem alone rarely");
        }
        let tags: &[&str] = if k % 2 == 0 { &["even"] } else { &[] };
        let s = chat("a", tags, messages);
        m.save(&s).await.unwrap();
        sessions.push(s);
    }
    let (oldest, fifth) = (&sessions[0], &sessions[5]);
    let (newest, newest_even) = (&sessions[219], &sessions[218]);
    let hits = |query: &'static str, limit, tag: Option<&str>| {
        let filter = Filter {
            tag: tag.map(str::to_owned),
            agent_name: None,
        };
        async move {
            let hits = m.search(query, SearchOptions { limit, filter }).await;
            let hits = hits.unwrap().into_iter();
            hits.map(|h| (h.id, h.message_index)).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        hits("lorem", 3, None).await,
        [at(newest, 5), at(newest, 4), at(newest, 3)]
    );
    assert_eq!(
        hits("lorem ipsum", 3, None).await,
        [at(oldest, 1), at(newest, 4), at(newest, 3)]
    );
    assert_eq!(
        hits("lorem ipsum", 3, Some("even")).await,
        [at(oldest, 1), at(newest_even, 4), at(newest_even, 3)]
    );
    assert_eq!(
        hits("ipsum", 2, Some("even")).await,
        [at(newest_even, 4), at(newest_even, 3)]
    );
    assert_eq!(
        hits("rarely", 20, None).await,
        [at(fifth, 5), at(oldest, 5)]
    );
    assert_eq!(hits("rarely", 20, Some("even")).await, [at(oldest, 5)]);
}

pub async fn search_snippets_show_the_first_match(m: &impl SessionManager) {
    let long = format!(
        "{} The Needle is here. {}",
        "lorem ipsum ".repeat(30),
        "dolor sit ".repeat(30)
    );
    let s = chat("a", &[], vec![user(&long), user("needle\nat the start")]);
    m.save(&s).await.unwrap();
    let hits = search(m, "needl").await;
    assert_eq!(hits.len(), 2);
    let (short, cut) = (&hits[0], &hits[1]);
    assert_eq!(
        (short.message_index, short.snippet.as_str()),
        (1, "needle at the start")
    );
    assert_eq!(short.matches, vec![std::ops::Range { start: 0, end: 6 }]);
    assert!(
        cut.snippet.starts_with('…') && cut.snippet.ends_with('…'),
        "{}",
        cut.snippet
    );
    assert!(
        cut.snippet.chars().count() <= 162,
        "{} chars",
        cut.snippet.chars().count()
    );
    assert_eq!(cut.matches.len(), 1);
    assert_eq!(&cut.snippet[cut.matches[0].clone()], "Needle");
    // Cut between words, not inside one.
    let inner = cut.snippet.trim_start_matches('…').trim_end_matches('…');
    let words: Vec<&str> = inner.split_whitespace().collect();
    assert!(["lorem", "ipsum"].contains(&words[0]), "{}", cut.snippet);
    assert!(
        ["dolor", "sit"].contains(words.last().unwrap()),
        "{}",
        cut.snippet
    );
    assert!(
        cut.snippet.contains("ipsum  The Needle is here. dolor"),
        "{}",
        cut.snippet
    );
}

pub async fn search_follows_every_write_at_once(m: &impl SessionManager) {
    let s = chat(
        "a",
        &[],
        vec![user("alpha one"), user("bravo two"), user("charlie three")],
    );
    m.save(&s).await.unwrap();
    let id = s.metadata.id.as_str();
    assert_eq!(found(m, "charlie").await, [at(&s, 2)]);
    // Appended: found at once.
    m.append(id, vec![user("delta four")], TurnOptions::tokens(1))
        .await
        .unwrap();
    assert_eq!(found(m, "delta").await, [at(&s, 3)]);
    // Replaced: the old words are gone, the new ones found.
    m.replace_last(id, user("echo five"), TurnOptions::default())
        .await
        .unwrap();
    assert_eq!(found(m, "delta").await, []);
    assert_eq!(found(m, "echo").await, [at(&s, 3)]);
    // Rewound: the messages cut are never found again.
    m.rewind(id, 2).await.unwrap();
    assert_eq!(found(m, "charlie").await, []);
    assert_eq!(found(m, "echo").await, []);
    assert_eq!(found(m, "bravo").await, [at(&s, 1)]);
    // Forked: found under both ids, and then each diverges.
    let fork = m.fork(id, None).await.unwrap();
    let mut both = found(m, "alpha").await;
    both.sort();
    let mut expected = vec![at(&s, 0), (fork.id.clone(), 0)];
    expected.sort();
    assert_eq!(both, expected);
    m.rewind(&fork.id, 0).await.unwrap();
    assert_eq!(found(m, "alpha").await, [at(&s, 0)]);
    // Saved over: only the new history is found.
    let mut replaced = m.resume(id).await.unwrap();
    replaced.messages = vec![user("foxtrot six")];
    m.save(&replaced).await.unwrap();
    assert_eq!(found(m, "alpha").await, []);
    assert_eq!(found(m, "foxtrot").await, [at(&s, 0)]);
    // Renamed and tagged: still found, with the new metadata.
    m.rename(id, "renamed".into()).await.unwrap();
    m.tag(id, vec!["kept".into()]).await.unwrap();
    let hit = &search(m, "foxtrot").await[0];
    assert_eq!(
        (hit.metadata.name.as_deref(), hit.metadata.tags.clone()),
        (Some("renamed"), vec!["kept".to_owned()])
    );
    // Deleted: never found again.
    m.delete(id).await.unwrap();
    assert_eq!(found(m, "foxtrot").await, []);
    // Imported: found at once.
    let mut text = String::new();
    let other = chat("a", &[], vec![user("golf seven")]);
    m.save(&other).await.unwrap();
    portable::export(m, None, |line| {
        text.push_str(line);
        Ok(())
    })
    .await
    .unwrap();
    m.delete(&other.metadata.id).await.unwrap();
    m.delete(&fork.id).await.unwrap();
    assert_eq!(found(m, "golf").await, []);
    portable::import(m, &text, OnConflict::Fail).await.unwrap();
    assert_eq!(found(m, "golf").await, [at(&other, 0)]);
}

/// Every message of a long history is found exactly where it is, through cuts, replacements,
/// appends and forks that fall inside a store's groups of messages and on their edges.
pub async fn search_keeps_long_histories_exact_through_every_edit(m: &impl SessionManager) {
    let word = |i: usize| format!("w{i:03}");
    let numbered = |range: std::ops::Range<usize>| -> Vec<Value> {
        range
            .map(|i| user(&format!("{} shared", word(i))))
            .collect()
    };
    let s = chat("a", &[], numbered(0..100));
    m.save(&s).await.unwrap();
    let id = s.metadata.id.as_str();
    let all = SearchOptions {
        limit: 1000,
        ..SearchOptions::default()
    };
    let shared = || async { m.search("shared", all.clone()).await.unwrap().len() };
    for i in [0, 1, 31, 32, 33, 63, 64, 65, 98, 99] {
        assert_eq!(found(m, &word(i)).await, [at(&s, i as u64)], "{}", word(i));
    }
    // Cut inside a group: what is kept is found, nothing after it.
    m.rewind(id, 45).await.unwrap();
    assert_eq!(found(m, &word(44)).await, [at(&s, 44)]);
    for i in [45, 46, 63, 64, 99] {
        assert_eq!(found(m, &word(i)).await, [], "{} after the cut", word(i));
    }
    assert_eq!(shared().await, 45);
    // The last message replaced where it was saved, twice.
    for text in ["w900 first", "w901 second"] {
        m.replace_last(id, user(text), TurnOptions::default())
            .await
            .unwrap();
    }
    assert_eq!(found(m, &word(44)).await, []);
    assert_eq!(found(m, "w900").await, []);
    assert_eq!(found(m, "w901").await, [at(&s, 44)]);
    assert_eq!(found(m, &word(43)).await, [at(&s, 43)]);
    // Many appended at once, then one: each found at its place.
    m.append(id, numbered(100..180), TurnOptions::default())
        .await
        .unwrap();
    m.append(id, numbered(180..181), TurnOptions::default())
        .await
        .unwrap();
    for i in [100, 101, 131, 132, 133, 179, 180] {
        assert_eq!(
            found(m, &word(i)).await,
            [at(&s, (i - 55) as u64)],
            "{}",
            word(i)
        );
    }
    assert_eq!(shared().await, 44 + 81);
    // A cut on the first message an append added, and one inside the history saved.
    m.rewind(id, 45).await.unwrap();
    assert_eq!(found(m, &word(100)).await, []);
    assert_eq!(found(m, "w901").await, [at(&s, 44)]);
    m.rewind(id, 32).await.unwrap();
    assert_eq!(found(m, &word(31)).await, [at(&s, 31)]);
    assert_eq!(found(m, &word(32)).await, []);
    assert_eq!(shared().await, 32);
    // A fork is found whole under its own id, and is cut on its own.
    let fork = m.fork(id, None).await.unwrap();
    for i in [0, 15, 31] {
        let mut hits = found(m, &word(i)).await;
        hits.sort();
        let mut want = vec![at(&s, i as u64), (fork.id.clone(), i as u64)];
        want.sort();
        assert_eq!(hits, want, "{}", word(i));
    }
    m.rewind(&fork.id, 10).await.unwrap();
    assert_eq!(found(m, &word(20)).await, [at(&s, 20)]);
    assert_eq!(shared().await, 32 + 10);
    // Saves over a history of 40 (blocks of 32 and 8) that keep its first 20, or first 32,
    // messages: the words of those stay, none of those after.
    for keep in [20, 32] {
        let mut t = chat("a", &[], numbered(200..240));
        m.save(&t).await.unwrap();
        t.messages.truncate(keep);
        t.messages.push(user("w950 edited"));
        m.save(&t).await.unwrap();
        let last = word(200 + keep - 1);
        assert_eq!(found(m, &last).await, [at(&t, keep as u64 - 1)], "{last}");
        for i in [keep, 32, 39] {
            assert_eq!(
                found(m, &word(200 + i)).await,
                [],
                "{} after {keep}",
                word(200 + i)
            );
        }
        assert_eq!(found(m, "w950").await, [at(&t, keep as u64)]);
        m.delete(&t.metadata.id).await.unwrap();
    }
}

pub async fn search_finds_chinese_japanese_and_korean_words(m: &impl SessionManager) {
    let s = chat(
        "a",
        &[],
        vec![
            user("我们今天讨论搜索引擎的设计"),
            user("全文検索を実装します"),
            user("테스트입니다"),
            user("Прощай, Мир"),
        ],
    );
    m.save(&s).await.unwrap();
    assert_eq!(found(m, "搜索").await, [at(&s, 0)]);
    assert_eq!(found(m, "検索").await, [at(&s, 1)]);
    assert_eq!(found(m, "테스트").await, [at(&s, 2)]);
    assert_eq!(found(m, "мир").await, [at(&s, 3)]);
    assert_eq!(found(m, "搜索 検索").await, []);
}

pub async fn search_and_filters_refuse_bad_input_and_change_nothing(m: &impl SessionManager) {
    m.save(&chat("a", &["t"], vec![user("hello there")]))
        .await
        .unwrap();
    let before = snapshot(m).await;
    let with = |limit: usize, tag: Option<&str>, agent: Option<&str>| SearchOptions {
        limit,
        filter: Filter {
            tag: tag.map(Into::into),
            agent_name: agent.map(Into::into),
        },
    };
    for query in ["", "   ", "!?…", "- -"] {
        let e = assert_code(
            m.search(query, SearchOptions::default()).await,
            "INVALID_INPUT",
        );
        assert!(e.to_string().contains("no word"), "{e}");
    }
    let many = (0..17)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    assert_code(
        m.search(&many, SearchOptions::default()).await,
        "INVALID_INPUT",
    );
    assert_code(
        m.search("hello", with(0, None, None)).await,
        "INVALID_INPUT",
    );
    assert_code(
        m.search("hello", with(1001, None, None)).await,
        "INVALID_INPUT",
    );
    assert_code(
        m.search("hello", with(5, Some(""), None)).await,
        "INVALID_INPUT",
    );
    assert_code(
        m.search("hello", with(5, None, Some(""))).await,
        "INVALID_INPUT",
    );
    let empty_tag = Filter {
        tag: Some(String::new()),
        agent_name: None,
    };
    assert_code(m.list_filtered(&empty_tag, 0, 10).await, "INVALID_INPUT");
    assert_eq!(snapshot(m).await, before);
}

pub async fn search_and_list_filter_by_tag_and_agent(m: &impl SessionManager) {
    let mut made = Vec::new();
    for i in 0..6 {
        let agent = if i % 2 == 0 { "coder" } else { "writer" };
        let tags: &[&str] = if i % 3 == 0 {
            &["work", "urgent"]
        } else {
            &["work"]
        };
        let s = chat(agent, tags, vec![user(&format!("report number {i}"))]);
        m.save(&s).await.unwrap();
        made.push(s.metadata.id.clone());
    }
    let page = |tag: Option<&str>, agent: Option<&str>| Filter {
        tag: tag.map(Into::into),
        agent_name: agent.map(Into::into),
    };
    let listed = |f: Filter, offset, limit| async move {
        let metas = m.list_filtered(&f, offset, limit).await.unwrap();
        metas.into_iter().map(|meta| meta.id).collect::<Vec<_>>()
    };
    let newest_first = |is: &[usize]| {
        is.iter()
            .rev()
            .map(|&i| made[i].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        listed(page(Some("urgent"), None), 0, 10).await,
        newest_first(&[0, 3])
    );
    assert_eq!(
        listed(page(None, Some("coder")), 0, 10).await,
        newest_first(&[0, 2, 4])
    );
    assert_eq!(
        listed(page(Some("urgent"), Some("writer")), 0, 10).await,
        newest_first(&[3])
    );
    assert_eq!(
        listed(page(Some("work"), None), 1, 2).await,
        newest_first(&[3, 4])
    );
    assert_eq!(
        listed(page(Some("nope"), None), 0, 10).await,
        Vec::<String>::new()
    );
    assert_eq!(
        listed(page(None, None), 0, 3).await,
        newest_first(&[3, 4, 5])
    );
    // A tag added later, or a write, moves a session into the filter's first page.
    m.tag(&made[1], vec!["urgent".into()]).await.unwrap();
    assert_eq!(
        listed(page(Some("urgent"), None), 0, 1).await,
        [made[1].clone()]
    );
    m.append(&made[0], vec![user("more")], TurnOptions::tokens(1))
        .await
        .unwrap();
    assert_eq!(
        listed(page(Some("urgent"), None), 0, 10).await,
        [made[0].clone(), made[1].clone(), made[3].clone()]
    );
    // Search takes the same filters.
    let hits = m
        .search(
            "report",
            SearchOptions {
                limit: 10,
                filter: page(Some("urgent"), Some("coder")),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>(),
        [made[0].clone()]
    );
    m.delete(&made[0]).await.unwrap();
    assert_eq!(
        listed(page(Some("urgent"), None), 0, 10).await,
        [made[1].clone(), made[3].clone()]
    );
}
