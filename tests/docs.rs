//! The README documents what the code does.

use cutover::model::Rule;

#[test]
fn every_rule_is_in_the_readme_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let table: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `")).collect();
    for rule in Rule::ALL {
        let name = format!("`{}`", rule.name());
        assert!(
            table
                .iter()
                .any(|row| row.split('|').nth(1).is_some_and(|c| c.contains(&name))),
            "rule {name} is not in the README's table of rules"
        );
    }
}
