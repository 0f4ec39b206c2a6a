//! Path rules for tar entries: what a naive extractor would get wrong, as pure functions.
//!
//! Nothing is ever extracted, but EC101 reports what would be dangerous for anyone who does:
//! absolute names, `..` that climbs above the root, and writes through a symlink whose target
//! climbs out. Container semantics root absolute symlink targets at the image root, so an
//! absolute symlink target alone is not an escape.

/// Why an entry name is hostile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathIssue {
    Absolute,
    ClimbsOut,
    Empty,
}

/// Normalises a tar entry name: strips `./` and a leading `/` (reported separately), resolves
/// `.` and inner `..`. `Err(ClimbsOut)` when `..` would leave the root.
pub fn normalise(name: &str) -> Result<String, PathIssue> {
    let mut parts: Vec<&str> = Vec::new();
    for comp in name.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(PathIssue::ClimbsOut);
                }
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err(PathIssue::Empty);
    }
    Ok(parts.join("/"))
}

/// Whether a symlink at `link_path` (normalised) with `target` points above the root when
/// followed by a naive extractor, i.e. relative to the link's directory.
pub fn symlink_escapes(link_path: &str, target: &str) -> bool {
    if target.starts_with('/') {
        return false;
    }
    let mut depth: isize = link_path.split('/').count() as isize - 1;
    for comp in target.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

/// Where a symlink at `link_path` (normalised) with `target` points, as a normalised path
/// (absolute targets rooted at the image root); `None` when that climbs out or is the root.
pub fn symlink_target(link_path: &str, target: &str) -> Option<String> {
    match (target.starts_with('/'), link_path.rsplit_once('/')) {
        (false, Some((dir, _))) => normalise(&format!("{dir}/{target}")).ok(),
        _ => normalise(target).ok(),
    }
}

/// The proper ancestors of a normalised path, shortest first: `a/b/c` -> `a`, `a/b`.
pub fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_refuses_escapes() {
        assert_eq!(normalise("./usr/bin/../lib/x").unwrap(), "usr/lib/x");
        assert_eq!(normalise("/etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(normalise("../../etc/passwd"), Err(PathIssue::ClimbsOut));
        assert_eq!(normalise("a/../../b"), Err(PathIssue::ClimbsOut));
        assert_eq!(normalise("./"), Err(PathIssue::Empty));
    }

    #[test]
    fn symlink_escape_is_relative_to_the_link() {
        assert!(symlink_escapes("a/link", "../../etc"));
        assert!(!symlink_escapes("a/link", "../etc"));
        assert!(!symlink_escapes("bin/sh", "/bin/busybox"));
        assert!(symlink_escapes("link", ".."));
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), ["a", "a/b"]);
        assert_eq!(symlink_target("d/b", "../x/sub").as_deref(), Some("x/sub"));
        assert_eq!(symlink_target("d/b", "/x").as_deref(), Some("x"));
        assert_eq!(symlink_target("a", "x").as_deref(), Some("x"));
        assert_eq!(symlink_target("a", ".."), None);
    }
}
