use super::*;
use serde_json::json;
use std::collections::BTreeMap;

fn text(t: &str) -> Vec<Element> {
    vec![Element::Text { text: t.into() }]
}

fn wire(v: impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap()
}

#[test]
fn derived_u32_is_stable_and_salted() {
    // Fixed values: a change here breaks de-duplication of messages already imported.
    assert_eq!(derived_u32("m000001", SALT_C2C_SEQ), 1_761_713_365);
    assert_eq!(derived_u32("m000001", SALT_C2C_RANDOM), 176_264_598);
    assert_eq!(derived_u32("gm000001", SALT_GROUP_RANDOM), 3_297_643_655);
    assert_eq!(
        derived_u32("m000001", SALT_C2C_SEQ),
        derived_u32("m000001", SALT_C2C_SEQ)
    );
    assert_ne!(
        derived_u32("m000001", SALT_C2C_SEQ),
        derived_u32("m000001", SALT_C2C_RANDOM)
    );
    assert_ne!(
        derived_u32("m000001", SALT_C2C_RANDOM),
        derived_u32("m000001", SALT_GROUP_RANDOM)
    );
    assert_ne!(
        derived_u32("m000001", SALT_C2C_SEQ),
        derived_u32("m000002", SALT_C2C_SEQ)
    );
}

#[test]
fn accounts_use_the_account_list_form() {
    let accounts = [
        Account {
            id: "u0001".into(),
            nick: Some("Alice".into()),
            avatar_url: Some("https://cdn.example.com/a/u0001.png".into()),
            created_at: Some(1_600_000_000),
        },
        Account {
            id: "u0002".into(),
            nick: None,
            avatar_url: None,
            created_at: None,
        },
    ];
    assert_eq!(
        wire(multiaccount_import(&accounts)),
        json!({"AccountList": [
            {"UserID": "u0001", "Nick": "Alice", "FaceUrl": "https://cdn.example.com/a/u0001.png"},
            {"UserID": "u0002"}
        ]})
    );
}

fn empty_profile(id: &str) -> Profile {
    Profile {
        id: id.into(),
        gender: None,
        birthday: None,
        location: None,
        signature: None,
        allow_friend: None,
        language: None,
        level: None,
        role: None,
        custom: BTreeMap::new(),
    }
}

#[test]
fn profile_sets_every_present_field() {
    let profile = Profile {
        gender: Some(Gender::Female),
        birthday: Some(19_900_214),
        location: Some("Shenzhen".into()),
        signature: Some("hi there".into()),
        allow_friend: Some(AllowFriend::NeedConfirm),
        language: Some(1),
        level: Some(7),
        role: Some(3),
        custom: BTreeMap::from([
            ("Hobby".to_string(), "chess".to_string()),
            ("City".to_string(), "SZ".to_string()),
        ]),
        ..empty_profile("u0001")
    };
    assert_eq!(
        wire(portrait_set(&profile)),
        json!({"From_Account": "u0001", "ProfileItem": [
            {"Tag": "Tag_Profile_IM_Gender", "Value": "Gender_Type_Female"},
            {"Tag": "Tag_Profile_IM_BirthDay", "Value": 19_900_214},
            {"Tag": "Tag_Profile_IM_Location", "Value": "Shenzhen"},
            {"Tag": "Tag_Profile_IM_SelfSignature", "Value": "hi there"},
            {"Tag": "Tag_Profile_IM_AllowType", "Value": "AllowType_Type_NeedConfirm"},
            {"Tag": "Tag_Profile_IM_Language", "Value": 1},
            {"Tag": "Tag_Profile_IM_Level", "Value": 7},
            {"Tag": "Tag_Profile_IM_Role", "Value": 3},
            {"Tag": "Tag_Profile_Custom_City", "Value": "SZ"},
            {"Tag": "Tag_Profile_Custom_Hobby", "Value": "chess"}
        ]})
    );
}

#[test]
fn profile_enums_map_to_tencent_names() {
    for (g, name) in [
        (Gender::Male, "Gender_Type_Male"),
        (Gender::Unknown, "Gender_Type_Unknown"),
    ] {
        let p = Profile {
            gender: Some(g),
            ..empty_profile("u1")
        };
        assert_eq!(
            wire(portrait_set(&p)),
            json!({"From_Account": "u1", "ProfileItem": [
                {"Tag": "Tag_Profile_IM_Gender", "Value": name}
            ]})
        );
    }
    for (a, name) in [
        (AllowFriend::AllowAny, "AllowType_Type_AllowAny"),
        (AllowFriend::DenyAny, "AllowType_Type_DenyAny"),
    ] {
        let p = Profile {
            allow_friend: Some(a),
            ..empty_profile("u1")
        };
        assert_eq!(
            wire(portrait_set(&p)),
            json!({"From_Account": "u1", "ProfileItem": [
                {"Tag": "Tag_Profile_IM_AllowType", "Value": name}
            ]})
        );
    }
}

