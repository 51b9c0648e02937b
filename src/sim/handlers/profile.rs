//! `portrait_set` (§3.3) and `portrait_get` (§6).

use super::{answer, Answer, Ctx};
use crate::sim::body::{object, ApiError, ApiResult, Body};
use serde_json::{json, Value};

/// Profile string values are at most 500 bytes (40601).
const MAX_VALUE: usize = 500;

/// The kind of value a tag holds, and the values it allows.
enum TagKind {
    Str { max: usize },
    Enum(&'static [&'static str]),
    Uint,
}

fn standard_tag(tag: &str) -> Option<TagKind> {
    Some(match tag {
        "Tag_Profile_IM_Nick" | "Tag_Profile_IM_SelfSignature" | "Tag_Profile_IM_Image" => {
            TagKind::Str { max: MAX_VALUE }
        }
        "Tag_Profile_IM_Location" => TagKind::Str { max: 16 },
        "Tag_Profile_IM_Gender" => TagKind::Enum(&[
            "Gender_Type_Unknown",
            "Gender_Type_Female",
            "Gender_Type_Male",
        ]),
        "Tag_Profile_IM_AllowType" => TagKind::Enum(&[
            "AllowType_Type_NeedConfirm",
            "AllowType_Type_AllowAny",
            "AllowType_Type_DenyAny",
        ]),
        "Tag_Profile_IM_AdminForbidType" => {
            TagKind::Enum(&["AdminForbid_Type_None", "AdminForbid_Type_SendOut"])
        }
        "Tag_Profile_IM_BirthDay"
        | "Tag_Profile_IM_Language"
        | "Tag_Profile_IM_MsgSettings"
        | "Tag_Profile_IM_Level"
        | "Tag_Profile_IM_Role" => TagKind::Uint,
        _ => return None,
    })
}

/// The kind of `tag`: a standard tag, or a custom one created in the console (40009 else).
fn tag_kind(ctx: &Ctx<'_>, tag: &str) -> ApiResult<TagKind> {
    if let Some(kind) = standard_tag(tag) {
        return Ok(kind);
    }
    if let Some(key) = tag.strip_prefix("Tag_Profile_Custom_") {
        if ctx.config.app.profile_custom_tags.iter().any(|k| k == key) {
            // Custom fields hold strings only (the profile-system page).
            return Ok(TagKind::Str { max: MAX_VALUE });
        }
    }
    Err(ApiError::new(40009, format!("tag {tag} does not exist")))
}

fn check_value(tag: &str, kind: &TagKind, value: &Value) -> ApiResult<()> {
    match (kind, value) {
        (TagKind::Str { max }, Value::String(s)) => {
            if s.len() > *max {
                let code = if *max == MAX_VALUE { 40601 } else { 40605 };
                return Err(ApiError::new(code, format!("{tag} is over {max} bytes")));
            }
            Ok(())
        }
        (TagKind::Enum(allowed), Value::String(s)) => {
            if allowed.contains(&s.as_str()) {
                Ok(())
            } else {
                Err(ApiError::new(40605, format!("{tag} cannot be {s:?}")))
            }
        }
        (TagKind::Uint, Value::Number(n))
            if n.as_u64().is_some_and(|v| v <= u64::from(u32::MAX)) =>
        {
            Ok(())
        }
        _ => Err(ApiError::new(
            40610,
            format!("{tag} has a value of the wrong type"),
        )),
    }
}

/// `portrait_set`: every item is checked before any is written.
pub(crate) fn portrait_set(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let who = body.str("From_Account", 40001)?;
    let items = body.array("ProfileItem", 40001)?;
    let idx = ctx.account(who, 40003)?;
    let mut updates = Vec::with_capacity(items.len());
    for item in items {
        let item = object(item, "ProfileItem", 40001)?;
        let tag = item.str("Tag", 40001)?;
        let value = item
            .get("Value")
            .ok_or_else(|| ApiError::new(40001, format!("{tag} has no Value")))?;
        check_value(tag, &tag_kind(ctx, tag)?, value)?;
        updates.push((tag, value.clone()));
    }
    let profile = &mut ctx.state.account_mut(idx).profile;
    for (tag, value) in updates {
        profile.insert(tag.into(), value);
    }
    Ok(Answer::new())
}

