//! # EC502 description-safe
//!
//! ## What it checks
//! The offer's `description` uses only basic HTML — `p br b strong i em u ul ol li`,
//! `a` with an `href` of scheme `https`, `http` or `mailto`, `h1`–`h4`, `code pre blockquote` —
//! and is at most 3000 characters. Anything else (scripts, styles, event attributes, iframes,
//! `javascript:` or relative URLs, other tags and attributes, HTML comments) would be removed by
//! the listing's sanitizer; the findings list exactly what. Alternatively, `descriptionUrl` is an https URL.
//!
//! ## Why it matters
//! The marketplace renders the description as HTML on its listing page. Markup outside the
//! allowed set is stripped (the listing then looks different from what was written) or, if it
//! were not, would run in the customer's browser.
//!
//! ## Example
//! `<script> element and its content would be removed`; `attribute onclick on <p> would be
//! removed`; `URL scheme javascript: in <a href> would be removed`.
//!
//! ## How to fix
//! Rewrite the description with the allowed tags only (headings `h1`–`h4`, paragraphs, lists,
//! emphasis, code, links to https/http/mailto URLs), keep it within 3000 characters, or host it
//! and give its https address in `descriptionUrl`.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use ammonia::Builder;

use super::{Check, Context, Outcome};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC502",
    name: "description-safe",
    title: "The description uses only basic HTML",
    area: Area::Documentation,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec502_description_safe.rs"),
    run,
};

const MAX_CHARS: usize = 3000;

const ALLOWED: &[&str] = &[
    "p",
    "br",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ul",
    "ol",
    "li",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "code",
    "pre",
    "blockquote",
];
const SCHEMES: &[&str] = &["https", "http", "mailto"];
/// Removed together with their content (ammonia's `clean_content_tags` default).
const WITH_CONTENT: &[&str] = &["script", "style"];

const PROBE: &str = "data-edgecert-probe";

/// The listing's sanitizer: exactly the allowed tags, `a href` with the allowed schemes. The
/// tests hold `removals` against what it actually strips.
fn sanitizer() -> Builder<'static> {
    let mut b = Builder::empty();
    b.tags(ALLOWED.iter().copied().collect())
        .generic_attributes(HashSet::new())
        .tag_attributes(HashMap::from([("a", HashSet::from(["href"]))]))
        .url_schemes(SCHEMES.iter().copied().collect())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(None);
    b
}

/// A description as a listing page shows it: the same sanitizer, so what EC502 reports as
/// removed is exactly what a reader does not get (scripts, event handlers, `javascript:`).
pub fn sanitize(html: &str) -> String {
    sanitizer().clean(html).to_string()
}

type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// Names that may open an element: `<` and an ASCII letter, up to whitespace, `/` or `>`,
/// lower-cased as the tokenizer does. A superset of the elements html5ever builds (text inside
/// comments or scripts also matches; the parse decides).
fn tag_names(html: &str) -> BTreeSet<String> {
    let bytes = html.as_bytes();
    let mut names = BTreeSet::new();
    for (i, _) in html.match_indices('<') {
        let rest = &bytes[i + 1..];
        if !rest.first().is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        let end = rest
            .iter()
            .position(|c| c.is_ascii_whitespace() || matches!(c, b'/' | b'>'))
            .unwrap_or(rest.len());
        if let Ok(name) = std::str::from_utf8(&rest[..end]) {
            names.insert(name.to_ascii_lowercase());
        }
    }
    names
}

/// Every element and attribute of `html` as html5ever parses it (through ammonia, which keeps
/// its DOM private): nothing is allowed, so every element reaches the attribute filter with all
/// its attributes, and every name that may be an element carries a probe attribute so elements
/// without attributes are seen too.
fn parsed(html: &str) -> Vec<(String, String, String)> {
    let seen: Seen = Arc::default();
    let sink = Arc::clone(&seen);
    let names = tag_names(html);
    let probe: HashMap<&str, &str> = HashMap::from([(PROBE, "")]);
    Builder::empty()
        .clean_content_tags(HashSet::new())
        .link_rel(None)
        .set_tag_attribute_values(names.iter().map(|t| (t.as_str(), probe.clone())).collect())
        .attribute_filter(move |element, attribute, value| {
            let mut seen = sink.lock().unwrap_or_else(|e| e.into_inner());
            seen.push((element.to_owned(), attribute.to_owned(), value.to_owned()));
            None::<Cow<'_, str>>
        })
        .clean(html);
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    seen.clone()
}

