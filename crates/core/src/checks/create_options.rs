//! The offer's createOptions as every check reads it: parsed once, when the [`Context`] is built
//! ([`load`]), so that EC103 (what is wrong with it) and the checks that judge what it asks for
//! (EC108, EC303, EC801–EC810, …) agree on what it is; and where findings about it point.

use edgecert_edge::create_options::{self, CreateOptions, ParseError};

use super::{Context, Outcome};
use crate::location::Location;
use crate::offer::Offer;

/// createOptions as parsed for the checks: `Ok(None)` when the offer has none.
pub type Parsed = Result<Option<CreateOptions>, ParseError>;

/// Where createOptions lives in the offer, as finding locations name it.
pub const ROOT: &str = "defaults.createOptions";

/// `offer.json: defaults.createOptions.HostConfig.Privileged` for `HostConfig.Privileged`.
pub fn location(path: &str) -> Location {
    if path.is_empty() {
        Location::offer(ROOT)
    } else {
        Location::offer(format!("{ROOT}.{path}"))
    }
}

/// Parses the offer's createOptions (an object, a JSON string, or empty).
pub fn load(offer: &Offer) -> Parsed {
    let Some(raw) = offer
        .defaults
        .as_ref()
        .and_then(|d| d.create_options.as_ref())
    else {
        return Ok(None);
    };
    create_options::parse(&serde_json::to_value(raw).unwrap_or_default())
}

/// For checks that judge the parsed createOptions: the parsed value, or the outcome to return
/// when there is none (`none`, a pass) or it could not be read (a skip: EC103 reports it).
pub fn parsed_or<'a>(cx: &'a Context<'_>, none: &str) -> Result<&'a CreateOptions, Outcome> {
    match cx.create_options {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(Outcome::pass(none)),
        Err(_) => Err(Outcome::skip("createOptions could not be read (see EC103)")),
    }
}

/// The parsed createOptions when there are some and they parse.
pub fn parsed<'a>(cx: &'a Context<'_>) -> Option<&'a CreateOptions> {
    cx.create_options.as_ref().ok().and_then(Option::as_ref)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::checks::testing::{offer, offer_json};

    fn forms(create_options: serde_json::Value) -> Parsed {
        let mut v = offer_json();
        v["defaults"]["createOptions"] = create_options;
        load(&offer(&v))
    }

    /// Every form the offer allows, read one way: the empty ones (`{}`, `""`, blank, `"null"`)
    /// are none, for EC103, EC501 and the runtime alike.
    #[test]
    fn every_form_reads_one_way() {
        for empty in [
            json!({}),
            json!(""),
            json!("  "),
            json!("null"),
            json!("{}"),
        ] {
            assert!(matches!(forms(empty.clone()), Ok(None)), "{empty}");
        }
        for set in [
            json!({"HostConfig": {"Privileged": true}}),
            json!(r#"{"HostConfig":{"Privileged":true}}"#),
        ] {
            let parsed = forms(set.clone()).unwrap().unwrap();
            assert_eq!(
                parsed.body.host_config.unwrap().privileged,
                Some(true),
                "{set}"
            );
        }
        for bad in [json!("{nope"), json!("[1]"), json!("42")] {
            assert!(forms(bad.clone()).is_err(), "{bad}");
        }
    }
}
