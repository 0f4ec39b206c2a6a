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
            (Status::Fail, _) => p.yellow("warn  "),
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
            let _ = writeln!(out, "           - {platform}{}", pr(&f.message));
            if let Some(l) = &f.location {
                let _ = writeln!(out, "             {}", p.dim(&format!("at {}", pr(l))));
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
        .filter(|c| c.status == Status::Fail && c.severity != Severity::Blocking)
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
    let _ = writeln!(
        out,
        "\nverdict {verdict}: {failed} blocking failure(s), {warnings} warning(s), {errors} error(s), {} for human review ({} ms)",
        report.review.len(),
        report.duration_ms
    );
    for r in &report.review {
        let _ = writeln!(out, "  review {}", pr(r));
    }
    out
}

fn size(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes as f64 >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}