/// The HTML comments of `html` as html5ever parses it: everything else removed and comments
/// kept, the only `<!--` left in the serialized text (text is escaped) opens a comment.
fn comments(html: &str) -> Vec<String> {
    let kept = Builder::empty()
        .clean_content_tags(HashSet::new())
        .strip_comments(false)
        .link_rel(None)
        .clean(html)
        .to_string();
    kept.match_indices("<!--")
        .filter_map(|(i, _)| {
            let body = &kept[i + 4..];
            body.find("-->").map(|end| body[..end].to_owned())
        })
        .collect()
}

/// A comment's text for a finding: trimmed, on one line, at most 40 characters.
fn excerpt(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= 40 {
        flat
    } else {
        format!("{}…", flat.chars().take(39).collect::<String>())
    }
}

/// What the sanitizer would remove from `html`, one line each, sorted and deduplicated.
pub fn removals(html: &str) -> Vec<String> {
    let mut out = BTreeSet::new();
    for (element, attribute, value) in parsed(html) {
        if !ALLOWED.contains(&element.as_str()) {
            out.insert(if WITH_CONTENT.contains(&element.as_str()) {
                format!("<{element}> element and its content")
            } else {
                format!("<{element}> tag (its text is kept)")
            });
        } else if attribute == PROBE {
        } else if element == "a" && attribute == "href" {
            match ammonia::Url::parse(value.trim()) {
                Ok(url) if SCHEMES.contains(&url.scheme()) => {}
                Ok(url) => {
                    out.insert(format!("URL scheme {}: in <a href>", url.scheme()));
                }
                Err(ammonia::url::ParseError::RelativeUrlWithoutBase) => {
                    out.insert(format!("relative URL {value:?} in <a href>"));
                }
                Err(_) => {
                    out.insert(format!("invalid URL {value:?} in <a href>"));
                }
            }
        } else {
            out.insert(format!("attribute {attribute} on <{element}>"));
        }
    }
    for c in comments(html) {
        out.insert(format!("HTML comment <!--{}-->", excerpt(&c)));
    }
    out.into_iter().collect()
}

