#![allow(
    dead_code,
    reason = "each benchmark includes this module and uses a part of it"
)]

pub mod gate;
pub mod timing;
