//! The phasev policy compiler.
//!
//! ```text
//! source ─parse→ ast::Module ─load→ [ast::Module] ─check→ typed::Program ─lower→ ir::Program
//!                                                      └─analyze→ warnings
//! ```
//!
//! | stage   | input                | output              | module        |
//! |---------|----------------------|---------------------|---------------|
//! | parse   | `.phasev` text       | [`ast::Module`]     | [`parser`]    |
//! | load    | root file            | modules + imports   | [`load`]      |
//! | check   | modules              | [`typed::Program`]  | [`check`]     |
//! | analyze | typed program        | warnings            | [`analyze`]   |
//! | lower   | typed program        | [`ir::Program`]     | [`lower`]     |
//! | fmt     | [`ast::Module`] + text | canonical text    | [`fmt`]       |

pub mod ast;
pub mod diag;
pub mod parser;
pub mod source;
