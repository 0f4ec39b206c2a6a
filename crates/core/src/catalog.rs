//! The ids of the checks, in report order: what a policy file and `--deny/--warn/--allow` may
//! name. A list of its own, below `policy`, so a policy can be validated without the checks
//! (which read the policy); `checks::all()` is tested to hold exactly these, in this order.

pub const CHECK_IDS: &[&str] = &[
    "EC101", "EC102", "EC103", "EC104", "EC105", "EC106", "EC107", "EC108", "EC201", "EC202",
    "EC203", "EC204", "EC301", "EC302", "EC303", "EC401", "EC402", "EC403", "EC404", "EC405",
    "EC501", "EC502", "EC503", "EC601", "EC602", "EC603", "EC604", "EC701", "EC702", "EC801",
    "EC802", "EC803", "EC804", "EC805", "EC806", "EC807", "EC808", "EC809", "EC810", "EC901",
    "EC902", "EC903", "EC904", "EC905", "EC906",
];

/// The canonical id when `id` names a check (any case: `ec806` is `EC806`).
pub fn check_id(id: &str) -> Option<&'static str> {
    CHECK_IDS
        .iter()
        .copied()
        .find(|c| c.eq_ignore_ascii_case(id))
}
