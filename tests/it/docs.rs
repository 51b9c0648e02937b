//! The README and the pages in docs/ document what the code does, and every relative link in
//! them leads somewhere: the file exists, and so does the heading an `#anchor` names.

use cutover::model::Rule;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_rule_is_in_the_export_formats_table() {
    let page = read(&root().join("docs/export-format.md"));
    let table: Vec<&str> = page.lines().filter(|l| l.starts_with("| `")).collect();
    for rule in Rule::ALL {
        let name = format!("`{}`", rule.name());
        assert!(
            table
                .iter()
                .any(|row| row.split('|').nth(1).is_some_and(|c| c.contains(&name))),
            "rule {name} is not in the table of rules in docs/export-format.md"
        );
    }
}

/// The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The text outside fenced code blocks, with inline code spans blanked out.
fn prose(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            let mut out = String::new();
            for (i, part) in line.split('`').enumerate() {
                // Odd parts are inside a code span; a link label around one stays a link.
                out.push_str(if i % 2 == 0 { part } else { "code" });
            }
            lines.push(out);
        }
    }
    lines
}

fn anchors(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.push(slug(line.trim_start_matches('#')));
        }
    }
    out
}

/// Every `](target)` of a page's prose.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose(text) {
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn every_relative_link_in_the_readme_and_docs_resolves() {
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap_or_else(|e| panic!("docs/: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let text = read(page);
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, anchor) = match link.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (link.as_str(), None),
            };
            let target = if path.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap_or(Path::new(".")).join(path)
            };
            if !target.exists() {
                broken.push(format!("{}: {link}: no such file", page.display()));
                continue;
            }
            if let Some(anchor) = anchor {
                let heads = anchors(&read(&target));
                if !heads.iter().any(|h| h == anchor) {
                    broken.push(format!("{}: {link}: no such heading", page.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(
        checked > 20,
        "only {checked} links found: is the link reader broken?"
    );
}

#[test]
fn the_readme_stays_short_and_links_the_docs_pages() {
    let readme = read(&root().join("README.md"));
    assert!(
        readme.len() <= 10 * 1024,
        "README.md is {} bytes: move detail to docs/",
        readme.len()
    );
    for page in ["commands", "console", "export-format", "sync", "export"] {
        let link = format!("(docs/{page}.md)");
        assert!(readme.contains(&link), "the README does not link {link}");
    }
}

#[test]
fn the_console_page_lists_every_key() {
    let page = read(&root().join("docs/console.md"));
    for key in [
        "Tab",
        "j k",
        "p / r",
        "Enter",
        "| y |",
        "| B |",
        "R / s / e",
        "| / |",
        "q, Ctrl-C",
        "| ? |",
    ] {
        assert!(page.contains(key), "docs/console.md does not list {key:?}");
    }
}

#[test]
fn the_slug_is_githubs() {
    assert_eq!(
        slug(" Pre-copy, then a window for the delta"),
        "pre-copy-then-a-window-for-the-delta"
    );
    assert_eq!(slug(" `cutover run`"), "cutover-run");
}
