//! What the legal checks (EC901 terms of use, EC902 privacy policy) share: a field that must
//! hold an absolute https URL.

use super::rules::is_https_url;
use super::{Check, Outcome};
use crate::finding::Finding;
use crate::location::Location;

/// The rule EC901 and EC902 share: a present https URL.
pub fn https_field(url: Option<&str>, field: &str, what: &str, check: &Check) -> Outcome {
    let at = Location::offer(field);
    let hint = check.fix_hint();
    match url {
        None => Outcome::fail(
            format!("{field} is missing"),
            vec![Finding::new(format!("no {what} URL")).at(at).help(hint)],
        ),
        Some(u) if is_https_url(u) => Outcome::pass(format!("{what}: {u}")),
        Some(u) => Outcome::fail(
            format!("{field} is not an https URL"),
            vec![
                Finding::new(format!("{u:?} is not an absolute https URL"))
                    .at(at)
                    .help(hint),
            ],
        ),
    }
}
