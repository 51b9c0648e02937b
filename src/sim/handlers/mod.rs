//! The APIs themselves: each reads its body field by field, changes [`State`], and answers
//! the fields that go beside the envelope, or the code that refuses it.

mod account;
mod c2c;
mod delete;
mod group_common;
mod group_import;
mod group_live;
mod group_read;
mod msg_body;
mod profile;
mod sns;

use super::body::{ApiError, ApiResult, Body};
use super::callbacks::Callback;
use super::config::SimConfig;
use super::limiter::Limiter;
use super::state::{AccountIdx, State};
use crate::tim::api::Api;
use serde_json::{Map, Value};

pub(crate) use msg_body::check_msg_body;

/// The fields of an answer beside the envelope.
pub(crate) type Answer = Map<String, Value>;

/// What a handler works with.
pub(crate) struct Ctx<'a> {
    /// The service's data.
    pub(crate) state: &'a mut State,
    /// Limits and console settings.
    pub(crate) config: &'a SimConfig,
    /// Per-group message windows.
    pub(crate) limiter: &'a Limiter,
    /// The API being served.
    pub(crate) api: Api,
    /// Unix seconds now.
    pub(crate) now: i64,
    /// The admin identifier the request was made as (`Operator_Account` of callbacks).
    pub(crate) operator: &'a str,
    /// The SDKAppID.
    pub(crate) sdkappid: u64,
    /// Callbacks to fire once the answer is decided.
    pub(crate) callbacks: Vec<Callback>,
}

impl Ctx<'_> {
    /// The batch limit of this API.
    pub(crate) fn batch(&self) -> Option<usize> {
        self.config.batch(self.api)
    }

    /// Refuses `len` items over the batch limit with the API's documented code.
    pub(crate) fn check_batch(&self, field: &str, len: usize) -> ApiResult<()> {
        super::body::batch(field, len, self.batch(), self.api.batch_code())
    }

    /// The imported account `id`, or `code`.
    pub(crate) fn account(&self, id: &str, code: i64) -> ApiResult<AccountIdx> {
        self.state
            .account_idx(id)
            .ok_or_else(|| ApiError::new(code, format!("account {id:?} is not imported")))
    }

    /// The sender of a live message: `from`, which must be imported (`code` otherwise), or by
    /// default the admin making the request, which the service always knows.
    pub(crate) fn sender(
        &mut self,
        from: Option<&str>,
        code: i64,
    ) -> ApiResult<(String, AccountIdx)> {
        let id = from.unwrap_or(self.operator).to_string();
        match self.state.account_idx(&id) {
            Some(idx) => Ok((id, idx)),
            // The admin is known to the service, unless it was deleted.
            None if from.is_none() && !self.state.was_deleted(&id) => {
                let idx = self.state.import_account(&id);
                Ok((id, idx))
            }
            None => Err(ApiError::new(
                code,
                format!("sender {id:?} is not imported"),
            )),
        }
    }

    /// Queues a callback; live APIs only (a test guards that imports never call this).
    pub(crate) fn fire(&mut self, callback: Callback) {
        debug_assert!(!self.api.is_import(), "{} fired a callback", self.api);
        self.callbacks.push(callback);
    }
}

/// True unless `ForbidCallbackControl` holds `ForbidAfterSendMsgCallback`.
pub(crate) fn after_callback_allowed(body: Body<'_>) -> bool {
    !body
        .get("ForbidCallbackControl")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v == "ForbidAfterSendMsgCallback"))
}

