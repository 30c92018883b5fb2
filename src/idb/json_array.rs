//! JSON array texts, as the IndexedDB store keeps messages: cut after the first `n` elements
//! by scanning for top-level commas, without parsing (or changing) a single element.

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

#[cfg(test)]
mod tests {
    use super::{cut_array, Cut};
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
}
