//! Placeholder: being written.

use super::{Answer, Ctx};
use crate::sim::body::{ApiError, ApiResult, Body};

/// Not built yet.
pub fn importmsg(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(90001, "not built yet"))
}

/// Not built yet.
pub fn sendmsg(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(90001, "not built yet"))
}

/// Not built yet.
pub fn admin_getroammsg(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(90001, "not built yet"))
}
