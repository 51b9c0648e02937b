//! No input bytes make the parser or the validator panic, and the tallies always add up.

use cutover::model::{
    parse_line, Account, C2cMessage, Friend, Group, GroupMember, GroupMessage, Profile,
};
use cutover::source::{validate_export, ExportDir, ExportFile};
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::fs;

/// Field names of the format, so generated objects reach the deep paths.
const NAMES: &[&str] = &[
    "id",
    "nick",
    "from",
    "to",
    "sent_at",
    "seq",
    "random",
    "body",
    "type",
    "text",
    "url",
    "uuid",
    "width",
    "height",
    "size",
    "format",
    "name",
    "seconds",
    "desc",
    "latitude",
    "longitude",
    "index",
    "data",
    "owner",
    "friend",
    "source",
    "groups",
    "custom",
    "group",
    "member",
    "role",
    "joined_at",
    "unread",
    "created_at",
    "birthday",
    "gender",
    "thumb_url",
    "custom_data",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        prop::sample::select(vec![
            "text",
            "image",
            "custom",
            "owner",
            "avchatroom",
            "u1",
            "g1",
            ""
        ])
        .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let key = prop_oneof![
            3 => prop::sample::select(NAMES).prop_map(str::to_string),
            1 => ".{0,12}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..10)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn parse_everything(line: &[u8]) {
    let a = parse_line::<Account>(line);
    assert_eq!(a.record.is_some(), a.problems.is_empty());
    let _ = parse_line::<Profile>(line);
    let _ = parse_line::<Friend>(line);
    let m = parse_line::<C2cMessage>(line);
    assert_eq!(m.record.is_some(), m.problems.is_empty());
    let _ = parse_line::<Group>(line);
    let _ = parse_line::<GroupMember>(line);
    let _ = parse_line::<GroupMessage>(line);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        parse_everything(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(v in json_value()) {
        parse_everything(v.to_string().as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whole exports of random lines: no panic, and records = valid + invalid in every file.
    #[test]
    fn validator_tallies_add_up(
        files in prop::collection::vec(
            prop::collection::vec(
                prop_oneof![
                    json_value().prop_map(|v| v.to_string().into_bytes()),
                    prop::collection::vec(any::<u8>(), 0..60),
                ],
                0..20,
            ),
            7,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("manifest.json"),
            r#"{"format": "cutover-export", "version": 1, "exported_at": 1732000000}"#,
        )
        .unwrap();
        for (file, lines) in ExportFile::ALL.iter().zip(&files) {
            let mut content = Vec::new();
            for line in lines {
                content.extend(line.iter().copied().filter(|b| *b != b'\n'));
                content.push(b'\n');
            }
            fs::write(dir.path().join(file.file_name()), content).unwrap();
        }
        let export = ExportDir::open(dir.path()).unwrap();
        let mut problems = 0u64;
        let report = validate_export(&export, &mut |_| problems += 1).unwrap();
        for f in &report.files {
            prop_assert_eq!(f.records, f.valid + f.invalid, "{}", f.file);
        }
        prop_assert_eq!(report.problems(), problems);
    }
}
