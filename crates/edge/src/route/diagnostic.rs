//! Diagnostics of the route language: a severity, a lower-case message, a span in *character*
//! offsets (routes may contain non-ASCII, and a caret under a byte offset would drift), and an
//! optional suggestion. `render` prints them like a compiler does, with the route on one line and
//! carets under the span. Rendering is plain text: colors are the caller's business.

use std::fmt;
use std::ops::Range;

/// How bad a diagnostic is. Errors are what edgeHub rejects (the whole configuration is then
/// invalid); warnings are traps edgeHub accepts silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Error,
    Warning,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
        }
    }
}

/// One problem found in a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Level,
    /// Lower case, no trailing period.
    pub message: String,
    /// Character offsets into the route (not bytes); may be empty (a point, e.g. end of input).
    pub span: Range<usize>,
    pub suggestion: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>, span: Range<usize>) -> Self {
        Diagnostic {
            severity: Level::Error,
            message: message.into(),
            span,
            suggestion: None,
        }
    }

    pub fn warning(message: impl Into<String>, span: Range<usize>) -> Self {
        Diagnostic {
            severity: Level::Warning,
            message: message.into(),
            span,
            suggestion: None,
        }
    }

    pub fn suggest(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = Some(suggestion.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Level::Error
    }

    /// The diagnostic as a compiler prints it:
    ///
    /// ```text
    /// warning: `temp!` is one name: `!` is a name character (char 23)
    ///  | FROM /messages/* WHERE temp!=5 INTO $upstream
    ///  |                        ^^^^^
    /// help: put spaces around operators: `temp != 5`
    /// ```
    ///
    /// Tabs and line breaks in the route are shown as spaces so that the carets stay aligned
    /// (one column per character).
    pub fn render(&self, route: &str) -> String {
        let line: String = route
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let len = line.chars().count();
        let start = self.span.start.min(len);
        let end = self.span.end.clamp(start, len);
        // A very long route (a hostile one runs to megabytes) is shown as a window around the
        // spot, marked with `…` where it is cut.
        let (from, to) = if len > RENDER_MAX {
            let from = start.saturating_sub(RENDER_CONTEXT);
            let to = (end.max(start + 1) + RENDER_CONTEXT).min(from + RENDER_MAX);
            (from, to.min(len))
        } else {
            (0, len)
        };
        let shown: String = line.chars().skip(from).take(to - from).collect();
        let (lead, tail) = (
            if from > 0 { "…" } else { "" },
            if to < len { "…" } else { "" },
        );
        let width = (end.min(to) - start).max(1);
        let mut out = format!(
            "{}: {} (char {})\n | {lead}{}{tail}\n | {}{}",
            self.severity.as_str(),
            self.message,
            self.span.start,
            shown.trim_end(),
            " ".repeat(start - from + lead.chars().count()),
            "^".repeat(width)
        );
        if let Some(s) = &self.suggestion {
            out.push_str("\nhelp: ");
            out.push_str(s);
        }
        out
    }
}

/// Routes longer than this many characters are rendered as a window around the diagnostic.
const RENDER_MAX: usize = 200;
/// Characters shown on each side of the diagnostic in that window.
const RENDER_CONTEXT: usize = 60;

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at char {}: {}",
            self.severity.as_str(),
            self.span.start,
            self.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_carets_under_characters_not_bytes() {
        let route = "FROM /messages/é WHERE x INTO $upstream";
        let d = Diagnostic::error("bad", 23..24).suggest("fix it");
        let r = d.render(route);
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(lines[0], "error: bad (char 23)");
        assert_eq!(lines[1], " | FROM /messages/é WHERE x INTO $upstream");
        assert_eq!(lines[2], format!(" | {}^", " ".repeat(23)));
        assert_eq!(lines[3], "help: fix it");
    }

    #[test]
    fn renders_points_past_the_end_and_control_characters() {
        let d = Diagnostic::warning("w", 99..120);
        let r = d.render("a\tb");
        assert_eq!(r, "warning: w (char 99)\n | a b\n |    ^");
        assert_eq!(d.to_string(), "warning at char 99: w");
    }

    #[test]
    fn long_routes_render_a_window_around_the_spot() {
        let route = format!(
            "FROM /messages/* WHERE {} INTO $upstream",
            "a OR ".repeat(1000)
        );
        let d = Diagnostic::error("bad", 3000..3001);
        let r = d.render(&route);
        let lines: Vec<&str> = r.lines().collect();
        assert!(
            lines[1].starts_with(" | …") && lines[1].ends_with('…'),
            "{r}"
        );
        assert!(lines[1].chars().count() < 140, "{r}");
        let caret = lines[2].chars().position(|c| c == '^').unwrap();
        let under: char = lines[1].chars().nth(caret).unwrap();
        assert_eq!(under, route.chars().nth(3000).unwrap());
    }
}
