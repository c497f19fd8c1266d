//! Placeholder so the pipeline builds; replaced by the real module when it lands.
#[derive(Debug)]
pub struct Program;
impl Program {
    pub fn to_json(&self) -> String {
        String::new()
    }
    pub fn to_bytes(&self) -> Vec<u8> {
        Vec::new()
    }
    pub fn digest(&self) -> String {
        String::new()
    }
}