/// Serves one request.
pub(crate) fn dispatch(ctx: &mut Ctx<'_>, body: Body<'_>) -> ApiResult<Answer> {
    match ctx.api {
        Api::AccountImport => account::account_import(ctx, body),
        Api::MultiaccountImport => account::multiaccount_import(ctx, body),
        Api::AccountCheck => account::account_check(ctx, body),
        Api::PortraitSet => profile::portrait_set(ctx, body),
        Api::PortraitGet => profile::portrait_get(ctx, body),
        Api::FriendImport => sns::friend_import(ctx, body),
        Api::FriendAdd => sns::friend_add(ctx, body),
        Api::FriendGet => sns::friend_get(ctx, body),
        Api::FriendCheck => sns::friend_check(ctx, body),
        Api::ImportMsg => c2c::importmsg(ctx, body),
        Api::SendMsg => c2c::sendmsg(ctx, body),
        Api::AdminGetRoamMsg => c2c::admin_getroammsg(ctx, body),
        Api::ImportGroup => group_import::import_group(ctx, body),
        Api::ImportGroupMember => group_import::import_group_member(ctx, body),
        Api::ImportGroupMsg => group_import::import_group_msg(ctx, body),
        Api::SetUnreadMsgNum => group_import::set_unread_msg_num(ctx, body),
        Api::SendGroupMsg => group_live::send_group_msg(ctx, body),
        Api::CreateGroup => group_live::create_group(ctx, body),
        Api::ModifyGroupBaseInfo => group_live::modify_group_base_info(ctx, body),
        Api::ChangeGroupOwner => group_live::change_group_owner(ctx, body),
        Api::AddGroupMember => group_live::add_group_member(ctx, body),
        Api::DeleteGroupMember => group_live::delete_group_member(ctx, body),
        Api::DestroyGroup => group_live::destroy_group(ctx, body),
        Api::GetGroupInfo => group_read::get_group_info(ctx, body),
        Api::GetGroupMemberInfo => group_read::get_group_member_info(ctx, body),
        Api::GetSpecifiedGroupMemberInfo => group_read::get_specified_group_member_info(ctx, body),
        Api::GetAppidGroupList => group_read::get_appid_group_list(ctx, body),
        Api::GroupMsgGetSimple => group_read::group_msg_get_simple(ctx, body),
        Api::AccountDelete => delete::account_delete(ctx, body),
        Api::FriendDelete => delete::friend_delete(ctx, body),
        Api::GroupMsgRecall => delete::group_msg_recall(ctx, body),
        Api::AdminMsgWithdraw => delete::admin_msgwithdraw(ctx, body),
    }
}

/// Builds an answer from `json!` object syntax.
pub(crate) fn answer(value: Value) -> Answer {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Test support: serve one request against `state` as admin `admin` at time `now`.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// The outcome of one call: the answer or the refusal, and the callbacks it fired.
    pub(crate) struct Served {
        /// Answer or refusal.
        pub(crate) result: ApiResult<Answer>,
        /// Callbacks fired.
        pub(crate) callbacks: Vec<Callback>,
    }

    /// Serves `body` (a JSON object) to `api`.
    pub(crate) fn serve(
        state: &mut State,
        config: &SimConfig,
        api: Api,
        now: i64,
        body: Value,
    ) -> Served {
        let limiter = Limiter::new();
        let mut ctx = Ctx {
            state,
            config,
            limiter: &limiter,
            api,
            now,
            operator: "admin",
            sdkappid: 1400000000,
            callbacks: Vec::new(),
        };
        let map = body.as_object().cloned().unwrap_or_default();
        let result = dispatch(&mut ctx, Body(&map));
        Served {
            result,
            callbacks: ctx.callbacks,
        }
    }

    /// Serves and expects success.
    pub(crate) fn ok(state: &mut State, api: Api, now: i64, body: Value) -> Answer {
        let served = serve(state, &SimConfig::default(), api, now, body);
        match served.result {
            Ok(a) => a,
            Err(e) => panic!("{api} refused: {e}"),
        }
    }

    /// Serves and expects a refusal; returns its code.
    pub(crate) fn refused(state: &mut State, api: Api, now: i64, body: Value) -> i64 {
        match serve(state, &SimConfig::default(), api, now, body).result {
            Ok(a) => panic!("{api} accepted: {a:?}"),
            Err(e) => e.code,
        }
    }
}
