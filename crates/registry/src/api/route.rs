//! What a `/v2/…` path names. Repository names contain slashes, so the path is split at the
//! last of the spec's fixed segments (`/blobs/uploads/`, `/blobs/`, `/manifests/`,
//! `/tags/list`, `/referrers/`) and the name is checked against the spec's grammar.

use std::sync::OnceLock;

use regex::Regex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `/v2/` itself.
    Base,
    Blob(String),
    /// `/blobs/uploads/` (start) or `/blobs/uploads/<id>`.
    Upload(Option<String>),
    Manifest(String),
    Tags,
    Referrers(String),
}

/// A repository name per the distribution spec, at most 255 characters.
pub fn valid_name(name: &str) -> bool {
    static NAME: OnceLock<Regex> = OnceLock::new();
    let re = NAME.get_or_init(|| {
        Regex::new(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$")
            .expect("constant pattern")
    });
    name.len() <= 255 && re.is_match(name)
}

/// Splits the path after `/v2/` into the repository name and the target; `None` when it names
/// nothing the spec defines.
pub fn parse(rest: &str) -> Option<(String, Target)> {
    if rest.is_empty() {
        return Some((String::new(), Target::Base));
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Some((name.to_owned(), Target::Tags));
    }
    if let Some(i) = rest.rfind("/blobs/uploads/") {
        let id = &rest[i + "/blobs/uploads/".len()..];
        let id = (!id.is_empty()).then(|| id.to_owned());
        return Some((rest[..i].to_owned(), Target::Upload(id)));
    }
    if let Some(name) = rest.strip_suffix("/blobs/uploads") {
        return Some((name.to_owned(), Target::Upload(None)));
    }
    for (segment, make) in [
        ("/blobs/", Target::Blob as fn(String) -> Target),
        ("/manifests/", Target::Manifest),
        ("/referrers/", Target::Referrers),
    ] {
        if let Some(i) = rest.rfind(segment) {
            let arg = &rest[i + segment.len()..];
            if arg.is_empty() || arg.contains('/') {
                return None;
            }
            return Some((rest[..i].to_owned(), make(arg.to_owned())));
        }
    }
    None
}

/// `X.Y.Z`-shaped or any other tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(parse(""), Some((String::new(), Target::Base)));
        assert_eq!(
            parse("staging/contoso/filter/blobs/uploads/"),
            Some(("staging/contoso/filter".into(), Target::Upload(None)))
        );
        assert_eq!(
            parse("a/blobs/uploads/abc"),
            Some(("a".into(), Target::Upload(Some("abc".into()))))
        );
        assert_eq!(
            parse("contoso.tempfilter.standard/manifests/1.0.3"),
            Some((
                "contoso.tempfilter.standard".into(),
                Target::Manifest("1.0.3".into())
            ))
        );
        assert_eq!(parse("a/b/tags/list"), Some(("a/b".into(), Target::Tags)));
        // A repository may be called "blobs" or "manifests".
        assert_eq!(
            parse("x/manifests/manifests/latest"),
            Some(("x/manifests".into(), Target::Manifest("latest".into())))
        );
        assert_eq!(parse("a/manifests/"), None);
        assert_eq!(parse("a/other/thing"), None);
    }

    #[test]
    fn names_and_tags() {
        for ok in [
            "a",
            "staging/contoso/temp-filter",
            "contoso.tempfilter.standard",
            "a__b/c",
        ] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "A",
            "a/",
            "/a",
            "a//b",
            "a/../b",
            "-a",
            "a..b",
            &"a".repeat(256),
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert!(valid_tag("1.0.3") && valid_tag("latest") && valid_tag("_x"));
        assert!(!valid_tag(".x") && !valid_tag("") && !valid_tag(&"a".repeat(129)));
    }
}