#[test]
fn an_empty_profile_sends_nothing() {
    assert_eq!(portrait_set(&empty_profile("u0001")), None);
}

#[test]
fn friends_of_one_owner() {
    let entries = [
        Friend {
            owner: "u0001".into(),
            friend: "u0002".into(),
            remark: Some("Bob from work".into()),
            groups: vec!["Work".into(), "Chess".into()],
            source: "Android".into(),
            wording: Some("hi".into()),
            added_at: Some(1_600_000_100),
            custom: BTreeMap::from([
                ("Color".to_string(), CustomValue::Text("red".into())),
                ("Score".to_string(), CustomValue::Int(42)),
            ]),
        },
        Friend {
            owner: "u0001".into(),
            friend: "u0003".into(),
            remark: None,
            groups: vec![],
            source: "Web".into(),
            wording: None,
            added_at: None,
            custom: BTreeMap::new(),
        },
    ];
    assert_eq!(
        wire(friend_import("u0001", &entries)),
        json!({"From_Account": "u0001", "AddFriendItem": [
            {"To_Account": "u0002", "Remark": "Bob from work", "GroupName": ["Work", "Chess"],
             "AddSource": "AddSource_Type_Android", "AddWording": "hi", "AddTime": 1_600_000_100,
             "CustomItem": [
                {"Tag": "Tag_SNS_Custom_Color", "Value": "red"},
                {"Tag": "Tag_SNS_Custom_Score", "Value": 42}
             ]},
            {"To_Account": "u0003", "AddSource": "AddSource_Type_Web"}
        ]})
    );
}

fn c2c(seq: Option<u32>, random: Option<u32>, custom: Option<&str>) -> C2cMessage {
    C2cMessage {
        id: "m000001".into(),
        from: "u0001".into(),
        to: "u0002".into(),
        sent_at: 1_600_000_200,
        seq,
        random,
        body: text("hello"),
        custom_data: custom.map(Into::into),
    }
}

#[test]
fn c2c_message_with_given_seq_and_random() {
    assert_eq!(
        wire(import_msg(
            &c2c(Some(827_092), Some(1_287_657), Some("cd")),
            Some(5)
        )),
        json!({"SyncFromOldSystem": 2, "From_Account": "u0001", "To_Account": "u0002",
               "MsgSeq": 827_092, "MsgRandom": 1_287_657, "MsgTimeStamp": 1_600_000_200,
               "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}],
               "CloudCustomData": "cd"})
    );
}