fn run(cx: &Context<'_>) -> Outcome {
    let hint = CHECK.fix_hint();
    let url = cx
        .offer
        .description_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    if let Some(url) = url {
        let https =
            ammonia::Url::parse(url).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some());
        if https {
            return Outcome::pass(format!("the description is published at {url}"));
        }
    }
    let mut findings = Vec::new();
    if let Some(url) = url {
        findings.push(
            Finding::new(format!("descriptionUrl {url:?} is not an https URL"))
                .at(Location::offer("descriptionUrl"))
                .help(&hint),
        );
    }
    let Some(description) = cx
        .offer
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    else {
        findings.push(
            Finding::new("there is neither a description nor a descriptionUrl")
                .at(Location::offer("description"))
                .help(&hint),
        );
        return Outcome::fail("no usable description", findings);
    };
    let chars = description.chars().count();
    if chars > MAX_CHARS {
        findings.push(
            Finding::new(format!(
                "the description has {chars} characters, more than {MAX_CHARS}"
            ))
            .at(Location::offer("description"))
            .help(&hint),
        );
    }
    let removed = removals(description);
    for r in &removed {
        findings.push(
            Finding::new(format!("{r} would be removed"))
                .at(Location::offer("description"))
                .help(&hint),
        );
    }
    if findings.is_empty() {
        Outcome::pass(format!(
            "the description ({chars} characters) uses only basic HTML"
        ))
    } else if removed.is_empty() {
        Outcome::fail("the description is not usable as written", findings)
    } else {
        Outcome::fail(
            format!(
                "the sanitizer would change the description: {} removal(s)",
                removed.len()
            ),
            findings,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::finding::Status;
    use serde_json::json;

    #[test]
    fn template_and_all_allowed_markup_pass() {
        assert_eq!(run_offer(&CHECK, |_| {}).status, Status::Pass);
        let html = "<h1>T</h1><h4>t</h4><p>a<br>b <b>c</b> <strong>d</strong> <i>e</i> <em>f</em> \
                    <u>g</u></p><ol><li>x</li></ol><pre><code>y</code></pre><blockquote>q</blockquote>\
                    <a href=\"https://a.example\">1</a><a href=\"http://b.example\">2</a>\
                    <a href=\"mailto:x@y.example\">3</a>";
        assert!(removals(html).is_empty(), "{:?}", removals(html));
        assert_eq!(sanitizer().clean(html).to_string(), html);
        let o = run_offer(&CHECK, |v| v["description"] = json!(html));
        assert_eq!(o.status, Status::Pass, "{o:?}");
    }

    #[test]
    fn lists_exactly_what_would_be_removed() {
        let html = "<p onclick=\"x()\" style=\"color:red\">Hi<script>alert(1)</script></p>\
                    <iframe src=\"https://evil.example\"></iframe><div>kept text</div>\
                    <a href=\"javascript:alert(1)\" title=\"t\">x</a><a href=\"/docs\">y</a>\
                    <img src=x onerror=alert(1)><h5>h</h5><style>p{}</style>";
        assert_eq!(
            removals(html),
            [
                "<div> tag (its text is kept)",
                "<h5> tag (its text is kept)",
                "<iframe> tag (its text is kept)",
                "<img> tag (its text is kept)",
                "<script> element and its content",
                "<style> element and its content",
                "URL scheme javascript: in <a href>",
                "attribute onclick on <p>",
                "attribute style on <p>",
                "attribute title on <a>",
                "relative URL \"/docs\" in <a href>",
            ]
        );
        let clean = sanitizer().clean(html).to_string();
        for gone in [
            "onclick",
            "style",
            "script",
            "iframe",
            "div",
            "javascript",
            "/docs",
            "img",
        ] {
            assert!(!clean.contains(gone), "{gone} in {clean}");
        }
        assert!(clean.contains("kept text"), "{clean}");
        let o = run_offer(&CHECK, |v| v["description"] = json!(html));
        assert_eq!((o.status, o.findings.len()), (Status::Fail, 11), "{o:?}");
        assert_eq!(
            o.findings[0].message,
            "<div> tag (its text is kept) would be removed"
        );
        // Unknown elements, with or without attributes; names in text are not elements.
        assert_eq!(
            removals("<blink2 x=1>a</blink2><my-widget>b</my-widget>"),
            [
                "<blink2> tag (its text is kept)",
                "<my-widget> tag (its text is kept)"
            ]
        );
        assert!(removals("a &lt;div&gt; b, 3<5").is_empty());
    }

    #[test]
    fn comments_are_listed_as_the_parser_sees_them() {
        let html = "<p>a<!-- TODO: remove   before\nrelease --></p><!---->\
                    <script><!-- not a comment here --></script>\
                    <!-- a very long comment that goes on and on and on past forty -->";
        assert_eq!(
            removals(html),
            [
                "<script> element and its content",
                "HTML comment <!---->",
                "HTML comment <!--TODO: remove before release-->",
                "HTML comment <!--a very long comment that goes on and on…-->",
            ]
        );
        let clean = sanitizer().clean(html).to_string();
        assert!(!clean.contains("<!--"), "{clean}");
        // `<!--` in text is text.
        assert!(removals("<p>1 &lt;!-- 2</p>").is_empty());
    }

    #[test]
    fn length_and_description_url() {
        let long = format!("<p>{}</p>", "é".repeat(3000));
        let o = run_offer(&CHECK, |v| v["description"] = json!(long));
        assert_eq!((o.status, o.findings.len()), (Status::Fail, 1), "{o:?}");
        assert!(o.findings[0].message.contains("3007 characters"), "{o:?}");
        let o = run_offer(&CHECK, |v| {
            v["description"] = json!("<script>x</script>");
            v["descriptionUrl"] = json!("https://contoso.example/listing.html");
        });
        assert_eq!(o.status, Status::Pass, "{o:?}");
        let o = run_offer(&CHECK, |v| {
            v.as_object_mut().unwrap().remove("description");
            v["descriptionUrl"] = json!("http://contoso.example/listing.html");
        });
        assert_eq!((o.status, o.findings.len()), (Status::Fail, 2), "{o:?}");
    }
}
