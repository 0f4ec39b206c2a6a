//! What the checks of the ingestion test (EC302, EC401–EC405) share: the platforms to judge
//! with their runs, the per-platform judging loop, the outcome it adds up to, and log tails.

use super::{Context, Outcome, UNREADABLE};
use crate::facts::PlatformRun;
use crate::finding::Finding;
use crate::platform::Platform;

/// One platform of the image with its run, or the error finding saying why there is none.
pub type PlatformWithRun<'a> = (&'a Platform, Result<&'a PlatformRun, Finding>);

/// The platforms to judge, or the whole outcome when nothing can be judged (`--no-run`, no
/// engine, unreadable image). Shared by the runtime checks (EC302, EC401–EC404).
pub fn runs<'a>(cx: &Context<'a>) -> Result<Vec<PlatformWithRun<'a>>, Outcome> {
    let Some(rt) = cx.runtime else {
        return Err(Outcome::skip("not run (--no-run)"));
    };
    if let Some(why) = &rt.unavailable {
        return Err(Outcome::error(
            "the ingestion test could not run",
            vec![Finding::new(why.clone())],
        ));
    }
    if cx.image.platforms.is_empty() {
        return Err(Outcome::skip(UNREADABLE));
    }
    Ok(cx
        .image
        .platforms
        .iter()
        .map(|pf| {
            let p = &pf.platform;
            let run = match rt.platform(p) {
                Some(r) => match &r.error {
                    None => Ok(r),
                    Some(e) => Err(Finding::new(format!("not run: {e}")).on(p)),
                },
                None => Err(Finding::new("not run by the ingestion test").on(p)),
            };
            (p, run)
        })
        .collect())
}

/// What one platform's run says for a check.
pub enum Judgement {
    /// It holds; the text (if any) goes into the summary.
    Pass(Option<String>),
    Fail(Finding),
    /// It could not be judged for this platform.
    Error(Finding),
}

/// The per-platform results of a runtime check, gathered.
#[derive(Default)]
pub struct Judged {
    pub passed: Vec<String>,
    pub fails: Vec<Finding>,
    pub errors: Vec<Finding>,
}

/// Judges every platform's run with `each`; `Err` is the whole outcome when nothing can be
/// judged (see `runs`). The loop every runtime check shares.
pub fn judge(
    cx: &Context<'_>,
    mut each: impl FnMut(&Platform, &PlatformRun) -> Judgement,
) -> Result<Judged, Outcome> {
    let mut out = Judged::default();
    for (platform, run) in runs(cx)? {
        match run.map(|r| each(platform, r)) {
            Err(e) | Ok(Judgement::Error(e)) => out.errors.push(e),
            Ok(Judgement::Fail(f)) => out.fails.push(f),
            Ok(Judgement::Pass(note)) => out.passed.extend(note),
        }
    }
    Ok(out)
}

/// `fail` when anything failed (errors listed too), else `error` when a platform could not be
/// judged, else `pass` with `summary`.
pub fn outcome(summary: String, fails: Vec<Finding>, errors: Vec<Finding>) -> Outcome {
    if !fails.is_empty() {
        let n = fails.len();
        let mut findings = fails;
        findings.extend(errors);
        Outcome::fail(
            format!("{n} platform{} failed", if n == 1 { "" } else { "s" }),
            findings,
        )
    } else if !errors.is_empty() {
        Outcome::error("the ingestion test could not judge every platform", errors)
    } else {
        Outcome::pass(summary)
    }
}

/// `; last N log lines:` and the lines, indented, or nothing when it printed nothing.
pub fn log_tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return "; it printed nothing".to_owned();
    }
    let mut s = format!("; last {} log lines:", lines.len());
    for l in lines {
        s.push_str("\n    ");
        s.push_str(l);
    }
    s
}
