#![allow(dead_code)]

pub mod gate;
pub mod timing;
