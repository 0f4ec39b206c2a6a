//! A platform's merged filesystem as metadata only: layers applied in order with OCI whiteout
//! semantics (`.wh.<name>` deletes, `.wh..wh..opq` hides lower contents), and path resolution
//! through symlinks the way the kernel does it inside the container (absolute targets rooted at
//! the image root). Entrypoint resolution (`which`) is built on it.
//!
//! It holds one small node per path, never file contents.

use std::collections::BTreeMap;

use super::file::FileFact;
use super::layer::{EntryKind, LayerFacts};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    File,
    Dir,
    Symlink(String),
    Hardlink(String),
    Other,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    pub mode: u32,
    pub size: u64,
    /// Index of the layer (in the platform's order) that provides this node.
    pub layer: usize,
    pub facts: Vec<FileFact>,
}

#[derive(Debug, Clone, Default)]
pub struct MergedFs {
    nodes: BTreeMap<String, Node>,
}

/// Why a path does not resolve to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    NotFound(String),
    Loop(String),
    NotADirectory(String),
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResolveError::NotFound(p) => write!(f, "/{p} does not exist"),
            ResolveError::Loop(p) => write!(f, "too many levels of symbolic links at /{p}"),
            ResolveError::NotADirectory(p) => write!(f, "/{p} is not a directory"),
        }
    }
}

/// Linux's limit on symlinks followed in one lookup.
const MAX_LINKS: usize = 40;

impl MergedFs {
    pub fn from_layers<'a>(layers: impl IntoIterator<Item = &'a LayerFacts>) -> Self {
        let mut fs = MergedFs::default();
        for (index, layer) in layers.into_iter().enumerate() {
            // Opaque markers hide what lower layers have, not what this layer adds.
            for e in layer.entries.iter().filter(|e| e.kind == EntryKind::Opaque) {
                fs.remove_children(&e.path);
            }
            for e in &layer.entries {
                let kind = match &e.kind {
                    EntryKind::Opaque => continue,
                    EntryKind::Whiteout => {
                        fs.nodes.remove(&e.path);
                        fs.remove_children(&e.path);
                        continue;
                    }
                    EntryKind::File => NodeKind::File,
                    EntryKind::Dir => NodeKind::Dir,
                    EntryKind::Symlink(t) => NodeKind::Symlink(t.clone()),
                    EntryKind::Hardlink(t) => NodeKind::Hardlink(t.clone()),
                    EntryKind::Other => NodeKind::Other,
                };
                if kind != NodeKind::Dir {
                    fs.remove_children(&e.path);
                }
                let node = Node {
                    kind,
                    mode: e.mode,
                    size: e.size,
                    layer: index,
                    facts: e.facts.clone(),
                };
                fs.nodes.insert(e.path.clone(), node);
            }
        }
        fs
    }

    fn remove_children(&mut self, dir: &str) {
        let prefix = format!("{dir}/");
        let doomed: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.nodes.remove(&k);
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node stored at exactly `path` (no link following).
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path.trim_start_matches('/'))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Node)> {
        self.nodes.iter()
    }

    /// Whether `dir` exists as a directory, explicitly or implied by a path below it (tar
    /// streams need not carry every parent directory).
    fn is_dir(&self, dir: &str) -> bool {
        if dir.is_empty() {
            return true;
        }
        match self.nodes.get(dir) {
            Some(n) => n.kind == NodeKind::Dir,
            None => {
                let prefix = format!("{dir}/");
                self.nodes
                    .range(prefix.clone()..)
                    .next()
                    .is_some_and(|(k, _)| k.starts_with(&prefix))
            }
        }
    }

    /// Resolves `path` (absolute, or relative to `cwd`) following every symlink, including in
    /// the last component, and hardlinks to their target. Returns the final path and node.
    pub fn resolve(&self, path: &str, cwd: &str) -> Result<(String, &Node), ResolveError> {
        let mut pending: Vec<String> = Vec::new();
        let start = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("{cwd}/{path}")
        };
        push_components(&mut pending, &start);
        let mut current: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(comp) = pending.pop() {
            match comp.as_str() {
                "" | "." => continue,
                ".." => {
                    current.pop();
                    continue;
                }
                _ => {}
            }
            let parent = current.join("/");
            if !self.is_dir(&parent) {
                return Err(ResolveError::NotADirectory(parent));
            }
            current.push(comp);
            let here = current.join("/");
            match self.nodes.get(&here).map(|n| &n.kind) {
                Some(NodeKind::Symlink(target)) => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(ResolveError::Loop(here));
                    }
                    current.pop();
                    if target.starts_with('/') {
                        current.clear();
                    }
                    push_components(&mut pending, target);
                }
                Some(_) => {}
                None if pending.iter().all(|c| c.is_empty() || c == ".") && self.is_dir(&here) => {}
                None => {
                    if !pending.is_empty() && self.is_dir(&here) {
                        continue;
                    }
                    return Err(ResolveError::NotFound(here));
                }
            }
        }
        let here = current.join("/");
        let node = self
            .nodes
            .get(&here)
            .ok_or_else(|| ResolveError::NotFound(here.clone()))?;
        if let NodeKind::Hardlink(target) = &node.kind {
            let target_node = self
                .nodes
                .get(target)
                .ok_or_else(|| ResolveError::NotFound(target.clone()))?;
            // A hardlink shares the target's data (and so its facts) but keeps its own path.
            return Ok((here, target_node));
        }
        Ok((here, node))
    }

    /// Finds a command the way `execvp` does: a name with `/` is a path (relative to `cwd`),
    /// anything else is searched in each `PATH` directory for an executable regular file.
    pub fn which(
        &self,
        command: &str,
        path_var: &str,
        cwd: &str,
    ) -> Result<(String, &Node), ResolveError> {
        if command.contains('/') {
            return self.resolve(command, cwd);
        }
        let mut last = ResolveError::NotFound(command.to_owned());
        for dir in path_var.split(':').filter(|d| !d.is_empty()) {
            match self.resolve(&format!("{dir}/{command}"), cwd) {
                Ok((p, n)) if n.kind == NodeKind::File && n.mode & 0o111 != 0 => return Ok((p, n)),
                Ok((p, _)) => last = ResolveError::NotFound(p),
                Err(e) => last = e,
            }
        }
        Err(match last {
            ResolveError::Loop(p) => ResolveError::Loop(p),
            _ => ResolveError::NotFound(format!("{command} (searched PATH={path_var})")),
        })
    }
}

