//! The crate docs (`src/crate.md`, a doctest) and the README say the same: the README's Rust
//! quick start and its Semantics section appear word for word in the crate docs.
#![cfg(not(target_arch = "wasm32"))]

const README: &str = include_str!("../README.md");
const CRATE_DOCS: &str = include_str!("../src/crate.md");

/// The README's text from the heading `## {name}` to the next `## ` heading.
fn section(name: &str) -> &'static str {
    let start = README
        .find(&format!("\n## {name}\n"))
        .unwrap_or_else(|| panic!("README.md has no section \"{name}\""));
    let body = &README[start + 1..];
    let end = body[3..].find("\n## ").map_or(body.len(), |i| i + 4);
    &body[..end]
}

#[test]
fn the_rust_quick_start_is_the_crate_docs_example() {
    let quick = section("Rust quick start");
    let code_start = quick.find("```rust\n").expect("a rust block");
    let code_end = code_start + quick[code_start..].find("\n```\n").expect("its end") + 5;
    let code = &quick[code_start..code_end];
    assert!(
        CRATE_DOCS.contains(code),
        "src/crate.md's example differs from the README's Rust quick start"
    );
}

#[test]
fn the_semantics_are_the_same_in_both() {
    let semantics = section("Semantics");
    assert!(
        CRATE_DOCS.contains(semantics.trim_end()),
        "src/crate.md's Semantics section differs from the README's"
    );
}
