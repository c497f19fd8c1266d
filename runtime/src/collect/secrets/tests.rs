use super::*;

fn rules_of(text: &str) -> Vec<&'static str> {
    scan_bytes("f.yaml", text.as_bytes())
        .unwrap()
        .into_iter()
        .map(|f| f.rule)
        .collect()
}

#[test]
fn each_rule_has_a_positive_and_a_near_miss() {
    let fake_aws = ["AKIA", "Z7QWERTYUIOPASDF"].concat();
    assert_eq!(rules_of(&format!("key: {fake_aws}")), ["aws-access-token"]);
    assert!(rules_of("key: AKIA1234").is_empty());
    let gh = ["ghp_", &"a1B2c3D4e5".repeat(3), "f6G7h8"].concat();
    assert_eq!(rules_of(&format!("t = {gh}")), ["github-pat"]);
    assert!(rules_of("ghp_short").is_empty());
    assert_eq!(
        rules_of("password: \"v9Kq2mX7tLr4Wz8sBn3yHd6P\""),
        ["secret-assignment"]
    );
    assert!(rules_of("password: ${DB_PASSWORD}").is_empty());
    assert!(rules_of("password: changeme").is_empty());
    assert!(rules_of("password_file: /run/secrets/db").is_empty());
    assert_eq!(
        rules_of("DB_PASSWORD=8ae31cacf141669ddfb5da"),
        ["secret-assignment"]
    );
    let key = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
        "MIIEpAIBAAKCAQEA".repeat(5)
    );
    assert_eq!(rules_of(&key), ["private-key"]);
    assert!(
        rules_of("-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n")
            .is_empty()
    );
}

#[test]
fn digests_and_uuids_are_not_secrets() {
    assert!(rules_of("id: \"123e4567-e89b-12d3-a456-426614174000\"").is_empty());
    assert!(rules_of("request_id: 123e4567-e89b-12d3-a456-426614174000").is_empty());
    // Some services issue UUIDs as tokens: gitleaks' generic rule reports one under a token key.
    assert_eq!(
        rules_of("token: 123e4567-e89b-12d3-a456-426614174000"),
        ["generic-api-key"]
    );
    assert!(
        rules_of("integrity sha512-Qw3rTy5uIoPasDfGhJkLzXcVbNm1234567890abcdEFGH==").is_empty()
    );
    assert!(
        rules_of("\"integrity\": \"sha512-Qw3rTy5uIoPasDfGhJkLzXcVbNm1234567890abcdEFGH==\"")
            .is_empty()
    );
    assert!(
        scan_bytes(
            "go.sum",
            b"golang.org/x/net v0.1.0 h1:hZ/3BUoy5aId7sCpA0Tc5lPXv8ZG7fhR1Ys3jA/VzYs="
        )
        .unwrap()
        .is_empty()
    );
}

#[test]
fn the_value_is_never_kept() {
    let secret = "v9Kq2mX7tLr4Wz8sBn3yHd6P";
    let found = scan_bytes("smtp.yaml", format!("password: \"{secret}\"").as_bytes()).unwrap();
    assert_eq!(found.len(), 1);
    assert!(!format!("{found:?}").contains(secret));
}

#[test]
fn utf16_text_is_decoded() {
    let fake_aws = ["AKIA", "Z7QWERTYUIOPASDF"].concat();
    let mut bytes = vec![0xFF, 0xFE];
    for u in format!("a = 1\nkey: {fake_aws}\n").encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    let found = scan_bytes("f.txt", &bytes).unwrap();
    assert_eq!(
        found,
        [Finding {
            file: "f.txt".to_owned(),
            line: 2,
            rule: "aws-access-token"
        }]
    );
}
