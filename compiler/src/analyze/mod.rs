//! Placeholder so the pipeline builds; replaced by the real module when it lands.
pub fn analyze(_: &crate::typed::Program) -> crate::diag::Diagnostics {
    crate::diag::Diagnostics::default()
}
