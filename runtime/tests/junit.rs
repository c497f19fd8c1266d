//! The JUnit parser against 20 real reports from 13 producers, and synthetic edge cases.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::{Path, PathBuf};

use miette::Diagnostic;
use phasev_runtime::collect::junit::{
    JunitCounts, JunitError, JunitLimits, parse_junit, parse_junit_with,
};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/junit")
}

fn read(relative: &str) -> Vec<u8> {
    let path = data_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// Builds counts from passed, failed, errored and skipped.
fn counts(passed: u64, failed: u64, errored: u64, skipped: u64) -> JunitCounts {
    JunitCounts {
        total: passed + failed + errored + skipped,
        passed,
        failed,
        errored,
        skipped,
    }
}

fn parse_str(xml: &str) -> Result<JunitCounts, JunitError> {
    parse_junit(xml.as_bytes())
}

/// Every well-formed report in `tests/data/junit/` with its true counts (p, f, e, s), from
/// `tests/data/junit/PROVENANCE.md`. The nested-testsuites file's suite-level `<error>` is the
/// one errored case there; its two `<testcase>` elements pass.
const REPORTS: &[(&str, [u64; 4])] = &[
    (
        "maven-surefire/TEST-action.surefire.report.email.EmailAddressTest.xml",
        [2, 2, 5, 0],
    ),
    ("maven-surefire/TEST-io.olamy.FlakyTest.xml", [1, 0, 0, 0]),
    (
        "gradle/TEST-projektor.example.spock.FailingSpec.xml",
        [0, 2, 0, 0],
    ),
    (
        "gradle/TEST-projektor.example.spock.IgnoreSomeMethodsSpec.xml",
        [7, 0, 0, 3],
    ),
    ("pytest/junit.fail.xml", [3, 1, 0, 1]),
    ("pytest/python-xunit-pytest.xml", [6, 2, 0, 2]),
    ("jest-junit/jest-junit.xml", [1, 4, 0, 1]),
    ("go-junit-report/001-report.xml", [2, 1, 0, 2]),
    ("go-junit-report/014-report.xml", [0, 0, 2, 0]),
    ("gotestsum/junitxml-report.xml", [42, 13, 0, 5]),
    ("cargo-nextest/basic.xml", [2, 1, 0, 0]),
    ("ctest/tests_unit.ctest.junit.xml", [5, 0, 0, 0]),
    ("phpunit/phpunit.xml", [10, 2, 0, 0]),
    ("mocha-junit-reporter/mocha.xml", [1, 0, 0, 0]),
    ("xunit-net/xunit.xml", [2, 0, 0, 0]),
    (
        "testng/TEST-org.apache.pulsar.AddMissingPatchVersionTest.xml",
        [0, 1, 0, 1],
    ),
    ("edge-cases/minimal-attributes.xml", [1, 1, 1, 1]),
    (
        "edge-cases/junit-report-nested-testsuites.xml",
        [2, 0, 1, 0],
    ),
    ("edge-cases/junit-report-with-properties.xml", [1, 1, 0, 0]),
];

const TRUNCATED: &str = "gradle/cut-off-results-gradle.xml";

#[test]
fn real_reports_give_their_true_counts() {
    let mut wrong = Vec::new();
    for (file, [p, f, e, s]) in REPORTS {
        let expected = counts(*p, *f, *e, *s);
        match parse_junit(&read(file)) {
            Ok(actual) if actual == expected => {}
            other => wrong.push(format!("{file}: expected {expected:?}, got {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_xml_file_in_the_data_is_in_the_table() {
    fn walk(dir: &Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "xml") {
                let relative = path.strip_prefix(data_dir()).unwrap();
                found.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut found = Vec::new();
    walk(&data_dir(), &mut found);
    found.sort();
    let mut listed: Vec<String> = REPORTS.iter().map(|(file, _)| file.to_string()).collect();
    listed.push(TRUNCATED.to_string());
    listed.sort();
    assert_eq!(found, listed);
}

#[test]
fn reports_of_one_kind_sum() {
    let total: JunitCounts = REPORTS
        .iter()
        .map(|(file, _)| parse_junit(&read(file)).unwrap())
        .sum();
    assert_eq!(total, counts(88, 31, 9, 16));
    assert_eq!(total.failed_or_errored(), 40);
    assert_eq!(
        total.passed,
        total.total - total.failed - total.errored - total.skipped
    );

    let mut merged = JunitCounts::default();
    merged += counts(1, 2, 3, 4);
    assert_eq!(merged + counts(1, 0, 0, 0), counts(2, 2, 3, 4));
    let full = JunitCounts {
        total: u64::MAX,
        ..JunitCounts::default()
    };
    assert_eq!((full + full).total, u64::MAX);
}

#[test]
fn truncated_report_is_malformed_and_names_a_line() {
    let err = parse_junit(&read(TRUNCATED)).unwrap_err();
    let JunitError::Malformed { line, reason, .. } = &err else {
        panic!("expected Malformed, got {err:?}");
    };
    assert!(*line > 1, "line {line}");
    assert!(reason.contains("CDATA"), "{reason}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("malformed junit xml at line {line}, column ")),
        "{message}"
    );
    assert_eq!(
        err.code().unwrap().to_string(),
        "phasev::collect::junit::malformed"
    );
}

#[test]
fn a_report_cut_between_tags_is_malformed() {
    let full = read("pytest/junit.fail.xml");
    let whole = String::from_utf8(full).unwrap();
    let cut = &whole[..whole.find("</testsuite>").unwrap()];
    let err = parse_str(cut).unwrap_err();
    let JunitError::Malformed { reason, .. } = &err else {
        panic!("expected Malformed, got {err:?}");
    };
    assert!(
        reason.contains("`<testsuite>` opened at line 3, column 5"),
        "{reason}"
    );
    assert!(reason.contains("cut off"), "{reason}");
}

#[test]
fn utf8_byte_order_mark_is_accepted() {
    let bytes = read("xunit-net/xunit.xml");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    assert_eq!(parse_junit(&bytes).unwrap(), counts(2, 0, 0, 0));
}

#[test]
fn utf16_with_byte_order_mark_is_converted() {
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<testsuite name=\"ñandú 😋\">\
               <testcase name=\"a\"><failure/></testcase><testcase name=\"b\"/></testsuite>";
    let mut little = vec![0xFF, 0xFE];
    let mut big = vec![0xFE, 0xFF];
    for unit in xml.encode_utf16() {
        little.extend(unit.to_le_bytes());
        big.extend(unit.to_be_bytes());
    }
    assert_eq!(parse_junit(&little).unwrap(), counts(1, 1, 0, 0));
    assert_eq!(parse_junit(&big).unwrap(), counts(1, 1, 0, 0));
}

#[test]
fn empty_inputs_are_errors() {
    for input in [
        "",
        "  \n\t",
        "<?xml version=\"1.0\"?>\n<!-- nothing -->\n",
        "\u{feff}",
    ] {
        let err = parse_str(input).unwrap_err();
        assert!(matches!(err, JunitError::Empty), "{input:?}: {err:?}");
    }
}

#[test]
fn text_is_not_xml() {
    for (input, start) in [
        ("just some words", "just some words"),
        ("\n\n{\"tests\": 3}", "{\"tests\": 3}"),
        ("&amp; then text", "&amp;"),
    ] {
        match parse_str(input) {
            Err(JunitError::NotXml { text, .. }) => assert_eq!(text, start),
            other => panic!("{input:?}: {other:?}"),
        }
    }
    // The raw `go test -v` log next to the report it produced, and a results JSON file.
    let err = parse_junit(&read("go-junit-report/001-pass-fail-skip.txt")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a junit xml report: it starts with the text `=== RUN   TestPass` at line 1, not with an element"
    );
    assert!(matches!(
        parse_junit(&read("pytest/junit.fail.results.json")),
        Err(JunitError::NotXml { line: 1, .. })
    ));
}

#[test]
fn html_and_other_xml_are_not_junit() {
    let html = "<!DOCTYPE html>\n<html lang=en><head><meta charset=\"utf-8\"><title>404</title></head>\
                <body><p>Not found<br></body></html>";
    let err = parse_str(html).unwrap_err();
    assert!(
        matches!(&err, JunitError::NotJunit { root } if root == "html"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "not a junit xml report: the root element is `<html>`, not `<testsuites>` or `<testsuite>`"
    );
    let err = parse_str("<?xml version=\"1.0\"?><checkstyle version=\"10\"><file/></checkstyle>")
        .unwrap_err();
    assert!(
        matches!(&err, JunitError::NotJunit { root } if root == "checkstyle"),
        "{err:?}"
    );
    // A `<testcase>` is not a report on its own.
    let err = parse_str("<testcase name=\"a\"/>").unwrap_err();
    assert!(
        matches!(&err, JunitError::NotJunit { root } if root == "testcase"),
        "{err:?}"
    );
}

#[test]
fn suites_without_cases_count_zero() {
    assert_eq!(
        parse_str("<testsuite name=\"x\" tests=\"5\" failures=\"2\"/>").unwrap(),
        counts(0, 0, 0, 0)
    );
    assert_eq!(
        parse_str("<testsuites><testsuite></testsuite></testsuites>").unwrap(),
        counts(0, 0, 0, 0)
    );
}

#[test]
fn the_strongest_outcome_wins() {
    let case = |children: &str| {
        parse_str(&format!(
            "<testsuite><testcase>{children}</testcase></testsuite>"
        ))
        .unwrap()
    };
    assert_eq!(case("<skipped/><failure/>"), counts(0, 1, 0, 0));
    assert_eq!(case("<failure/><skipped/>"), counts(0, 1, 0, 0));
    assert_eq!(case("<skipped/><error/>"), counts(0, 0, 1, 0));
    assert_eq!(case("<error/><failure/>"), counts(0, 1, 0, 0));
    assert_eq!(
        case("<skipped message=\"later\"/><system-out>x</system-out>"),
        counts(0, 0, 0, 1)
    );
    assert_eq!(
        case("<system-out>fine</system-out><properties/>"),
        counts(1, 0, 0, 0)
    );
}

#[test]
fn reruns_that_passed_are_passed() {
    let case = |children: &str| {
        parse_str(&format!(
            "<testsuite><testcase>{children}</testcase></testsuite>"
        ))
        .unwrap()
    };
    assert_eq!(case("<flakyFailure/><flakyFailure/>"), counts(1, 0, 0, 0));
    assert_eq!(
        case("<flakyError message=\"m\">trace</flakyError>"),
        counts(1, 0, 0, 0)
    );
    assert_eq!(case("<rerunFailure/>"), counts(1, 0, 0, 0));
    // Surefire writes a `<failure>` next to the `<rerunFailure>`s when every rerun failed.
    assert_eq!(
        case("<failure/><rerunFailure/><rerunFailure/>"),
        counts(0, 1, 0, 0)
    );
}

#[test]
fn only_direct_children_decide_an_outcome() {
    let xml =
        "<testsuite><testcase><system-out><failure/><skipped/></system-out></testcase></testsuite>";
    assert_eq!(parse_str(xml).unwrap(), counts(1, 0, 0, 0));
}

#[test]
fn suite_level_error_is_one_errored_case() {
    assert_eq!(
        parse_str("<testsuite><error message=\"class failed to load\"/></testsuite>").unwrap(),
        counts(0, 0, 1, 0)
    );
    assert_eq!(
        parse_str("<testsuite><error/><error/><testcase/></testsuite>").unwrap(),
        counts(1, 0, 1, 0)
    );
    // Suite-level `<failure>` or `<skipped>` and an `<error>` under `<testsuites>` mean nothing.
    assert_eq!(
        parse_str("<testsuites><error/><testsuite><failure/><skipped/><testcase/></testsuite></testsuites>").unwrap(),
        counts(1, 0, 0, 0)
    );
}

#[test]
fn cases_count_at_any_depth() {
    let xml = "<testsuites><testsuite><testcase/><testsuite><testsuites><testsuite>\
               <testcase><failure/></testcase></testsuite></testsuites></testsuite></testsuite>\
               <testcase><skipped/></testcase></testsuites>";
    assert_eq!(parse_str(xml).unwrap(), counts(1, 1, 0, 1));
}

#[test]
fn ten_thousand_nested_suites_do_not_overflow_the_stack() {
    let depth = 10_000;
    let xml = format!(
        "{}<testcase><error/></testcase>{}",
        "<testsuite>".repeat(depth),
        "</testsuite>".repeat(depth)
    );
    assert_eq!(parse_str(&xml).unwrap(), counts(0, 0, 1, 0));

    let cut = format!("{}<testcase/>", "<testsuite>".repeat(depth));
    assert!(matches!(
        parse_str(&cut),
        Err(JunitError::Malformed { line: 1, .. })
    ));
}

#[test]
fn nesting_beyond_the_limit_is_refused() {
    let limits = JunitLimits {
        max_depth: 100,
        ..JunitLimits::default()
    };
    let nested = |depth: usize| {
        format!(
            "{}{}",
            "<testsuite>".repeat(depth),
            "</testsuite>".repeat(depth)
        )
    };
    assert!(parse_junit_with(nested(100).as_bytes(), limits).is_ok());
    let err = parse_junit_with(nested(101).as_bytes(), limits).unwrap_err();
    assert!(
        matches!(
            err,
            JunitError::TooDeep {
                line: 1,
                column: 1101,
                limit: 100
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        JunitLimits::default().max_depth,
        JunitLimits::DEFAULT_MAX_DEPTH
    );
}

#[test]
fn reports_over_the_size_limit_are_refused() {
    let xml = b"<testsuite><testcase/></testsuite>";
    let limits = JunitLimits {
        max_bytes: 20,
        ..JunitLimits::default()
    };
    let err = parse_junit_with(xml, limits).unwrap_err();
    assert!(
        matches!(
            err,
            JunitError::TooLarge {
                size: 34,
                limit: 20
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "junit report is 34 bytes, over the limit of 20 bytes"
    );
    assert_eq!(JunitLimits::default().max_bytes, 64 * 1024 * 1024);
}

#[test]
fn entities_cdata_and_comments_hide_no_cases() {
    let xml = "<?xml version=\"1.0\"?>\n<!-- <testcase name=\"in a comment\"/> -->\n\
               <testsuite name=\"&lt;testsuite&gt; &amp; &quot;co&apos;\">\n\
               <testcase name=\"&lt;testcase/&gt; &#169; &#xA9; &#x1F60B; &#10;\"\n\
                         classname=\"a&#x9;b\">\n\
               <system-out>&lt;failure/&gt; &amp;&#60;error/&#62;</system-out>\n\
               <system-err><![CDATA[<testcase><failure/></testcase> & ]]></system-err>\n\
               </testcase>\n\
               <!-- <testcase><failure/></testcase> -->\n\
               </testsuite>\n";
    assert_eq!(parse_str(xml).unwrap(), counts(1, 0, 0, 0));
}

#[test]
fn namespaces_and_multi_line_attributes_are_read() {
    let xml = "<j:testsuites xmlns:j=\"urn:example:junit\">\n\
               <j:testsuite\n\tname=\"a\"\n\ttests=\"9\">\n\
               <j:testcase\n  name=\"x\"\n  classname=\"y\"><j:failure\n type=\"t\"/></j:testcase>\n\
               <testcase xmlns=\"urn:other\"><skipped/></testcase>\n\
               </j:testsuite></j:testsuites>";
    assert_eq!(parse_str(xml).unwrap(), counts(0, 1, 0, 1));
}

#[test]
fn malformed_xml_names_where() {
    let cases: &[(&str, usize, usize, &str)] = &[
        (
            "<testsuite>\n  <testcase>\n</testsuite>",
            3,
            1,
            "expected `</testcase>`, but `</testsuite>` was found",
        ),
        (
            "<testsuite/>\n<testsuite/>",
            2,
            1,
            "a second root element `<testsuite>`",
        ),
        (
            "<testsuite/>\ntrailing words",
            2,
            1,
            "text `trailing words` after the root element",
        ),
        (
            "<testsuite>\n<testcase name=\"a &nbsp; b\"/></testsuite>",
            2,
            1,
            "undefined entity `&nbsp;`",
        ),
        (
            "<testsuite><testcase name=\"R&D\"/></testsuite>",
            1,
            12,
            "a `&` in attribute `name` starts no entity reference",
        ),
        (
            "<testsuite><testcase name=\"a\" name=\"b\"/></testsuite>",
            1,
            12,
            "bad attribute in `<testcase>`",
        ),
        (
            "<testsuite><system-out>&bogus;</system-out></testsuite>",
            1,
            24,
            "undefined entity `&bogus;`",
        ),
        (
            "<testsuite><system-out>&#0;</system-out></testsuite>",
            1,
            24,
            "character reference `&#0;` names no character",
        ),
        (
            "<testsuite><system-out>&#xD800;</system-out></testsuite>",
            1,
            24,
            "character reference `&#xD800;`",
        ),
        ("<testsuite>\n<testcase", 2, 1, "tag not closed"),
        (
            "<testsuite><testcase/>\n<!-- cut",
            2,
            1,
            "comment not closed",
        ),
    ];
    for (xml, line, column, reason_start) in cases {
        match parse_str(xml) {
            Err(JunitError::Malformed {
                line: l,
                column: c,
                reason,
            }) => {
                assert!(reason.contains(reason_start), "{xml:?}: reason {reason:?}");
                assert_eq!((l, c), (*line, *column), "{xml:?}: {reason}");
            }
            other => panic!("{xml:?}: expected Malformed, got {other:?}"),
        }
    }
}

#[test]
fn every_error_has_a_code_and_help() {
    let errors = [
        parse_str("").unwrap_err(),
        parse_junit_with(
            b"<testsuite/>",
            JunitLimits {
                max_bytes: 1,
                ..JunitLimits::default()
            },
        )
        .unwrap_err(),
        parse_junit_with(
            b"<testsuite><testsuite/></testsuite>",
            JunitLimits {
                max_depth: 1,
                ..JunitLimits::default()
            },
        )
        .unwrap_err(),
        parse_str("<testsuite>").unwrap_err(),
        parse_str("PASS").unwrap_err(),
        parse_str("<html/>").unwrap_err(),
    ];
    let expected = [
        ("empty", "junit report is empty: it has no root element"),
        (
            "too_large",
            "junit report is 12 bytes, over the limit of 1 bytes",
        ),
        (
            "too_deep",
            "junit report nests elements deeper than 1 levels, at line 1, column 12",
        ),
        (
            "malformed",
            "malformed junit xml at line 1, column 12: the input ends inside `<testsuite>` opened at line 1, \
             column 1: the report is cut off",
        ),
        (
            "not_xml",
            "not a junit xml report: it starts with the text `PASS` at line 1, not with an element",
        ),
        (
            "not_junit",
            "not a junit xml report: the root element is `<html>`, not `<testsuites>` or `<testsuite>`",
        ),
    ];
    for (err, (code, message)) in errors.iter().zip(expected) {
        assert_eq!(
            err.code().unwrap().to_string(),
            format!("phasev::collect::junit::{code}")
        );
        assert_eq!(err.to_string(), message);
        let help = err.help().unwrap().to_string();
        assert!(
            !help.ends_with('.') && help.starts_with(char::is_lowercase),
            "{help}"
        );
    }
}
