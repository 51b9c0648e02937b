//! `account_import`, `multiaccount_import` (§3.1, §3.2) and `account_check` (§6).

use super::{answer, Answer, Ctx};
use crate::sim::body::{max_bytes, object, ApiError, ApiResult, Body};
use serde_json::{json, Value};

/// UserIDs are at most 32 bytes.
const MAX_USERID: usize = 32;
/// Profile strings are at most 500 bytes (40601).
const MAX_PROFILE_VALUE: usize = 500;
/// What an import of a deleted UserID is refused with (UNCONFIRMED, see [`import_one`]).
pub(crate) const DELETED_CODE: i64 = 70402;

/// Checks a UserID: a non-empty string of at most 32 bytes.
pub(crate) fn check_user_id(id: &str, code: i64) -> ApiResult<()> {
    if id.is_empty() {
        return Err(ApiError::new(code, "UserID is empty"));
    }
    max_bytes("UserID", id, MAX_USERID, code)
}

/// Imports one account with optional nick and avatar; `Err` for this account only.
fn import_one(
    ctx: &mut Ctx<'_>,
    id: &str,
    nick: Option<&str>,
    face: Option<&str>,
) -> ApiResult<()> {
    check_user_id(id, 70402)?;
    for (field, v) in [("Nick", nick), ("FaceUrl", face)] {
        if let Some(v) = v {
            max_bytes(field, v, MAX_PROFILE_VALUE, 40601)?;
        }
    }
    if ctx.state.was_deleted(id) {
        // Tencent refuses to import a deleted UserID again for three months (§4.7b); the code
        // it answers is not documented (UNCONFIRMED): the account service's "invalid
        // parameter".
        return Err(ApiError::new(
            DELETED_CODE,
            format!("UserID {id:?} was deleted and cannot be imported again"),
        ));
    }
    if ctx.state.account_idx(id).is_none() {
        if let Some(max) = ctx.config.app.max_accounts {
            if ctx.state.account_count() >= max {
                return Err(ApiError::new(70398, "account count over the plan's limit"));
            }
        }
    }
    let idx = ctx.state.import_account(id);
    let profile = &mut ctx.state.account_mut(idx).profile;
    // A re-import overwrites nick and avatar with the new values (§3.2 CURRENT).
    if let Some(nick) = nick {
        profile.insert("Tag_Profile_IM_Nick".into(), json!(nick));
    }
    if let Some(face) = face {
        profile.insert("Tag_Profile_IM_Image".into(), json!(face));
    }
    Ok(())
}

/// `account_import`.
pub(crate) fn account_import(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let id = body.str("UserID", 70402)?;
    let nick = body.opt_str("Nick", 70402)?;
    let face = body.opt_str("FaceUrl", 70402)?;
    import_one(ctx, id, nick, face)?;
    Ok(Answer::new())
}

/// `multiaccount_import`: the old `Accounts` form or the new `AccountList` form, not both.
pub(crate) fn multiaccount_import(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let entries: Vec<(String, Option<String>, Option<String>)> =
        match (body.has("Accounts"), body.has("AccountList")) {
            (true, true) => {
                return Err(ApiError::new(
                    70402,
                    "give Accounts or AccountList, not both",
                ))
            }
            (false, false) => {
                return Err(ApiError::new(70402, "Accounts or AccountList is missing"))
            }
            (true, false) => body
                .array("Accounts", 70402)?
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(|s| (s.to_string(), None, None))
                        .ok_or_else(|| ApiError::new(60015, "accounts must be strings"))
                })
                .collect::<ApiResult<_>>()?,
            (false, true) => body
                .array("AccountList", 70402)?
                .iter()
                .map(|v| {
                    let item = object(v, "AccountList", 70402)?;
                    Ok((
                        item.str("UserID", 70402)?.to_string(),
                        item.opt_str("Nick", 70402)?.map(str::to_string),
                        item.opt_str("FaceUrl", 70402)?.map(str::to_string),
                    ))
                })
                .collect::<ApiResult<_>>()?,
        };
    ctx.check_batch("accounts", entries.len())?;
    let mut failed = Vec::new();
    for (id, nick, face) in &entries {
        match import_one(ctx, id, nick.as_deref(), face.as_deref()) {
            Ok(()) => {}
            // The plan's cap stops the whole request, as the documented top-level code does.
            Err(e) if e.code == 70398 => return Err(e),
            Err(_) => failed.push(Value::String(id.clone())),
        }
    }
    Ok(if failed.is_empty() {
        Answer::new()
    } else {
        answer(json!({ "FailAccounts": failed }))
    })
}