/// Pushes the components of `path` so that `pop` yields them first to last.
fn push_components(stack: &mut Vec<String>, path: &str) {
    for c in path.split('/').rev() {
        stack.push(c.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;
    use crate::image::layer::FsEntry;

    fn layer(entries: Vec<(&str, EntryKind)>) -> LayerFacts {
        LayerFacts {
            digest: Digest::of(b"x"),
            compressed_bytes: 0,
            uncompressed_bytes: 0,
            entries: entries
                .into_iter()
                .map(|(p, kind)| FsEntry {
                    path: p.into(),
                    kind,
                    mode: 0o755,
                    size: 1,
                    facts: vec![],
                })
                .collect(),
            problems: vec![],
            notes: Vec::new(),
            complete: true,
        }
    }

    #[test]
    fn whiteouts_and_opaque_dirs() {
        let lower = layer(vec![
            ("bin", EntryKind::Dir),
            ("bin/busybox", EntryKind::File),
            ("bin/sh", EntryKind::Symlink("busybox".into())),
            ("opt/a", EntryKind::File),
            ("opt/b", EntryKind::File),
        ]);
        let upper = layer(vec![
            ("bin/sh", EntryKind::Whiteout),
            ("opt", EntryKind::Opaque),
            ("opt/c", EntryKind::File),
        ]);
        let fs = MergedFs::from_layers([&lower, &upper]);
        assert!(fs.get("bin/sh").is_none());
        assert!(fs.get("opt/a").is_none() && fs.get("opt/b").is_none());
        assert_eq!(fs.get("opt/c").unwrap().layer, 1);
        assert!(fs.get("bin/busybox").is_some());
    }

    #[test]
    fn resolves_links_and_path() {
        let l = layer(vec![
            ("bin/busybox", EntryKind::File),
            ("bin/sh", EntryKind::Symlink("/bin/busybox".into())),
            (
                "usr/bin/env",
                EntryKind::Symlink("../../bin/busybox".into()),
            ),
            ("lib", EntryKind::Symlink("usr/lib".into())),
            ("usr/lib/app", EntryKind::File),
            ("loop", EntryKind::Symlink("loop".into())),
            ("hard", EntryKind::Hardlink("bin/busybox".into())),
        ]);
        let fs = MergedFs::from_layers([&l]);
        assert_eq!(fs.resolve("/bin/sh", "/").unwrap().0, "bin/busybox");
        assert_eq!(fs.resolve("/usr/bin/env", "/").unwrap().0, "bin/busybox");
        assert_eq!(fs.resolve("/lib/app", "/").unwrap().0, "usr/lib/app");
        assert_eq!(fs.resolve("app", "/usr/lib").unwrap().0, "usr/lib/app");
        assert!(matches!(
            fs.resolve("/loop", "/"),
            Err(ResolveError::Loop(_))
        ));
        assert!(matches!(
            fs.resolve("/nope", "/"),
            Err(ResolveError::NotFound(_))
        ));
        assert_eq!(
            fs.which("sh", "/usr/bin:/bin", "/").unwrap().0,
            "bin/busybox"
        );
        assert!(fs.which("python", "/usr/bin:/bin", "/").is_err());
        assert_eq!(fs.resolve("/hard", "/").unwrap().0, "hard");
    }
}
