//! Small validation rules shared by several checks (URLs, ids, tags, versions, contacts).

/// `[a-z0-9][a-z0-9-]{1,49}`: publisher, offer and plan ids.
pub fn is_id(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=50).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// A Docker tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn is_tag(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=128).contains(&b.len())
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// A non-negative integer without leading zeros.
fn number(s: &str) -> Option<u64> {
    let ok =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if ok { s.parse().ok() } else { None }
}

/// `X.Y.Z`, the exact (immutable) version form.
pub fn exact_version(s: &str) -> Option<(u64, u64, u64)> {
    let mut it = s.split('.');
    let v = (
        number(it.next()?)?,
        number(it.next()?)?,
        number(it.next()?)?,
    );
    it.next().is_none().then_some(v)
}

/// The kinds of tag EC601 accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagKind {
    Exact(u64, u64, u64),
    /// `X` or `X.Y`.
    Rolling(Vec<u64>),
    Latest,
    /// `X.Y.Z-<suffix>`: a per-platform exact tag (`1.0.3-arm32v7`).
    PlatformExact(u64, u64, u64, String),
    Other,
}

pub fn tag_kind(tag: &str) -> TagKind {
    if tag == "latest" {
        return TagKind::Latest;
    }
    if let Some(v) = exact_version(tag) {
        return TagKind::Exact(v.0, v.1, v.2);
    }
    if let Some((version, suffix)) = tag.split_once('-') {
        let suffix_ok = !suffix.is_empty()
            && suffix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if let (Some(v), true) = (exact_version(version), suffix_ok) {
            return TagKind::PlatformExact(v.0, v.1, v.2, suffix.to_owned());
        }
    }
    let parts: Option<Vec<u64>> = tag.split('.').map(number).collect();
    match parts {
        Some(p) if (1..=2).contains(&p.len()) => TagKind::Rolling(p),
        _ => TagKind::Other,
    }
}

/// An absolute `https://` URL with a host.
pub fn is_https_url(s: &str) -> bool {
    url::Url::parse(s)
        .is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some_and(|h| !h.is_empty()))
}

/// A plausible email address: one `@`, non-empty local part, a dotted domain, no spaces.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// E.164: `+` then 8 to 15 digits, first digit not 0.
pub fn is_e164(s: &str) -> bool {
    let Some(d) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
}

pub fn has_control_chars(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// The Unicode bidirectional formatting characters of "Trojan Source" (CVE-2021-42574):
/// embeddings and overrides U+202A–U+202E, isolates U+2066–U+2069, and the marks U+200E,
/// U+200F, U+061C. In a listing they reorder what a customer reads (spoofing).
pub fn bidi_controls(s: &str) -> Vec<char> {
    let mut found: Vec<char> = s
        .chars()
        .filter(|c| {
            matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// Invisible characters that carry no meaning in a listing's text and can hide or join what a
/// reader sees: zero width space U+200B, word joiner and invisible operators U+2060–U+2064,
/// the byte order mark U+FEFF, the Mongolian vowel separator U+180E and the tag characters
/// U+E0001–U+E007F ("ASCII smuggling"). Not the zero-width (non-)joiners U+200C/U+200D, which
/// Persian, Indic scripts and emoji sequences need.
pub fn invisible_chars(s: &str) -> Vec<char> {
    let mut found: Vec<char> = s
        .chars()
        .filter(|c| {
            matches!(c, '\u{200B}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}' | '\u{E0001}'..='\u{E007F}')
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_versions() {
        assert_eq!(tag_kind("1.0.3"), TagKind::Exact(1, 0, 3));
        assert_eq!(tag_kind("1.0"), TagKind::Rolling(vec![1, 0]));
        assert_eq!(tag_kind("1"), TagKind::Rolling(vec![1]));
        assert_eq!(tag_kind("latest"), TagKind::Latest);
        assert_eq!(
            tag_kind("1.0.3-arm32v7"),
            TagKind::PlatformExact(1, 0, 3, "arm32v7".into())
        );
        assert_eq!(tag_kind("01.0.3"), TagKind::Other);
        assert_eq!(tag_kind("1.0.3.4"), TagKind::Other);
        assert_eq!(tag_kind("stable"), TagKind::Other);
        assert!(is_tag("1.0.3") && is_tag("_x") && !is_tag("") && !is_tag(".x") && !is_tag("a b"));
        assert!(!is_tag(&"a".repeat(129)));
    }

    #[test]
    fn contacts_and_ids() {
        assert!(is_https_url("https://contoso.example/terms"));
        assert!(!is_https_url("http://contoso.example/terms"));
        assert!(!is_https_url("https://"));
        assert!(is_email("a@b.example") && !is_email("a@b") && !is_email("a b@c.d"));
        assert!(is_e164("+4915112345678") && !is_e164("015112345678") && !is_e164("+0123456789"));
        assert!(is_id("contoso") && is_id("a1-b") && !is_id("C") && !is_id("-ab") && !is_id("a"));
    }
}
