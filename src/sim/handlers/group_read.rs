//! Placeholder: being written.

use super::{Answer, Ctx};
use crate::sim::body::{ApiError, ApiResult, Body};

/// Not built yet.
pub fn get_group_info(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(10003, "not built yet"))
}

/// Not built yet.
pub fn get_group_member_info(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(10003, "not built yet"))
}

/// Not built yet.
pub fn get_specified_group_member_info(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(10003, "not built yet"))
}

/// Not built yet.
pub fn get_appid_group_list(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(10003, "not built yet"))
}

/// Not built yet.
pub fn group_msg_get_simple(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(10003, "not built yet"))
}
