//! Placeholder so the crate builds; replaced by the secret scanner when it lands.
