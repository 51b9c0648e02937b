//! `[app]`'s console settings and `[import] drop_custom`, resolved: the custom fields created
//! in the Tencent console, and the custom keys the import leaves out.

use super::file::RunbookFile;
use crate::model::console::{ConsoleSettings, CustomKey, DropCustom};

/// `[app]` profile_custom_tags, friend_custom_tags and group_custom_fields, checked against
/// Tencent's key rules.
pub(super) fn console(file: &RunbookFile, problems: &mut Vec<String>) -> ConsoleSettings {
    let app = &file.app;
    let letters = |field: &str, keys: &[String], problems: &mut Vec<String>| {
        for k in keys {
            if k.is_empty() || k.len() > 8 || !k.bytes().all(|b| b.is_ascii_alphabetic()) {
                problems.push(format!(
                    "[app] {field}: {k:?} is not a key Tencent accepts (1 to 8 English letters; \
                     list the <Key> of the tag, not the whole tag name)"
                ));
            }
        }
    };
    letters("profile_custom_tags", &app.profile_custom_tags, problems);
    letters("friend_custom_tags", &app.friend_custom_tags, problems);
    for (kind, keys) in &app.group_custom_fields.0 {
        for k in keys {
            let ok = !k.is_empty()
                && k.len() <= 16
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !ok {
                problems.push(format!(
                    "[app.group_custom_fields] {}: {k:?} is not a key Tencent accepts \
                     (1 to 16 bytes of letters, digits and _)",
                    kind.tencent_name()
                ));
            }
        }
    }
    ConsoleSettings {
        profile_custom_tags: app.profile_custom_tags.clone(),
        friend_custom_tags: app.friend_custom_tags.clone(),
        group_custom_fields: app.group_custom_fields.clone(),
    }
}

/// `[import] drop_custom`: full tag names or `group:<Key>`; a key both declared and dropped
/// is refused (one of the two is a mistake).
pub(super) fn drop_custom(
    file: &RunbookFile,
    console: &ConsoleSettings,
    problems: &mut Vec<String>,
) -> DropCustom {
    let mut out = DropCustom::default();
    for name in &file.import.drop_custom {
        let key = match CustomKey::parse(name) {
            Ok(key) => key,
            Err(e) => {
                problems.push(format!("[import] drop_custom: {e}"));
                continue;
            }
        };
        let declared = match &key {
            CustomKey::Profile(k) => console.profile_custom_tags.contains(k),
            CustomKey::Friend(k) => console.friend_custom_tags.contains(k),
            CustomKey::Group(k) => console
                .group_custom_fields
                .0
                .values()
                .any(|ks| ks.contains(k)),
        };
        if declared {
            problems.push(format!(
                "[import] drop_custom names {name}, which [app] declares as created in the \
                 console: keep it in one of the two"
            ));
        }
        out.0.insert(key);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{parse_file, resolve, Flags};
    use crate::model::console::CustomKey;
    use crate::model::GroupType;
    use crate::tim::SecretKey;

    fn flags() -> Flags {
        Flags {
            source: Some("exp".into()),
            store: Some("s.db".into()),
            target_url: Some("http://127.0.0.1:1".into()),
            sdkappid: Some(1),
            admin: Some("admin".into()),
        }
    }

    #[test]
    fn app_and_drop_custom_resolve_into_the_runbook() {
        let text = "[app]\nprofile_custom_tags = [\"Hobby\"]\nfriend_custom_tags = [\"Close\"]\n\
                    [app.group_custom_fields]\nPublic = [\"Category\"]\n\
                    [import]\ndrop_custom = [\"Tag_SNS_Custom_Tag\", \"group:Level\"]\n";
        let file = parse_file(text, "t").unwrap();
        let rb = resolve(&file, &flags(), Some(SecretKey::new("k"))).unwrap();
        assert_eq!(rb.console.profile_custom_tags, ["Hobby"]);
        assert!(rb
            .console
            .group_custom_fields
            .enabled(GroupType::Public, "Category"));
        assert!(!rb
            .console
            .group_custom_fields
            .enabled(GroupType::Private, "Category"));
        assert!(rb.drop_custom.drops(&CustomKey::Group("Level".into())));
        assert_eq!(
            rb.drop_custom.names(),
            ["Tag_SNS_Custom_Tag", "group:Level"]
        );
    }

    #[test]
    fn bad_keys_and_contradictions_are_named() {
        let text = "[app]\nprofile_custom_tags = [\"Tag_Profile_Custom_Hobby\"]\n\
                    friend_custom_tags = [\"Close\"]\n\
                    [import]\ndrop_custom = [\"Close\", \"Tag_SNS_Custom_Close\"]\n";
        let file = parse_file(text, "t").unwrap();
        let problems = resolve(&file, &flags(), Some(SecretKey::new("k"))).unwrap_err();
        let all = problems.join("\n");
        assert!(all.contains("list the <Key> of the tag"), "{all}");
        assert!(all.contains("\"Close\" is not a custom key"), "{all}");
        assert!(all.contains("keep it in one of the two"), "{all}");
        let bad_type = parse_file("[app.group_custom_fields]\nWork = [\"A\"]\n", "t");
        assert!(bad_type
            .unwrap_err()
            .to_string()
            .contains("Private, Public"));
    }
}
