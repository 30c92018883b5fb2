//! JSON array texts, as the IndexedDB store keeps messages: cut after the first `n` elements
//! by scanning for top-level commas, without parsing (or changing) a single element.

/// The JSON array `text` cut to its first `keep` elements, or `None` if it has no more than
/// that. Fails if `text` is not a JSON array.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) fn truncated_array(text: &str, keep: usize) -> Result<Option<String>, &'static str> {
    let body = text.trim_start();
    let offset = text.len() - body.len();
    let rest = body.strip_prefix('[').ok_or("not a JSON array")?;
    if keep == 0 {
        return Ok((!rest.trim_start().starts_with(']')).then(|| "[]".to_owned()));
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
            b']' | b'}' if depth == 0 => return Ok(None),
            b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                commas += 1;
                if commas == keep {
                    // Cut at an ASCII comma: always a character boundary.
                    let end = offset + 1 + i;
                    return Ok(Some(format!("{}]", &text[..end])));
                }
            }
            _ => {}
        }
    }
    Err("the JSON array is not terminated")
}

#[cfg(test)]
mod tests {
    use super::truncated_array;

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
