use super::*;

fn problems_of<T: ExportRecord>(line: &str) -> Vec<(Rule, String)> {
    parse_line::<T>(line.as_bytes())
        .problems
        .into_iter()
        .map(|p| (p.rule, p.field))
        .collect()
}

fn assert_ok<T: ExportRecord + std::fmt::Debug>(line: &str) -> T {
    let parsed = parse_line::<T>(line.as_bytes());
    assert!(parsed.problems.is_empty(), "{line}: {:?}", parsed.problems);
    parsed.record.expect("record")
}

fn assert_rule<T: ExportRecord>(line: &str, rule: Rule, field: &str) {
    let got = problems_of::<T>(line);
    assert!(
        got.contains(&(rule, field.to_string())),
        "{line}: expected {rule} on {field:?}, got {got:?}"
    );
}

#[test]
fn line_level_rules() {
    assert_rule::<Account>("{\"id\": \"u1\"", Rule::InvalidJson, "");
    assert_rule::<Account>("[1,2]", Rule::InvalidJson, "");
    let bad_utf8 = b"{\"id\": \"\xff\"}";
    assert_eq!(
        parse_line::<Account>(bad_utf8).problems[0].rule,
        Rule::InvalidUtf8
    );
}

#[test]
fn account_rules() {
    let a: Account = assert_ok(r#"{"id": "u1", "nick": "阿丽 🌸", "created_at": 1600000000}"#);
    assert_eq!(a.nick.as_deref(), Some("阿丽 🌸"));
    assert_rule::<Account>(r#"{"nick": "x"}"#, Rule::MissingField, "id");
    assert_rule::<Account>(r#"{"id": 7}"#, Rule::WrongType, "id");
    assert_rule::<Account>(
        &format!(r#"{{"id": "{}"}}"#, "u".repeat(33)),
        Rule::BadLength,
        "id",
    );
    assert_ok::<Account>(&format!(r#"{{"id": "{}"}}"#, "u".repeat(32)));
    assert_rule::<Account>(r#"{"id": ""}"#, Rule::BadLength, "id");
    let long_nick = format!(r#"{{"id": "u1", "nick": "{}"}}"#, "n".repeat(501));
    assert_rule::<Account>(&long_nick, Rule::BadLength, "nick");
    assert_rule::<Account>(
        r#"{"id": "u1", "created_at": "2020"}"#,
        Rule::WrongType,
        "created_at",
    );
}

#[test]
fn unknown_fields_are_notes_not_problems() {
    let p = parse_line::<Account>(br#"{"id": "u1", "vip": true}"#);
    assert!(p.problems.is_empty());
    assert_eq!(p.unknown_fields, vec!["vip".to_string()]);
}

#[test]
fn profile_rules() {
    assert_ok::<Profile>(
        r#"{"id": "u1", "gender": "female", "birthday": 19900214, "location": "杭州", "allow_friend": "need_confirm", "custom": {"Hobby": "chess"}}"#,
    );
    assert_rule::<Profile>(
        r#"{"id": "u1", "gender": "f"}"#,
        Rule::UnknownEnum,
        "gender",
    );
    assert_rule::<Profile>(
        r#"{"id": "u1", "allow_friend": "maybe"}"#,
        Rule::UnknownEnum,
        "allow_friend",
    );
    assert_rule::<Profile>(
        r#"{"id": "u1", "birthday": 19901332}"#,
        Rule::InvalidValue,
        "birthday",
    );
    assert_rule::<Profile>(
        r#"{"id": "u1", "birthday": 20230229}"#,
        Rule::InvalidValue,
        "birthday",
    );
    assert_ok::<Profile>(r#"{"id": "u1", "birthday": 20240229}"#);
    assert_rule::<Profile>(
        r#"{"id": "u1", "location": "浙江省杭州市西湖区"}"#,
        Rule::BadLength,
        "location",
    );
    assert_rule::<Profile>(
        r#"{"id": "u1", "custom": {"Hobby1": "x"}}"#,
        Rule::InvalidValue,
        "custom.Hobby1",
    );
    assert_rule::<Profile>(
        r#"{"id": "u1", "custom": {"Hobby": 3}}"#,
        Rule::WrongType,
        "custom.Hobby",
    );
    assert_rule::<Profile>(r#"{"id": "u1", "level": -1}"#, Rule::InvalidValue, "level");
}

#[test]
fn friend_rules() {
    let f: Friend = assert_ok(
        r#"{"owner": "u1", "friend": "u2", "remark": "Bob", "groups": ["Work"], "source": "Android", "custom": {"Since": 2019, "Tag": "x"}}"#,
    );
    assert_eq!(f.groups, vec!["Work".to_string()]);
    assert_rule::<Friend>(
        r#"{"owner": "u1", "friend": "u1", "source": "Web"}"#,
        Rule::FriendToSelf,
        "friend",
    );
    assert_rule::<Friend>(
        r#"{"owner": "u1", "friend": "u2"}"#,
        Rule::MissingField,
        "source",
    );
    assert_rule::<Friend>(
        r#"{"owner": "u1", "friend": "u2", "source": "QR-code"}"#,
        Rule::InvalidValue,
        "source",
    );
    assert_rule::<Friend>(
        r#"{"owner": "u1", "friend": "u2", "source": "Recommend"}"#,
        Rule::BadLength,
        "source",
    );
    assert_rule::<Friend>(
        r#"{"owner": "u1", "friend": "u2", "source": "Web", "groups": [""]}"#,
        Rule::BadLength,
        "groups[0]",
    );
    assert_rule::<Friend>(
        r#"{"owner": "u1", "friend": "u2", "source": "Web", "groups": "Work"}"#,
        Rule::WrongType,
        "groups",
    );
    let many: Vec<String> = (0..33).map(|i| format!("\"g{i}\"")).collect();
    let line = format!(
        r#"{{"owner": "u1", "friend": "u2", "source": "Web", "groups": [{}]}}"#,
        many.join(",")
    );
    assert_rule::<Friend>(&line, Rule::TooManyFriendGroups, "groups");
    let remark = format!(
        r#"{{"owner": "u1", "friend": "u2", "source": "Web", "remark": "{}"}}"#,
        "r".repeat(97)
    );
    assert_rule::<Friend>(&remark, Rule::BadLength, "remark");
    assert_rule::<Friend>(
        r#"{"owner": "u1", "friend": "u2", "source": "Web", "custom": {"A": 1.5}}"#,
        Rule::WrongType,
        "custom.A",
    );
}

#[test]
fn c2c_message_rules() {
    let m: C2cMessage = assert_ok(
        r#"{"id": "m1", "from": "u1", "to": "u2", "sent_at": 1600000200, "seq": 7, "body": [{"type": "text", "text": "你好 👋"}]}"#,
    );
    assert_eq!(m.seq, Some(7));
    assert_rule::<C2cMessage>(
        r#"{"id": "m1", "from": "u1", "to": "u2", "sent_at": 1, "body": []}"#,
        Rule::EmptyBody,
        "body",
    );
    assert_rule::<C2cMessage>(
        r#"{"id": "m1", "from": "u1", "to": "u2", "body": [{"type": "text", "text": "x"}]}"#,
        Rule::MissingField,
        "sent_at",
    );
    assert_rule::<C2cMessage>(
        r#"{"id": "m1", "from": "u1", "to": "u2", "sent_at": -5, "body": [{"type": "text", "text": "x"}]}"#,
        Rule::InvalidValue,
        "sent_at",
    );
    assert_rule::<C2cMessage>(
        r#"{"id": "m1", "from": "u1", "to": "u2", "sent_at": 1, "seq": 4294967296, "body": [{"type": "text", "text": "x"}]}"#,
        Rule::InvalidValue,
        "seq",
    );
    let big = format!(
        r#"{{"id": "m1", "from": "u1", "to": "u2", "sent_at": 1, "body": [{{"type": "text", "text": "{}"}}]}}"#,
        "字".repeat(4100)
    );
    assert_rule::<C2cMessage>(&big, Rule::BodyTooLarge, "body");
    let fits = format!(
        r#"{{"id": "m1", "from": "u1", "to": "u2", "sent_at": 1, "body": [{{"type": "text", "text": "{}"}}]}}"#,
        "字".repeat(4000)
    );
    assert_ok::<C2cMessage>(&fits);
}

#[test]
fn element_rules() {
    let msg = |body: &str| {
        format!(
            r#"{{"id": "m1", "from": "u1", "to": "u2", "sent_at": 1600000000, "body": {body}}}"#
        )
    };
    let all = r#"[
        {"type": "text", "text": "hi"},
        {"type": "image", "url": "https://c/i.png", "uuid": "i1", "width": 10, "height": 20, "size": 300, "format": "png"},
        {"type": "file", "url": "https://c/f", "uuid": "f1", "name": "a.pdf", "size": 1024},
        {"type": "sound", "url": "https://c/s", "uuid": "s1", "size": 2048, "seconds": 3},
        {"type": "video", "url": "https://c/v", "uuid": "v1", "size": 9, "seconds": 4, "format": "mp4", "thumb_url": "https://c/t", "thumb_uuid": "t1", "thumb_width": 1, "thumb_height": 2},
        {"type": "location", "desc": "西湖", "latitude": 30.25, "longitude": 120.16},
        {"type": "face", "index": 3},
        {"type": "custom", "data": "{\"k\":1}"}]"#;
    let m: C2cMessage = assert_ok(&msg(all));
    assert_eq!(m.body.len(), 8);
    assert_rule::<C2cMessage>(
        &msg(r#"[{"type": "gif"}]"#),
        Rule::BadElement,
        "body[0].type",
    );
    assert_rule::<C2cMessage>(
        &msg(r#"[{"text": "x"}]"#),
        Rule::MissingField,
        "body[0].type",
    );
    assert_rule::<C2cMessage>(&msg(r#"["x"]"#), Rule::WrongType, "body[0]");
    assert_rule::<C2cMessage>(
        &msg(r#"[{"type": "image", "url": "u", "uuid": "i", "width": 1}]"#),
        Rule::MissingField,
        "body[0].height",
    );
    assert_rule::<C2cMessage>(
        &msg(
            r#"[{"type": "image", "url": "u", "uuid": "i", "width": 1, "height": 1, "format": "webp"}]"#,
        ),
        Rule::UnknownEnum,
        "body[0].format",
    );
    assert_rule::<C2cMessage>(
        &msg(r#"[{"type": "location", "desc": "", "latitude": 91, "longitude": 0}]"#),
        Rule::InvalidValue,
        "body[0].latitude",
    );
    assert_rule::<C2cMessage>(
        &msg(r#"[{"type": "custom", "data": "a"}, {"type": "custom", "data": "b"}]"#),
        Rule::BadElement,
        "body[1]",
    );
    assert_rule::<C2cMessage>(
        &msg(r#"[{"type": "file", "url": "u", "uuid": "f", "name": "n", "size": -1}]"#),
        Rule::InvalidValue,
        "body[0].size",
    );
}

#[test]
fn group_rules() {
    let g: Group = assert_ok(
        r#"{"id": "g1", "type": "public", "name": "棋社 ♟", "owner": "u1", "join_option": "free", "created_at": 1590000000, "custom": {"level_2": "gold"}}"#,
    );
    assert_eq!(g.kind, GroupType::Public);
    assert_rule::<Group>(
        r#"{"id": "g1", "type": "avchatroom", "name": "live", "created_at": 1}"#,
        Rule::Avchatroom,
        "type",
    );
    assert_rule::<Group>(
        r#"{"id": "g1", "type": "club", "name": "x", "created_at": 1}"#,
        Rule::UnknownEnum,
        "type",
    );
    assert_rule::<Group>(
        r#"{"id": "g1", "type": "public", "created_at": 1}"#,
        Rule::MissingField,
        "name",
    );
    assert_rule::<Group>(
        r#"{"id": "g1", "type": "public", "name": "一二三四五六七八九十一", "created_at": 1}"#,
        Rule::BadLength,
        "name",
    );
    assert_rule::<Group>(
        r#"{"id": "g1", "type": "public", "name": "x"}"#,
        Rule::MissingField,
        "created_at",
    );
    assert_rule::<Group>(
        r#"{"id": "g1", "type": "public", "name": "x", "created_at": 1, "join_option": "open"}"#,
        Rule::UnknownEnum,
        "join_option",
    );
    assert_rule::<Group>(
        r#"{"id": "g1", "type": "public", "name": "x", "created_at": 1, "custom": {"a-b": "x"}}"#,
        Rule::InvalidValue,
        "custom.a-b",
    );
    let avatar = format!(
        r#"{{"id": "g1", "type": "public", "name": "x", "created_at": 1, "avatar_url": "{}"}}"#,
        "a".repeat(101)
    );
    assert_rule::<Group>(&avatar, Rule::BadLength, "avatar_url");
}

#[test]
fn group_member_rules() {
    let m: GroupMember = assert_ok(
        r#"{"group": "g1", "member": "u2", "role": "admin", "joined_at": 1590000100, "unread": 3}"#,
    );
    assert_eq!(m.role, Some(MemberRole::Admin));
    assert_rule::<GroupMember>(
        r#"{"group": "g1", "member": "u2", "role": "vip"}"#,
        Rule::UnknownEnum,
        "role",
    );
    assert_rule::<GroupMember>(r#"{"group": "g1"}"#, Rule::MissingField, "member");
    assert_rule::<GroupMember>(
        r#"{"group": "g1", "member": "u2", "unread": -3}"#,
        Rule::InvalidValue,
        "unread",
    );
}

#[test]
fn group_message_rules() {
    assert_ok::<GroupMessage>(
        r#"{"id": "gm1", "group": "g1", "from": "u2", "sent_at": 1600000300, "body": [{"type": "face", "index": 1, "data": "smile"}]}"#,
    );
    assert_rule::<GroupMessage>(
        r#"{"id": "gm1", "group": "g1", "from": "u2", "sent_at": 1600000300}"#,
        Rule::MissingField,
        "body",
    );
    assert_rule::<GroupMessage>(
        r#"{"id": "gm1", "from": "u2", "sent_at": 1, "body": [{"type": "text", "text": "x"}]}"#,
        Rule::MissingField,
        "group",
    );
}

#[test]
fn every_problem_of_a_record_is_reported() {
    let got = problems_of::<Group>(r#"{"id": "", "type": "x", "name": 3}"#);
    assert_eq!(got.len(), 4, "{got:?}");
}

#[test]
fn labels_are_safe_to_print() {
    let p = parse_line::<Account>("{\"id\": \"a\\u001b[2Jb\", \"nick\": 1}".as_bytes());
    assert!(!p.label.contains('\u{1b}'), "{}", p.label);
}
