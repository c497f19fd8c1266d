#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use proptest::prelude::*;

use super::*;
use crate::lower::tests::compile;

fn sketch() -> Program {
    compile(include_str!(
        "../../../tests/corpus/valid/brief_sketch.phasev"
    ))
}

#[test]
fn round_trips_through_json_and_binary() {
    let ir = sketch();
    assert_eq!(Program::from_json(&ir.to_json()).unwrap(), ir);
    assert_eq!(Program::from_bytes(&ir.to_bytes()).unwrap(), ir);
}

#[test]
fn digest_is_stable_and_changes_with_the_program() {
    let ir = sketch();
    let digest = ir.digest();
    assert!(digest.starts_with("sha256:") && digest.len() == 7 + 64);
    assert_eq!(
        Program::from_bytes(&ir.to_bytes()).unwrap().digest(),
        digest
    );
    let mut changed = ir.clone();
    changed.gates[0].requirements[0].name.push('!');
    assert_ne!(changed.digest(), digest);
}

#[test]
fn bad_input_is_refused_with_the_reason() {
    let bytes = sketch().to_bytes();
    assert!(matches!(Program::from_bytes(b"{}"), Err(IrError::NotIr)));
    assert!(matches!(Program::from_bytes(b""), Err(IrError::NotIr)));
    let mut future = bytes.clone();
    future[4] = 9;
    assert!(matches!(
        Program::from_bytes(&future),
        Err(IrError::Version { found: 9 })
    ));
    assert!(matches!(
        Program::from_bytes(&bytes[..bytes.len() / 2]),
        Err(IrError::Damaged { .. })
    ));
    let mut longer = bytes;
    longer.push(0);
    assert!(matches!(
        Program::from_bytes(&longer),
        Err(IrError::Damaged { .. })
    ));
    assert!(matches!(
        Program::from_json("not json"),
        Err(IrError::NotIr)
    ));
    assert!(matches!(
        Program::from_json(r#"{"format_version": 7}"#),
        Err(IrError::Version { found: 7 })
    ));
}

proptest! {
    #[test]
    fn random_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = b"PHIR\x01\x00\x00\x00".to_vec();
        bytes.extend(tail);
        let _ = Program::from_bytes(&bytes);
    }
}
