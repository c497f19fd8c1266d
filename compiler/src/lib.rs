//! The phasev policy compiler.
//!
//! ```text
//! source ─parse→ ast::Module ─load→ [ast::Module] ─check→ typed::Program ─lower→ ir::Program
//!                                                      └─analyze→ warnings
//! ```
//!
//! | stage   | input                  | output                   | module        |
//! |---------|------------------------|--------------------------|---------------|
//! | parse   | `.phasev` text         | [`ast::Module`]          | [`parser`]    |
//! | load    | root file              | every imported module    | [`load`]      |
//! | check   | modules + [`schema`]   | [`typed::Program`]       | [`check`]     |
//! | analyze | typed program          | warnings                 | [`analyze`]   |
//! | lower   | typed program          | [`ir::Program`]          | [`lower`]     |
//! | fmt     | [`ast::Module`] + text | canonical text           | [`fmt`]       |

pub mod analyze;
pub mod ast;
pub mod check;
pub mod diag;
pub mod fmt;
pub mod ir;
pub mod load;
pub mod lower;
pub mod parser;
pub mod schema;
pub mod source;
pub mod typed;
pub mod types;
