//! Placeholder: being written.

use super::{Answer, Ctx};
use crate::sim::body::{ApiError, ApiResult, Body};

/// Not built yet.
pub fn portrait_set(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(40001, "not built yet"))
}

/// Not built yet.
pub fn portrait_get(_ctx: &mut Ctx<'_>, _body: Body<'_>) -> ApiResult<Answer> {
    Err(ApiError::new(40001, "not built yet"))
}
