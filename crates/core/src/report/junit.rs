//! JUnit XML rendering (via `quick-junit`): one testsuite per area, one testcase per check, or
//! one per check and platform when its findings name platforms. Only blocking failures are
//! `<failure>`; `error` is `<error>`; `skip` is `<skipped>`; warnings and reviews pass with
//! their findings in `system-out`, so CI dashboards go red exactly when the verdict does.
//! Text from the image or offer goes through `printable`: XML 1.0 cannot hold most control
//! characters, and a hostile file name must not make the file ill-formed.

use std::collections::BTreeMap;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::{Area, CheckResult, Finding, Report, Severity, Status, printable};

pub fn render(report: &Report) -> String {
    let mut junit = quick_junit::Report::new("edgecert");
    let mut suites: BTreeMap<Area, TestSuite> = BTreeMap::new();
    for check in &report.checks {
        let suite = suites
            .entry(check.area)
            .or_insert_with(|| TestSuite::new(check.area.as_str()));
        let mut platforms: Vec<Option<&str>> = check
            .findings
            .iter()
            .map(|f| f.platform.as_deref())
            .collect();
        platforms.sort();
        platforms.dedup();
        if platforms.iter().all(Option::is_none) {
            suite.add_test_case(case(
                check,
                None,
                &check.findings.iter().collect::<Vec<_>>(),
            ));
        } else {
            for p in platforms {
                let findings: Vec<&Finding> = check
                    .findings
                    .iter()
                    .filter(|f| f.platform.as_deref() == p)
                    .collect();
                suite.add_test_case(case(check, p, &findings));
            }
        }
    }
    junit.add_test_suites(suites.into_values());
    junit.to_string().expect("junit serializes")
}

fn case(check: &CheckResult, platform: Option<&str>, findings: &[&Finding]) -> TestCase {
    let text: String = findings
        .iter()
        .map(|f| {
            let mut line = printable(&f.message).into_owned();
            if let Some(l) = &f.location {
                line.push_str(&format!(" ({})", printable(&l.to_string())));
            }
            line.push('\n');
            line
        })
        .collect();
    let mut status = match (check.status, check.severity) {
        (Status::Fail, Severity::Blocking) => TestCaseStatus::non_success(NonSuccessKind::Failure),
        (Status::Error, _) => TestCaseStatus::non_success(NonSuccessKind::Error),
        (Status::Skip, _) => TestCaseStatus::skipped(),
        _ => TestCaseStatus::success(),
    };
    if !matches!(status, TestCaseStatus::Success { .. }) {
        status.set_message(printable(&check.summary).into_owned());
        status.set_description(text.clone());
    }
    let name = match platform {
        Some(p) => format!("{} {} [{}]", check.id, check.name, printable(p)),
        None => format!("{} {}", check.id, check.name),
    };
    let mut tc = TestCase::new(name, status);
    tc.set_classname(format!("edgecert.{}", check.area.as_str()));
    let out = format!(
        "{}: {}\n{text}",
        format!("{:?}", check.status).to_lowercase(),
        printable(&check.summary)
    );
    tc.set_system_out(out);
    tc
}