/// `account_check`.
pub(crate) fn account_check(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    let items = body.array("CheckItem", 70402)?;
    ctx.check_batch("CheckItem", items.len())?;
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        let id = object(item, "CheckItem", 70402)?.str("UserID", 70402)?;
        let status = if ctx.state.account_idx(id).is_some() {
            "Imported"
        } else {
            "NotImported"
        };
        results.push(
            json!({"UserID": id, "ResultCode": 0, "ResultInfo": "", "AccountStatus": status}),
        );
    }
    Ok(answer(json!({ "ResultItem": results })))
}

#[cfg(test)]
mod tests {
    use crate::sim::config::SimConfig;
    use crate::sim::handlers::testing::{ok, refused, serve};
    use crate::sim::state::State;
    use crate::tim::api::Api;
    use serde_json::json;

    #[test]
    fn both_forms_import_and_reimport_is_one_account() {
        let mut s = State::default();
        ok(
            &mut s,
            Api::MultiaccountImport,
            0,
            json!({"Accounts": ["a", "b"]}),
        );
        ok(
            &mut s,
            Api::MultiaccountImport,
            0,
            json!({"AccountList": [{"UserID": "a", "Nick": "A"}]}),
        );
        ok(
            &mut s,
            Api::AccountImport,
            0,
            json!({"UserID": "c", "FaceUrl": "http://x"}),
        );
        assert_eq!(s.account_count(), 3);
        let a = s.account_idx("a").unwrap();
        assert_eq!(s.account(a).profile["Tag_Profile_IM_Nick"], json!("A"));
    }

    #[test]
    fn bad_accounts_are_listed_not_hidden() {
        let mut s = State::default();
        let long = "x".repeat(33);
        let a = ok(
            &mut s,
            Api::MultiaccountImport,
            0,
            json!({"Accounts": ["ok", long]}),
        );
        assert_eq!(a["FailAccounts"], json!([long]));
        assert_eq!(s.account_count(), 1);
    }

    #[test]
    fn shape_errors_and_batch_limit() {
        let mut s = State::default();
        assert_eq!(
            refused(
                &mut s,
                Api::MultiaccountImport,
                0,
                json!({"Accounts": [], "AccountList": []})
            ),
            70402
        );
        assert_eq!(
            refused(&mut s, Api::MultiaccountImport, 0, json!({"Accounts": [1]})),
            60015
        );
        let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
        assert_eq!(
            refused(
                &mut s,
                Api::MultiaccountImport,
                0,
                json!({"Accounts": many})
            ),
            70402
        );
        assert_eq!(s.account_count(), 0);
    }

    #[test]
    fn trial_plan_cap() {
        let mut s = State::default();
        let mut config = SimConfig::default();
        config.app.max_accounts = Some(1);
        assert!(serve(
            &mut s,
            &config,
            Api::AccountImport,
            0,
            json!({"UserID": "a"})
        )
        .result
        .is_ok());
        let second = serve(
            &mut s,
            &config,
            Api::AccountImport,
            0,
            json!({"UserID": "b"}),
        );
        assert_eq!(second.result.unwrap_err().code, 70398);
    }

    #[test]
    fn check_says_imported_or_not() {
        let mut s = State::default();
        ok(&mut s, Api::AccountImport, 0, json!({"UserID": "a"}));
        let a = ok(
            &mut s,
            Api::AccountCheck,
            0,
            json!({"CheckItem": [{"UserID": "a"}, {"UserID": "z"}]}),
        );
        assert_eq!(a["ResultItem"][0]["AccountStatus"], "Imported");
        assert_eq!(a["ResultItem"][1]["AccountStatus"], "NotImported");
    }
}
