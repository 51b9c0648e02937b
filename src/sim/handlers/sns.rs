//! Placeholder: being written.

use super::{Answer, Ctx};
use crate::sim::body::{ApiError, ApiResult, Body};

/// Not built yet.
pub fn friend_import(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(30001, "not built yet"))
}

/// Not built yet.
pub fn friend_add(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(30001, "not built yet"))
}

/// Not built yet.
pub fn friend_get(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(30001, "not built yet"))
}

/// Not built yet.
pub fn friend_check(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(30001, "not built yet"))
}
