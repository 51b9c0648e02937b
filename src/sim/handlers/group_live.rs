//! Placeholder: being written.

use super::{Answer, Ctx};
use crate::sim::body::{ApiError, ApiResult, Body};

/// Not built yet.
pub fn send_group_msg(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(10003, "not built yet"))
}

/// Not built yet.
pub fn create_group(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(10003, "not built yet"))
}

/// Not built yet.
pub fn modify_group_base_info(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(10003, "not built yet"))
}

/// Not built yet.
pub fn add_group_member(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(10003, "not built yet"))
}

/// Not built yet.
pub fn delete_group_member(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(10003, "not built yet"))
}

/// Not built yet.
pub fn destroy_group(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(10003, "not built yet"))
}
