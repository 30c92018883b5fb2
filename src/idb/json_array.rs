//! JSON array texts, as the IndexedDB store keeps messages: where to cut one after its first
//! `n` elements (scanning forwards for top-level commas), and where its last element starts
//! (scanning backwards), without parsing (or changing) a single element.

/// Where to cut a JSON array text to keep its first elements.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Keep `text[..end]` and close it with `]`.
    At(usize),
    /// The array has no more elements than that: keep it whole.
    Whole,
    /// The text ends before the answer: it is a prefix of the array (or not an array).
    NeedMore,
}

/// Where to cut the JSON array text `text` (or a prefix of it) to keep its first `keep`
/// elements, found by scanning for top-level commas.
pub(crate) fn cut_array(text: &str, keep: usize) -> Result<Cut, &'static str> {
    let body = text.trim_start();
    let offset = text.len() - body.len();
    let Some(rest) = body.strip_prefix('[') else {
        return if body.is_empty() {
            Ok(Cut::NeedMore)
        } else {
            Err("not a JSON array")
        };
    };
    if keep == 0 {
        let rest = rest.trim_start();
        return Ok(if rest.is_empty() {
            Cut::NeedMore
        } else if rest.starts_with(']') {
            Cut::Whole
        } else {
            Cut::At(offset + 1)
        });
    }
    let (mut depth, mut in_string, mut escaped, mut commas) = (0usize, false, false, 0usize);
    for (i, byte) in rest.bytes().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' if depth == 0 => return Ok(Cut::Whole),
            b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                commas += 1;
                if commas == keep {
                    // An ASCII comma: always a character boundary.
                    return Ok(Cut::At(offset + 1 + i));
                }
            }
            _ => {}
        }
    }
    Ok(Cut::NeedMore)
}

/// Where the last element of a JSON array text starts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Last {
    /// `text[..start]` is the array up to and including the `[` or `,` before its last element.
    At(usize),
    /// The array has no elements.
    Empty,
    /// The text starts inside the last element: it is a suffix of the array.
    NeedMore,
}

/// Where the last element of the JSON array text `text` (or a suffix of it) starts, found by
/// scanning backwards from its closing `]`. The scan reads only the last element, so its cost
/// does not grow with the array.
pub(crate) fn last_element(text: &str) -> Result<Last, &'static str> {
    let body = text.trim_end();
    let Some(rest) = body.strip_suffix(']') else {
        return Err("not a JSON array");
    };
    let bytes = rest.as_bytes();
    let (mut depth, mut in_string, mut seen) = (0usize, false, false);
    let mut i = bytes.len();
    while i > 0 {
        i -= 1;
        let byte = bytes[i];
        if byte == b'"' {
            // A quote after an odd number of backslashes is inside a string, escaped.
            let backslashes = bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count();
            if backslashes == i {
                // The text may start inside that run of backslashes: look further back.
                return Ok(Last::NeedMore);
            }
            if backslashes % 2 == 0 {
                in_string = !in_string;
            }
            seen = true;
            continue;
        }
        if in_string {
            continue;
        }
        match byte {
            // A closing bracket is part of an element, even of an empty one (`[]`, `{}`).
            b']' | b'}' => (depth, seen) = (depth + 1, true),
            b'[' | b'{' if depth == 0 => {
                return Ok(if seen { Last::At(i + 1) } else { Last::Empty });
            }
            b'[' | b'{' => depth -= 1,
            b',' if depth == 0 => return Ok(Last::At(i + 1)),
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => seen = true,
        }
    }
    Ok(Last::NeedMore)
}