/// `portrait_get`: every tag of `TagList` must exist (a custom tag only when created in the
/// console, `[app]`), or the whole call answers 40009 naming it.
pub(crate) fn portrait_get(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let accounts = body.strings("To_Account", 40001)?;
    if accounts.is_empty() {
        return Err(ApiError::new(40002, "To_Account is empty"));
    }
    ctx.check_batch("To_Account", accounts.len())?;
    let tags = body.strings("TagList", 40001)?;
    for tag in &tags {
        tag_kind(ctx, tag)?;
    }
    let mut items = Vec::with_capacity(accounts.len());
    let mut failed = Vec::new();
    for id in accounts {
        if id == ctx.operator && ctx.state.account_idx(id).is_none() {
            // An app admin is an account made in the console: it is there, with no profile.
            items.push(
                json!({"To_Account": id, "ProfileItem": [], "ResultCode": 0, "ResultInfo": ""}),
            );
            continue;
        }
        let Some(idx) = ctx.state.account_idx(id) else {
            items.push(
                json!({"To_Account": id, "ProfileItem": [], "ResultCode": 40003,
                "ResultInfo": "account does not exist"}),
            );
            failed.push(id);
            continue;
        };
        let profile = &ctx.state.account(idx).profile;
        let fields: Vec<Value> = tags
            .iter()
            .filter_map(|t| profile.get(*t).map(|v| json!({"Tag": t, "Value": v})))
            .collect();
        items.push(
            json!({"To_Account": id, "ProfileItem": fields, "ResultCode": 0, "ResultInfo": ""}),
        );
    }
    let mut a = answer(json!({ "UserProfileItem": items }));
    if !failed.is_empty() {
        a.insert("Fail_Account".into(), json!(failed));
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use crate::sim::config::SimConfig;
    use crate::sim::handlers::testing::{ok, refused, serve};
    use crate::sim::state::State;
    use crate::tim::api::Api;
    use crate::tim::wire::profile::PortraitGetResponse;
    use crate::tim::wire::Response;
    use serde_json::json;

    fn with_account() -> State {
        let mut s = State::default();
        s.import_account("u1");
        s
    }

    #[test]
    fn set_then_get() {
        let mut s = with_account();
        ok(
            &mut s,
            Api::PortraitSet,
            0,
            json!({"From_Account": "u1", "ProfileItem": [
            {"Tag": "Tag_Profile_IM_Gender", "Value": "Gender_Type_Female"},
            {"Tag": "Tag_Profile_IM_BirthDay", "Value": 19900214}]}),
        );
        let mut a = ok(
            &mut s,
            Api::PortraitGet,
            0,
            json!({"To_Account": ["u1", "ghost"],
            "TagList": ["Tag_Profile_IM_Gender", "Tag_Profile_IM_BirthDay", "Tag_Profile_IM_Nick"]}),
        );
        a.insert("ActionStatus".into(), json!("OK"));
        let r: PortraitGetResponse = serde_json::from_value(a.into()).unwrap();
        assert_eq!(r.UserProfileItem[0].ProfileItem.len(), 2);
        assert_eq!(r.Fail_Account, ["ghost"]);
        assert_eq!(r.item_failures()[0].code, Some(40003));
    }

    #[test]
    fn each_bad_value_has_its_code() {
        let mut s = with_account();
        let mut set = |tag: &str, value: serde_json::Value| {
            refused(
                &mut s,
                Api::PortraitSet,
                0,
                json!({"From_Account": "u1",
                "ProfileItem": [{"Tag": tag, "Value": value}]}),
            )
        };
        assert_eq!(
            set("Tag_Profile_IM_Gender", json!("Gender_Type_Other")),
            40605
        );
        assert_eq!(set("Tag_Profile_IM_BirthDay", json!("19900214")), 40610);
        assert_eq!(set("Tag_Profile_IM_Nick", json!("x".repeat(501))), 40601);
        assert_eq!(set("Tag_Profile_IM_Location", json!("x".repeat(17))), 40605);
        assert_eq!(set("Tag_Profile_Custom_Hobby", json!("chess")), 40009);
        assert_eq!(set("Tag_Profile_IM_Whatever", json!(1)), 40009);
        assert_eq!(
            refused(
                &mut s,
                Api::PortraitSet,
                0,
                json!({"From_Account": "nobody", "ProfileItem": []})
            ),
            40003
        );
    }

    #[test]
    fn custom_tags_created_in_the_console_are_accepted() {
        let mut s = with_account();
        let mut config = SimConfig::default();
        config.app.profile_custom_tags = vec!["Hobby".into()];
        let body = json!({"From_Account": "u1", "ProfileItem": [{"Tag": "Tag_Profile_Custom_Hobby", "Value": "chess"}]});
        assert!(serve(&mut s, &config, Api::PortraitSet, 0, body)
            .result
            .is_ok());
    }

    #[test]
    fn portrait_get_answers_40009_for_a_custom_tag_not_created() {
        let mut s = with_account();
        let mut config = SimConfig::default();
        config.app.profile_custom_tags = vec!["Hobby".into()];
        let get = |tag: &str| json!({"To_Account": ["admin"], "TagList": [tag]});
        let mut get_code = |tag: &str| {
            serve(&mut s, &config, Api::PortraitGet, 0, get(tag))
                .result
                .err()
                .map(|e| e.code)
        };
        assert_eq!(get_code("Tag_Profile_Custom_Vip"), Some(40009));
        assert_eq!(get_code("Tag_Profile_SNS_Whatever"), Some(40009));
        assert_eq!(get_code("Tag_Profile_IM_Nick"), None);
        // Created in the console: the calling admin's (empty) profile is read.
        let served = serve(
            &mut s,
            &config,
            Api::PortraitGet,
            0,
            get("Tag_Profile_Custom_Hobby"),
        );
        let mut a = served.result.unwrap();
        a.insert("ActionStatus".into(), json!("OK"));
        let r: PortraitGetResponse = serde_json::from_value(a.into()).unwrap();
        assert_eq!(r.UserProfileItem[0].ResultCode, 0);
        assert!(r.Fail_Account.is_empty());
    }

    #[test]
    fn a_bad_item_writes_nothing() {
        let mut s = with_account();
        refused(
            &mut s,
            Api::PortraitSet,
            0,
            json!({"From_Account": "u1", "ProfileItem": [
            {"Tag": "Tag_Profile_IM_Nick", "Value": "ok"},
            {"Tag": "Tag_Profile_IM_Gender", "Value": "bad"}]}),
        );
        assert!(s.account(0).profile.is_empty());
    }
}
