//! Where a finding's JSON path (`defaults.createOptions.HostConfig.Binds[2]`, the form checks
//! write after `offer.json: `) is in the offer's text: line and column (1-based, columns in
//! Unicode code points) of the value, for SARIF regions.
//!
//! Written by hand rather than with a spanned JSON parser: the text was already parsed strictly
//! by `Offer::parse`, we only need the start of one value, and this is a skip-scanner of ~100
//! lines where a crate would be a new dependency for the same. It never fails loudly: an
//! unknown path or broken text gives the deepest position found, or `None`.
//!
//! Keys may contain dots (Docker labels, `PortBindings.8080/tcp`): at each object the longest
//! key that the rest of the path starts with wins. A path that continues into a string value
//! (createOptions given as a JSON string) stops at that string.

/// Line and column (both 1-based; columns in code points) of the value at `path` in `text`.
pub fn position(text: &str, path: &str) -> Option<(usize, usize)> {
    let mut s = Scanner {
        b: text.as_bytes(),
        i: 0,
    };
    let at = s.find(path)?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    Some((line, text[line_start..at].chars().count() + 1))
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while self.b.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Byte offset of the value at `path`, starting at the value under the cursor.
    fn find(&mut self, path: &str) -> Option<usize> {
        let mut rest = path;
        loop {
            self.ws();
            let here = self.i;
            if rest.is_empty() {
                return Some(here);
            }
            match self.peek()? {
                b'{' => {
                    let Some((key_len, at)) = self.member(rest) else {
                        return Some(here);
                    };
                    self.i = at;
                    rest = rest[key_len..]
                        .strip_prefix('.')
                        .unwrap_or(&rest[key_len..]);
                }
                b'[' => {
                    let Some((n, after)) = index(rest) else {
                        return Some(here);
                    };
                    self.i += 1;
                    for _ in 0..n {
                        self.ws();
                        self.skip_value()?;
                        self.ws();
                        if self.peek()? != b',' {
                            return Some(here);
                        }
                        self.i += 1;
                    }
                    self.ws();
                    if self.peek()? == b']' {
                        return Some(here);
                    }
                    rest = after.strip_prefix('.').unwrap_or(after);
                }
                _ => return Some(here),
            }
        }
    }

    /// In the object under the cursor, the longest key `rest` starts with (followed by the end,
    /// `.` or `[`): its length and the offset of its value.
    fn member(&mut self, rest: &str) -> Option<(usize, usize)> {
        self.i += 1; // `{`
        let mut best: Option<(usize, usize)> = None;
        loop {
            self.ws();
            match self.peek()? {
                b'}' => return best,
                b',' => {
                    self.i += 1;
                    continue;
                }
                b'"' => {}
                _ => return best,
            }
            let key = self.string()?;
            self.ws();
            if self.peek()? != b':' {
                return best;
            }
            self.i += 1;
            self.ws();
            let value_at = self.i;
            let follows = rest.strip_prefix(key.as_str()).map(|r| r.chars().next());
            if matches!(follows, Some(None | Some('.') | Some('[')))
                && best.is_none_or(|(len, _)| key.len() > len)
                && !key.is_empty()
            {
                best = Some((key.len(), value_at));
            }
            self.skip_value()?;
        }
    }

    /// Decodes the string under the cursor and moves past it.
    fn string(&mut self) -> Option<String> {
        let start = self.i;
        self.i += 1;
        loop {
            match self.peek()? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    let raw = std::str::from_utf8(&self.b[start..self.i]).ok()?;
                    return serde_json::from_str(raw).ok();
                }
                _ => self.i += 1,
            }
        }
    }

    /// Moves past the value under the cursor (nesting counted, strings skipped whole).
    fn skip_value(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'"' => {
                    self.string()?;
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.i += 1;
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    self.i += 1;
                }
                b',' if depth == 0 => return Some(()),
                _ => self.i += 1,
            }
            if depth == 0 {
                self.ws();
                if matches!(self.peek(), None | Some(b',' | b'}' | b']')) {
                    return Some(());
                }
            }
        }
    }
}

/// `[n]rest` → `(n, rest)`.
fn index(path: &str) -> Option<(usize, &str)> {
    let inner = path.strip_prefix('[')?;
    let close = inner.find(']')?;
    Some((inner[..close].parse().ok()?, &inner[close + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = r#"{
  "name": "Contoso \"Filter\"",
  "image": { "tags": ["1.0.3", "1.0"], "platforms": [] },
  "defaults": {
    "createOptions": {
      "HostConfig": {
        "PortBindings": { "8080/tcp": [ { "HostPort": "80" } ] },
        "Binds": [ "/a:/a", "/b:/b", "/c:/c" ]
      },
      "Labels": { "com.example": "x", "com.example.version": "é1" }
    },
    "env": { "A": "é", "B": 2 },
    "twin": { "a": { "b": [1, [2, 3]] } }
  }
}"#;

    #[test]
    fn finds_values_by_path() {
        assert_eq!(position(OFFER, "name"), Some((2, 11)));
        assert_eq!(position(OFFER, "image.tags[1]"), Some((3, 32)));
        assert_eq!(
            position(OFFER, "defaults.createOptions.HostConfig.Binds[2]"),
            Some((8, 38))
        );
        assert_eq!(
            position(
                OFFER,
                "defaults.createOptions.HostConfig.PortBindings.8080/tcp[0]"
            ),
            Some((7, 41))
        );
        assert_eq!(position(OFFER, "defaults.env.B"), Some((12, 29)));
        assert_eq!(position(OFFER, "defaults.twin.a.b[1][0]"), Some((13, 32)));
        assert_eq!(position(OFFER, ""), Some((1, 1)));
    }

    #[test]
    fn dotted_keys_take_the_longest_match() {
        assert_eq!(
            position(OFFER, "defaults.createOptions.Labels.com.example.version"),
            Some((10, 62))
        );
        assert_eq!(
            position(OFFER, "defaults.createOptions.Labels.com.example"),
            Some((10, 34))
        );
    }

    #[test]
    fn unknown_paths_stop_at_the_deepest_value_found() {
        assert_eq!(
            position(OFFER, "defaults.createOptions.HostConfig.Privileged"),
            Some((6, 21))
        );
        assert_eq!(position(OFFER, "image.tags[7]"), Some((3, 22)));
        // Into a createOptions string: the string itself.
        let text = r#"{"defaults": {"createOptions": "{\"User\": \"root\"}"}}"#;
        assert_eq!(position(text, "defaults.createOptions.User"), Some((1, 32)));
    }

    #[test]
    fn broken_text_never_panics() {
        for text in [
            "",
            "{",
            "{\"a\"",
            "{\"a\": [1,",
            "[",
            "\"abc",
            "{\"a\": {\"b\": }",
        ] {
            let _ = position(text, "a.b[3].c");
        }
    }
}