#[test]
fn c2c_message_derives_missing_seq_and_random() {
    let seq = derived_u32("m000001", SALT_C2C_SEQ);
    let random = derived_u32("m000001", SALT_C2C_RANDOM);
    assert_eq!(
        wire(import_msg(&c2c(None, None, None), None)),
        json!({"SyncFromOldSystem": 2, "From_Account": "u0001", "To_Account": "u0002",
               "MsgSeq": seq, "MsgRandom": random, "MsgTimeStamp": 1_600_000_200,
               "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}]})
    );
    assert_eq!(
        import_msg(&c2c(None, None, None), None),
        import_msg(&c2c(None, None, None), None)
    );
}

#[test]
fn c2c_message_takes_the_assigned_seq_unless_the_export_has_one() {
    assert_eq!(import_msg(&c2c(None, None, None), Some(3)).MsgSeq, Some(3));
    assert_eq!(
        import_msg(&c2c(Some(9), None, None), Some(3)).MsgSeq,
        Some(9)
    );
}

#[test]
fn c2c_body_is_the_model_encoding() {
    let mut msg = c2c(Some(1), Some(2), None);
    msg.body = vec![
        Element::Text { text: "a".into() },
        Element::Face {
            index: 3,
            data: None,
        },
    ];
    let req = wire(import_msg(&msg, None));
    assert_eq!(req["MsgBody"], tim_msg_body(&msg.body));
}

fn group(kind: GroupType, id: &str) -> Group {
    Group {
        id: id.into(),
        kind,
        name: "Chess club".into(),
        owner: None,
        introduction: None,
        notification: None,
        avatar_url: None,
        max_members: None,
        join_option: None,
        created_at: 1_590_000_000,
        custom: BTreeMap::new(),
    }
}

#[test]
fn group_with_every_field() {
    let g = Group {
        owner: Some("u0001".into()),
        introduction: Some("intro".into()),
        notification: Some("notice".into()),
        avatar_url: Some("https://cdn.example.com/g.png".into()),
        max_members: Some(500),
        join_option: Some(JoinOption::Free),
        custom: BTreeMap::from([
            ("level".to_string(), "3".to_string()),
            ("area".to_string(), "north".to_string()),
        ]),
        ..group(GroupType::Public, "g001")
    };
    assert_eq!(
        wire(import_group(&g)),
        json!({"Owner_Account": "u0001", "Type": "Public", "GroupId": "g001",
               "Name": "Chess club", "Introduction": "intro", "Notification": "notice",
               "FaceUrl": "https://cdn.example.com/g.png", "MaxMemberCount": 500,
               "ApplyJoinOption": "FreeAccess",
               "AppDefinedData": [{"Key": "area", "Value": "north"}, {"Key": "level", "Value": "3"}],
               "CreateTime": 1_590_000_000})
    );
}

#[test]
fn group_minimal_and_type_and_join_names() {
    assert_eq!(
        wire(import_group(&group(GroupType::Private, "g002"))),
        json!({"Type": "Private", "GroupId": "g002", "Name": "Chess club",
               "CreateTime": 1_590_000_000})
    );
    for (kind, name) in [
        (GroupType::Private, "Private"),
        (GroupType::Public, "Public"),
        (GroupType::Chatroom, "ChatRoom"),
        (GroupType::Community, "Community"),
    ] {
        assert_eq!(import_group(&group(kind, "g003")).Type, name);
    }
    for (option, name) in [
        (JoinOption::Free, "FreeAccess"),
        (JoinOption::NeedPermission, "NeedPermission"),
        (JoinOption::Disabled, "DisableApply"),
    ] {
        let g = Group {
            join_option: Some(option),
            ..group(GroupType::Public, "g004")
        };
        assert_eq!(import_group(&g).ApplyJoinOption.as_deref(), Some(name));
    }
}

#[test]
fn group_id_goes_through_target_group_id() {
    let g = group(GroupType::Community, "g001");
    let expected = target_group_id("g001", GroupType::Community).into_owned();
    assert!(expected.starts_with("@TGS#_"));
    assert_eq!(import_group(&g).GroupId, Some(expected));
    let g = group(GroupType::Public, "@TGS#2J4SZEAEL");
    let expected = target_group_id("@TGS#2J4SZEAEL", GroupType::Public).into_owned();
    assert_eq!(wire(import_group(&g))["GroupId"], json!(expected));
}

fn group_msg(id: &str, random: Option<u32>, custom: Option<&str>) -> GroupMessage {
    GroupMessage {
        id: id.into(),
        group: "g001".into(),
        from: "u0002".into(),
        sent_at: 1_600_000_300,
        random,
        body: text("gg"),
        custom_data: custom.map(Into::into),
    }
}

#[test]
fn group_messages_in_order() {
    let msgs = [
        group_msg("gm000001", Some(8_912_345), Some("cd")),
        group_msg("gm000002", None, None),
    ];
    let derived = derived_u32("gm000002", SALT_GROUP_RANDOM);
    assert_eq!(
        wire(import_group_msg(
            "g001",
            &msgs,
            &[1_600_000_300, 1_600_000_301]
        )),
        json!({"GroupId": "g001", "MsgList": [
            {"From_Account": "u0002", "SendTime": 1_600_000_300, "Random": 8_912_345,
             "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "gg"}}],
             "CloudCustomData": "cd"},
            {"From_Account": "u0002", "SendTime": 1_600_000_301, "Random": derived,
             "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "gg"}}]}
        ]})
    );
}

#[test]
fn group_members_only_admins_have_a_role() {
    let member = |who: &str, role, joined_at, unread| GroupMember {
        group: "g001".into(),
        member: who.into(),
        role,
        joined_at,
        unread,
    };
    let members = [
        member("u0001", Some(MemberRole::Owner), Some(1_590_000_001), None),
        member(
            "u0002",
            Some(MemberRole::Admin),
            Some(1_590_000_100),
            Some(3),
        ),
        member("u0003", Some(MemberRole::Member), None, Some(0)),
        member("u0004", None, None, None),
    ];
    assert_eq!(
        wire(import_group_member("g001", &members)),
        json!({"GroupId": "g001", "MemberList": [
            {"Member_Account": "u0001", "JoinTime": 1_590_000_001},
            {"Member_Account": "u0002", "Role": "Admin", "JoinTime": 1_590_000_100,
             "UnreadMsgNum": 3},
            {"Member_Account": "u0003", "UnreadMsgNum": 0},
            {"Member_Account": "u0004"}
        ]})
    );
}
