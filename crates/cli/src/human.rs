//! The human report: grouped by area, one line per check, findings with their location and
//! help under each check that did not pass, and the verdict last. Everything that comes from
//! the image or the offer goes through `printable` (no terminal escape sequences, no fake lines).

use std::fmt::Write as _;

use edgecert_engine::report::{Area, Report, Severity, Status, Verdict, printable as pr};

use crate::style::Painter;

pub fn render(report: &Report, p: &Painter) -> String {
    let mut out = String::new();
    let module = report
        .module
        .identifier
        .as_deref()
        .unwrap_or("(no identifier)");
    let _ = writeln!(
        out,
        "{} {} — {} ({})",
        p.bold("edgecert"),
        report.tool.version,
        p.bold(&pr(module)),
        pr(report
            .module
            .module_name
            .as_deref()
            .unwrap_or("no module name"))
    );
    if let Some(image) = &report.image {
        let _ = writeln!(
            out,
            "image {} {}",
            pr(&image.source),
            p.dim(image.digest.as_deref().unwrap_or("(unreadable)"))
        );
        for pl in &image.platforms {
            let _ = writeln!(
                out,
                "  {:<14} {} {} layer(s), {} compressed, {} uncompressed",
                pr(&pl.platform),
                p.dim(&pr(&pl.digest[..pl.digest.len().min(19)])),
                pl.layers,
                size(pl.compressed_bytes),
                size(pl.uncompressed_bytes)
            );
        }
    }
    let _ = writeln!(out, "policy {} {}", report.policy.id, report.policy.version);
    if !report.engines.is_empty() {
        let engines: Vec<String> = report
            .engines
            .iter()
            .map(|e| format!("{} {} ({})", e.name, e.version, e.rules))
            .collect();
        let _ = writeln!(out, "malware engines {}", engines.join(", "));
    }
    match &report.ingestion {
        Some(i) => {
            let _ = writeln!(
                out,
                "ingestion test on {} ({}, {:.1} s)",
                i.engine.as_deref().unwrap_or("no engine"),
                i.mode,
                i.duration_ms as f64 / 1000.0
            );
        }
        None => {
            let _ = writeln!(out, "ingestion test not run (--no-run)");
        }
    }
    let mut area: Option<Area> = None;
    for c in &report.checks {
        if area != Some(c.area) {
            area = Some(c.area);
            let _ = writeln!(out, "\n{}", p.bold(c.area.title()));
        }
        let mark = match (c.status, c.severity) {
            (Status::Pass, _) => p.green("pass  "),
            (Status::Fail, Severity::Blocking) => p.red("FAIL  "),
            // `--allow ID`: still run and reported, but as information, not a warning.
            (Status::Fail, Severity::Info) => p.blue("info  "),
            (Status::Fail, Severity::Warning) => p.yellow("warn  "),
            (Status::Review, _) => p.blue("review"),
            (Status::Skip, _) => p.dim("skip  "),
            (Status::Error, _) => p.red("ERROR "),
        };
        let _ = writeln!(out, "  {mark} {} {:<26} {}", c.id, c.name, pr(&c.summary));
        if c.status == Status::Pass || c.status == Status::Skip {
            continue;
        }
        for f in &c.findings {
            let platform = f
                .platform
                .as_deref()
                .map(|pl| format!("[{}] ", pr(pl)))
                .unwrap_or_default();
            // The ingestion test's findings quote the container's log tail, one log line per
            // message line (split by the runtime, so no line holds a line break of its own):
            // those breaks are real. Everywhere else a line break comes from the image (a file
            // name) and stays escaped, so it cannot fake a report line.
            // EC105's findings are route diagnostics (`edge::route::diagnostic`): their breaks
            // are the caret display's, the route's own tabs and breaks already shown as spaces.
            let message = if c.area == Area::Runtime || c.id == "EC105" {
                lines(&f.message, "             ")
            } else {
                pr(&f.message).into_owned()
            };
            let _ = writeln!(out, "           - {platform}{message}");
            if let Some(l) = &f.location {
                let _ = writeln!(
                    out,
                    "             {}",
                    p.dim(&format!("at {}", pr(&l.to_string())))
                );
            }
        }
        if let Some(help) = c.findings.iter().find_map(|f| f.help.as_deref()) {
            let _ = writeln!(out, "             {} {}", p.bold("help:"), pr(help));
        }
        if matches!(c.status, Status::Fail | Status::Error) {
            let _ = writeln!(
                out,
                "             {}",
                p.dim(&format!("docs: edgecert explain {}", c.id))
            );
        }
    }
    let failed = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail && c.severity == Severity::Blocking)
        .count();
    let warnings = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail && c.severity == Severity::Warning)
        .count();
    let info = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail && c.severity == Severity::Info)
        .count();
    let errors = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Error)
        .count();
    let verdict = match report.verdict {
        Verdict::Pass => p.green("PASS"),
        Verdict::Fail => p.red("FAIL"),
        Verdict::Incomplete => p.yellow("INCOMPLETE"),
    };
    let because = report.incomplete_because();
    let because = if because.is_empty() {
        String::new()
    } else {
        format!(" ({})", because.join("; "))
    };
    let info = if info > 0 {
        format!(", {info} informational")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "\nverdict {verdict}{because}: {failed} blocking failure(s), {warnings} warning(s){info}, {errors} error(s), {} for human review ({} ms)",
        report.review.len(),
        report.duration_ms
    );
    for r in &report.review {
        let _ = writeln!(out, "  review {}", pr(r));
    }
    out
}

