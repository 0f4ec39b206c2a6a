//! The certification report (reportVersion 1, `spec/interfaces.md`): plain data, the verdict
//! rule and the exit code. Renderers are separate modules (`json`, `sarif`, `junit` here; the
//! human renderer lives in the CLI because it is terminal code).

pub mod json;
pub mod junit;
mod locate;
pub mod sarif;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Incomplete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    pub id: String,
    pub name: String,
    pub area: Area,
    pub severity: Severity,
    pub status: Status,
    pub summary: String,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PolicyRef {
    pub id: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModuleRef {
    pub identifier: Option<String>,
    pub module_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageRef {
    pub source: String,
    pub digest: Option<String>,
    pub platforms: Vec<PlatformRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformRef {
    pub platform: String,
    pub digest: String,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    pub layers: usize,
}

// Malware engines are facts of the run (`facts::MalwareEngine`); the report lists them.
pub use crate::facts::MalwareEngine;
pub use crate::finding::{Area, Finding, Severity, Status};
pub use crate::location::Location;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SbomSummary {
    // The components themselves are `Certification::inventory`.
    pub components: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub report_version: u32,
    pub tool: Tool,
    pub policy: PolicyRef,
    pub verdict: Verdict,
    pub module: ModuleRef,
    pub image: Option<ImageRef>,
    pub engines: Vec<MalwareEngine>,
    /// Every check of the catalogue, exactly once, in catalogue order.
    pub checks: Vec<CheckResult>,
    /// What a human reviewer will look at: `"EC906: …"`.
    pub review: Vec<String>,
    /// Component inventory summary; absent until an inventory analyzer ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sbom: Option<SbomSummary>,
    /// How the ingestion test ran; absent with `--no-run`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingestion: Option<Ingestion>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ingestion {
    /// The Moby engine that ran the module (`Moby 20.10.24`).
    pub engine: Option<String>,
    /// `parallel` or `sequential` across platforms.
    pub mode: String,
    pub duration_ms: u64,
}

impl Report {
    /// The verdict rule of `spec/interfaces.md`: `fail` if any blocking check failed; else
    /// `incomplete` if any blocking check is in `error`; else `pass`. A blocking check skipped
    /// because the user asked (`--no-run`) is recorded as `error`-free `skip` with
    /// `not_run = true` and also makes the verdict incomplete.
    pub fn compute_verdict(checks: &[CheckResult], not_run: &[&str]) -> Verdict {
        let blocking = || checks.iter().filter(|c| c.severity == Severity::Blocking);
        if blocking().any(|c| c.status == Status::Fail) {
            Verdict::Fail
        } else if blocking().any(|c| {
            c.status == Status::Error
                || (c.status == Status::Skip && not_run.contains(&c.id.as_str()))
        }) {
            Verdict::Incomplete
        } else {
            Verdict::Pass
        }
    }

    /// Why the verdict is `incomplete`, one phrase per reason: the blocking checks skipped
    /// because the ingestion test was not run (`EC302, EC401–EC403 not run: --no-run`) and
    /// those in `error` (`EC807 could not complete`). Empty unless the verdict is incomplete.
    pub fn incomplete_because(&self) -> Vec<String> {
        if self.verdict != Verdict::Incomplete {
            return Vec::new();
        }
        let blocking = || {
            self.checks
                .iter()
                .filter(|c| c.severity == Severity::Blocking)
        };
        let not_run: Vec<&str> = blocking()
            .filter(|c| {
                c.status == Status::Skip
                    && self.ingestion.is_none()
                    && crate::checks::is_runtime(&c.id)
            })
            .map(|c| c.id.as_str())
            .collect();
        let errors: Vec<&str> = blocking()
            .filter(|c| c.status == Status::Error)
            .map(|c| c.id.as_str())
            .collect();
        let mut why = Vec::new();
        if !not_run.is_empty() {
            why.push(format!("{} not run: --no-run", id_ranges(&not_run)));
        }
        if !errors.is_empty() {
            why.push(format!("{} could not complete", id_ranges(&errors)));
        }
        why
    }

    /// `check`'s exit code: 0 pass, 1 fail, 3 incomplete (2 is for the tool's own failures).
    pub fn exit_code(&self) -> i32 {
        match self.verdict {
            Verdict::Pass => 0,
            Verdict::Fail => 1,
            Verdict::Incomplete => 3,
        }
    }
}

/// Check ids with runs of consecutive numbers of one prefix joined: `EC302, EC401–EC403`.
fn id_ranges(ids: &[&str]) -> String {
    let number = |id: &str| {
        let at = id.find(|c: char| c.is_ascii_digit()).unwrap_or(id.len());
        id[at..]
            .parse::<u32>()
            .ok()
            .map(|n| (id[..at].to_owned(), n))
    };
    // (first id, last id) of each run.
    let mut runs: Vec<(&str, &str)> = Vec::new();
    for &id in ids {
        let follows = runs.last().is_some_and(|&(_, last)| {
            matches!((number(last), number(id)), (Some((p, a)), Some((q, b))) if p == q && a + 1 == b)
        });
        match runs.last_mut() {
            Some(run) if follows => run.1 = id,
            _ => runs.push((id, id)),
        }
    }
    runs.iter()
        .map(|&(first, last)| {
            if first == last {
                first.to_owned()
            } else {
                format!("{first}–{last}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `text` safe to print on a terminal or to put in XML: every control character (C0 including
/// newline and tab, DEL, C1) becomes a visible `\u{..}` escape. Report text carries what
/// images and offers say — file names in layers, tar fields, manifest values — and a hostile
/// one would otherwise move the cursor, rewrite earlier lines or retitle the terminal through
/// an escape sequence, fake report lines with a newline, or make a JUnit file ill-formed XML.
/// JSON and SARIF need none of this: JSON escapes control characters itself.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    // Also the bidirectional overrides and isolates, which make a name read as another
    // ("Trojan Source"), and the two noncharacters XML 1.0 cannot hold.
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{fffe}' | '\u{ffff}')
    };
    if !text.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_verdict_does_not_say_why() {
        let mut checks = vec![
            result("EC101", Severity::Blocking, Status::Pass),
            result("EC302", Severity::Blocking, Status::Skip),
            result("EC401", Severity::Blocking, Status::Skip),
            result("EC402", Severity::Blocking, Status::Skip),
            result("EC403", Severity::Blocking, Status::Skip),
            result("EC807", Severity::Blocking, Status::Error),
            result("EC808", Severity::Warning, Status::Error),
        ];
        let report = |checks: &[CheckResult]| Report {
            report_version: 1,
            tool: Tool {
                name: "edgecert".into(),
                version: "0".into(),
            },
            policy: PolicyRef {
                id: "p".into(),
                version: "1".into(),
            },
            verdict: Report::compute_verdict(checks, &crate::checks::runtime_checks()),
            module: ModuleRef {
                identifier: None,
                module_name: None,
            },
            image: None,
            engines: vec![],
            checks: checks.to_vec(),
            review: vec![],
            sbom: None,
            ingestion: None,
            duration_ms: 0,
        };
        assert_eq!(
            report(&checks).incomplete_because(),
            [
                "EC302, EC401–EC403 not run: --no-run",
                "EC807 could not complete"
            ]
        );
        checks[2].severity = Severity::Info;
        checks[5].status = Status::Pass;
        assert_eq!(
            report(&checks).incomplete_because(),
            ["EC302, EC402–EC403 not run: --no-run"]
        );
        checks[0].status = Status::Fail;
        assert!(
            report(&checks).incomplete_because().is_empty(),
            "a fail is no incomplete"
        );
    }

    #[test]
    fn printable_escapes_every_control_character_and_nothing_else() {
        assert!(matches!(
            printable("layer sha256:ab: app/ünï cödé.txt"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            printable("a\x1b]0;owned\x07b\nc\td\u{9b}2J\x7f"),
            "a\\u{1b}]0;owned\\u{7}b\\u{a}c\\u{9}d\\u{9b}2J\\u{7f}"
        );
        assert_eq!(
            printable("x\u{202e}txt.exe\u{ffff}"),
            "x\\u{202e}txt.exe\\u{ffff}"
        );
    }

    fn result(id: &str, severity: Severity, status: Status) -> CheckResult {
        CheckResult {
            id: id.into(),
            name: "x".into(),
            area: Area::Module,
            severity,
            status,
            summary: String::new(),
            findings: vec![],
        }
    }

    #[test]
    fn verdict_rules() {
        use Severity::*;
        use Status::*;
        let v = |cs: &[CheckResult]| Report::compute_verdict(cs, &["EC401"]);
        assert_eq!(
            v(&[result("A", Blocking, Pass), result("B", Warning, Fail)]),
            Verdict::Pass
        );
        assert_eq!(
            v(&[result("A", Blocking, Fail), result("B", Blocking, Error)]),
            Verdict::Fail
        );
        assert_eq!(v(&[result("A", Blocking, Error)]), Verdict::Incomplete);
        assert_eq!(
            v(&[result("A", Blocking, Review), result("B", Info, Error)]),
            Verdict::Pass
        );
        assert_eq!(v(&[result("A", Blocking, Skip)]), Verdict::Pass);
        assert_eq!(v(&[result("EC401", Blocking, Skip)]), Verdict::Incomplete);
    }
}