#[cfg(test)]
mod tests {
    use super::{cut_array, last_element, Cut, Last};
    use wasm_bindgen_test::wasm_bindgen_test as test;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    /// The whole JSON array `text` cut to its first `keep` elements, or `None` if it has no more
    /// than that.
    fn truncated_array(text: &str, keep: usize) -> Result<Option<String>, &'static str> {
        match cut_array(text, keep)? {
            Cut::At(end) => Ok(Some(format!("{}]", &text[..end]))),
            Cut::Whole => Ok(None),
            Cut::NeedMore => Err("the JSON array is not terminated"),
        }
    }

    #[test]
    fn cuts_after_top_level_elements_only() {
        let text = r#"[{"a":[1,2],"b":"x,]\"}"},[3,{"c":4}],"s",5]"#;
        assert_eq!(truncated_array(text, 0).unwrap().as_deref(), Some("[]"));
        assert_eq!(
            truncated_array(text, 1).unwrap().as_deref(),
            Some(r#"[{"a":[1,2],"b":"x,]\"}"}]"#)
        );
        assert_eq!(
            truncated_array(text, 3).unwrap().as_deref(),
            Some(r#"[{"a":[1,2],"b":"x,]\"}"},[3,{"c":4}],"s"]"#)
        );
        assert_eq!(truncated_array(text, 4).unwrap(), None);
        assert_eq!(truncated_array(text, 9).unwrap(), None);
    }

    #[test]
    fn empty_arrays_and_non_arrays() {
        assert_eq!(truncated_array("[]", 0).unwrap(), None);
        assert_eq!(truncated_array("[]", 2).unwrap(), None);
        assert_eq!(
            truncated_array(r#"["é","😀"]"#, 1).unwrap().as_deref(),
            Some(r#"["é"]"#)
        );
        assert!(truncated_array("{}", 1).is_err());
        assert!(truncated_array("[1,2", 5).is_err());
    }

    #[test]
    fn prefixes_ask_for_more_until_the_cut_is_inside() {
        let text = r#"[{"k":"a,b"},[1,2],"x"]"#;
        let cut = |end: usize| cut_array(&text[..end], 2).unwrap();
        assert_eq!(cut(0), Cut::NeedMore);
        assert_eq!(cut(1), Cut::NeedMore);
        assert_eq!(cut(9), Cut::NeedMore, "the comma inside a string is no cut");
        assert_eq!(cut(18), Cut::NeedMore);
        assert_eq!(cut(19), Cut::At(18));
        assert_eq!(cut_array(text, 3).unwrap(), Cut::Whole);
        assert_eq!(cut_array("[", 0).unwrap(), Cut::NeedMore);
        assert_eq!(cut_array("[1", 0).unwrap(), Cut::At(1));
    }

    #[test]
    fn every_cut_of_serialized_values_parses_back_to_a_prefix() {
        let values: Vec<serde_json::Value> = serde_json::from_str(
            r#"[1, "a\\\"b", {"k": [1, {"n": null}]}, [], {}, "\\", [[["deep"]]], -2.5e10, true]"#,
        )
        .unwrap();
        let text = serde_json::to_string(&values).unwrap();
        for keep in 0..=values.len() + 1 {
            let cut = truncated_array(&text, keep).unwrap();
            let back: Vec<serde_json::Value> =
                serde_json::from_str(cut.as_deref().unwrap_or(&text)).unwrap();
            assert_eq!(back, values[..keep.min(values.len())], "keep {keep}");
        }
    }

    #[test]
    fn finds_the_last_element_from_the_end() {
        let text = r#"[{"a":[1,2],"b":"x,]\"}"},[3,{"c":4}],"s\\",5]"#;
        assert_eq!(last_element(text), Ok(Last::At(text.len() - 2)));
        let two = r#"[1,{"k":"a,\"]"}]"#;
        assert_eq!(
            &two[..match last_element(two).unwrap() {
                Last::At(i) => i,
                other => panic!("{other:?}"),
            }],
            "[1,"
        );
        assert_eq!(last_element("[7]"), Ok(Last::At(1)));
        assert_eq!(last_element("[]"), Ok(Last::Empty));
        assert_eq!(last_element("[ ]"), Ok(Last::Empty));
        assert_eq!(last_element(r#"["only"]"#), Ok(Last::At(1)));
        assert!(last_element("{}").is_err());
        // An empty array or object is an element, not an empty array.
        assert_eq!(last_element("[[]]"), Ok(Last::At(1)));
        assert_eq!(last_element("[{}]"), Ok(Last::At(1)));
        assert_eq!(last_element("[ [ ] ]"), Ok(Last::At(1)));
        assert_eq!(last_element("[1,{}]"), Ok(Last::At(3)));
    }

    #[test]
    fn suffixes_ask_for_more_until_the_start_is_inside() {
        let text = r#"[1,{"k":"a,b\\"},[2,3]]"#;
        let whole = last_element(text).unwrap();
        assert_eq!(whole, Last::At(17));
        for from in 0..text.len() {
            let got = last_element(&text[from..]).unwrap();
            if from <= 16 {
                assert_eq!(got, Last::At(17 - from), "suffix from {from}");
            } else {
                assert_eq!(got, Last::NeedMore, "suffix from {from}");
            }
        }
        // A suffix that starts inside a run of backslashes cannot tell an escaped quote.
        assert_eq!(last_element(r#"\\"]"#), Ok(Last::NeedMore));
    }

    #[test]
    fn every_serialized_array_splits_into_its_head_and_last_element() {
        let values: Vec<serde_json::Value> = serde_json::from_str(
            r#"[1, "a\\\"b", {"k": [1, {"n": null}]}, [], {}, "\\", [[["deep"]]], -2.5e10, "]", "[", true]"#,
        )
        .unwrap();
        // Every run of the values, so that each of them is once the first and once the last.
        let runs =
            (0..values.len()).flat_map(|from| (from + 1..=values.len()).map(move |to| from..to));
        for run in runs {
            let values = &values[run.start..];
            let n = run.len();
            let text = serde_json::to_string(&values[..n]).unwrap();
            let Ok(Last::At(start)) = last_element(&text) else {
                panic!("no last element in {text}");
            };
            let head = format!("{}]", text[..start].trim_end_matches(','));
            let back: Vec<serde_json::Value> = serde_json::from_str(&head).unwrap();
            assert_eq!(back, values[..n - 1], "head of {text}");
            let last: serde_json::Value =
                serde_json::from_str(&text[start..text.len() - 1]).unwrap();
            assert_eq!(last, values[n - 1], "last of {text}");
        }
    }
}