/// `text` made printable line by line, continuation lines indented by `indent`: a finding that
/// quotes several lines (a container's log tail) keeps its line breaks, while control
/// characters inside a line are still escaped.
fn lines(text: &str, indent: &str) -> String {
    text.split('\n')
        .map(|l| pr(l.strip_suffix('\r').unwrap_or(l)).into_owned())
        .collect::<Vec<_>>()
        .join(&format!("\n{indent}"))
}

fn size(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes as f64 >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(checks: serde_json::Value, verdict: &str) -> Report {
        serde_json::from_value(serde_json::json!({
            "reportVersion": 1,
            "tool": {"name": "edgecert", "version": "0"},
            "policy": {"id": "p", "version": "1"},
            "verdict": verdict,
            "module": {"identifier": "contoso.x", "moduleName": "x"},
            "image": null,
            "engines": [],
            "checks": checks,
            "review": [],
            "durationMs": 0
        }))
        .unwrap()
    }

    fn check(
        id: &str,
        area: &str,
        severity: &str,
        status: &str,
        message: &str,
    ) -> serde_json::Value {
        serde_json::json!({
            "id": id, "name": "n", "area": area, "severity": severity, "status": status,
            "summary": "s", "findings": [{"message": message}]
        })
    }

    #[test]
    fn container_log_tail_prints_escaped_line_breaks() {
        let r = report(
            serde_json::json!([
                check(
                    "EC401",
                    "runtime",
                    "blocking",
                    "fail",
                    "exited 1; last 2 log lines:\n    one\n    two\u{1b}[2J"
                ),
                check("EC807", "security", "blocking", "fail", "in /a\nb")
            ]),
            "fail",
        );
        let out = render(&r, &Painter::plain());
        let pad = " ".repeat(13 + 4);
        let expected = format!("last 2 log lines:\n{pad}one\n{pad}two\\u{{1b}}[2J");
        assert!(out.contains(&expected), "{out}");
        // Outside the ingestion test a line break is the image's and stays escaped.
        assert!(out.contains("in /a\\u{a}b"), "{out}");
        // A route diagnostic prints as the caret display it is.
        let r = report(
            serde_json::json!([check(
                "EC105",
                "module",
                "blocking",
                "fail",
                "error: missing `)` (char 9)\n | (a = 1\n |          ^"
            )]),
            "fail",
        );
        let out = render(&r, &Painter::plain());
        assert!(
            out.contains(&format!(
                "(char 9)\n{indent} | (a = 1\n{indent} |          ^",
                indent = " ".repeat(13)
            )),
            "{out}"
        );
    }

    #[test]
    fn allowed_check_shows_as_warn_and_incomplete_verdict_does_not_say_why() {
        let r = report(
            serde_json::json!([
                check("EC302", "device", "blocking", "skip", "not run"),
                check("EC401", "runtime", "blocking", "skip", "not run"),
                check("EC402", "runtime", "blocking", "skip", "not run"),
                check("EC403", "runtime", "blocking", "skip", "not run"),
                check("EC902", "legal", "info", "fail", "http privacy policy")
            ]),
            "incomplete",
        );
        let out = render(&r, &Painter::plain());
        assert!(out.contains("  info   EC902"), "{out}");
        assert!(!out.contains("warn   EC902"), "{out}");
        assert!(
            out.contains("verdict INCOMPLETE (EC302, EC401–EC403 not run: --no-run): 0 blocking failure(s), 0 warning(s), 1 informational"),
            "{out}"
        );
    }
}
