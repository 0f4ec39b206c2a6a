//! Go build info in ELF binaries: the module path, its dependencies with versions (and
//! `=>` replacements) and the Go standard library version, as `go version -m` shows them.
//!
//! Only binaries that carry the Go build-id note (`Go\0\0`, type 4) in their first 16 KiB are
//! followed further: the Go linker puts it right after the ELF headers, so every other ELF file
//! is dropped after its first chunk. (Binaries linked without the note, which some Bazel builds
//! are, go uninventoried.) The rest of a Go binary is searched for the `\xff Go buildinf:`
//! header at a 16-byte aligned offset, as `debug/buildinfo` does; only the go1.18+ inline-string
//! format is read (flag bit 2: two uvarint-prefixed strings, the version and the module info
//! wrapped in 16-byte sentinels). Older pointer-format binaries yield nothing. A header that
//! does not check out (the magic is also a string constant in binaries that link
//! `debug/buildinfo`) is skipped and the search goes on.

use std::borrow::Cow;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use super::{Component, Ecosystem, FileFact, FileScan, MAX_COMPONENTS, facts};

const MAGIC: &[u8] = b"\xff Go buildinf:";
/// Where the build-id note must be.
const NOTE_WITHIN: usize = 16 * 1024;
/// Bytes that decide whether a magic is a real header: 32 + a short uvarint + `go`.
const DECIDE: usize = 48;
/// Each of the two strings at most.
const MAX_INFO: u64 = 1 << 20;
const MAX_CAPTURE: usize = 32 + 2 * 10 + 2 * MAX_INFO as usize;

fn magic_finder() -> &'static AhoCorasick {
    static FINDER: OnceLock<AhoCorasick> = OnceLock::new();
    FINDER.get_or_init(|| AhoCorasick::new([MAGIC]).expect("one constant pattern"))
}

/// The first occurrence of the magic in `hay` at a file offset (`base + index`) aligned to 16.
fn find_aligned(hay: &[u8], base: u64) -> Option<usize> {
    magic_finder()
        .find_iter(hay)
        .map(|m| m.start())
        .find(|&j| (base + j as u64).is_multiple_of(16))
}

/// The ELF note `namesz = 4, descsz, type = 4, "Go\0\0"` in either byte order.
fn has_go_note(head: &[u8]) -> bool {
    head.windows(4).enumerate().any(|(i, w)| {
        w == b"Go\0\0"
            && i >= 12
            && matches!(
                (&head[i - 12..i - 8], &head[i - 4..i]),
                ([4, 0, 0, 0], [4, 0, 0, 0]) | ([0, 0, 0, 4], [0, 0, 0, 4])
            )
    })
}

/// `encoding/binary.Uvarint`: value and bytes used; `None` if incomplete or too long.
fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &c) in b.iter().enumerate().take(10) {
        value |= u64::from(c & 0x7f) << (7 * i);
        if c < 0x80 {
            return Some((value, i + 1));
        }
    }
    None
}

/// A length-prefixed string at `at`: (start, end) in `b`, or `Err` when it cannot be one.
fn string_at(b: &[u8], at: usize) -> Result<Option<(usize, usize)>, ()> {
    let Some(rest) = b.get(at..) else {
        return Ok(None);
    };
    match uvarint(rest) {
        None if rest.len() >= 10 => Err(()),
        None => Ok(None),
        Some((len, _)) if len > MAX_INFO => Err(()),
        Some((len, n)) => Ok(Some((at + n, at + n + len as usize))),
    }
}

/// Whether `buf` (starting at a magic) is a go1.18+ build info header; `None`: need more bytes.
fn header_ok(buf: &[u8]) -> Option<bool> {
    if buf.len() < DECIDE {
        return None;
    }
    let ptr = buf[14];
    let inline = buf[15] & 2 != 0;
    let version = match string_at(buf, 32) {
        Ok(Some((s, e))) => e - s >= 2 && buf.get(s..s + 2) == Some(b"go".as_slice()),
        _ => false,
    };
    Some(buf.starts_with(MAGIC) && matches!(ptr, 4 | 8) && inline && version)
}

enum State {
    /// The first bytes, until the build-id note is found or not.
    Head(Vec<u8>),
    /// Looking for the magic; the last bytes before `pos`, for a magic across chunks.
    Search(Vec<u8>),
    /// A magic at `.1`: collecting `DECIDE` bytes to check the header.
    Decide(Vec<u8>, u64),
    /// A real header: collecting both strings.
    Capture(Vec<u8>),
    Done,
}

pub(super) struct GoScan {
    state: State,
    /// File offset of the next byte fed.
    pos: u64,
    out: Vec<Component>,
}

impl GoScan {
    pub fn new() -> GoScan {
        GoScan {
            state: State::Head(Vec::new()),
            pos: 0,
            out: Vec::new(),
        }
    }

    /// Runs the search over `data` (whose first byte is at `self.pos`).
    fn feed(&mut self, data: &[u8]) {
        let mut input: Cow<[u8]> = Cow::Borrowed(data);
        let mut i = 0;
        loop {
            let rest = &input[i..];
            match &mut self.state {
                State::Head(_) | State::Done => return,
                State::Search(carry) => {
                    let head = &rest[..rest.len().min(MAGIC.len() - 1)];
                    let join = [carry.as_slice(), head].concat();
                    let base = self.pos - carry.len() as u64;
                    let across = find_aligned(&join, base).filter(|&j| j < carry.len());
                    if let Some(j) = across {
                        self.state = State::Decide(join[j..].to_vec(), base + j as u64);
                        i += head.len();
                        self.pos += head.len() as u64;
                    } else if let Some(j) = find_aligned(rest, self.pos) {
                        self.state = State::Decide(Vec::new(), self.pos + j as u64);
                        i += j;
                        self.pos += j as u64;
                    } else {
                        let keep = MAGIC.len() - 1;
                        let joined = [carry.as_slice(), rest].concat();
                        *carry = joined[joined.len().saturating_sub(keep)..].to_vec();
                        self.pos += rest.len() as u64;
                        return;
                    }
                }
                State::Decide(buf, at) => {
                    let take = (DECIDE - buf.len().min(DECIDE)).min(rest.len());
                    buf.extend_from_slice(&rest[..take]);
                    i += take;
                    self.pos += take as u64;
                    match header_ok(buf) {
                        None => return,
                        Some(true) => self.state = State::Capture(std::mem::take(buf)),
                        Some(false) => {
                            // Not a header: search again from the byte after this magic.
                            let replay = [&buf[1..], &input[i..]].concat();
                            self.pos = *at + 1;
                            self.state = State::Search(Vec::new());
                            input = Cow::Owned(replay);
                            i = 0;
                        }
                    }
                }
                State::Capture(buf) => {
                    let want = needed(buf).unwrap_or(MAX_CAPTURE).min(MAX_CAPTURE);
                    let take = want.saturating_sub(buf.len()).min(rest.len());
                    buf.extend_from_slice(&rest[..take]);
                    self.pos += take as u64;
                    if buf.len() >= want {
                        let buf = std::mem::take(buf);
                        self.finalize(&buf);
                    }
                    return;
                }
            }
        }
    }

    fn finalize(&mut self, buf: &[u8]) {
        self.out = components(buf);
        self.state = State::Done;
    }
}

/// Total bytes of header and both strings, once the second length is readable.
fn needed(buf: &[u8]) -> Option<usize> {
    let (_, version_end) = string_at(buf, 32).ok()??;
    let (_, mod_end) = string_at(buf, version_end).ok()??;
    Some(mod_end)
}

impl FileScan for GoScan {
    fn update(&mut self, chunk: &[u8]) -> bool {
        if let State::Head(head) = &mut self.state {
            let take = (NOTE_WITHIN - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            if head.len() >= 4 && !head.starts_with(b"\x7fELF") {
                self.state = State::Done;
                return false;
            }
            if head.len() < NOTE_WITHIN {
                return true;
            }
            if !has_go_note(head) {
                self.state = State::Done;
                return false;
            }
            let head = std::mem::take(head);
            self.state = State::Search(Vec::new());
            self.feed(&head);
            self.feed(&chunk[take..]);
        } else {
            self.feed(chunk);
        }
        !matches!(self.state, State::Done)
    }

    fn finish(mut self: Box<Self>) -> Vec<FileFact> {
        if let State::Capture(buf) = std::mem::replace(&mut self.state, State::Done) {
            self.finalize(&buf);
        }
        facts(self.out)
    }
}

/// The components of a (possibly truncated) build info blob starting at its magic.
fn components(buf: &[u8]) -> Vec<Component> {
    // (bytes, complete) of the string at `at`, and where the next one starts.
    let string = |at: usize| -> (&[u8], bool, usize) {
        match string_at(buf, at) {
            Ok(Some((s, e))) => {
                let end = e.min(buf.len());
                (&buf[s.min(end)..end], e <= buf.len(), e)
            }
            _ => (&[], false, usize::MAX),
        }
    };
    let (version, _, version_end) = string(32);
    let version = String::from_utf8_lossy(version);
    let (raw, complete, _) = string(version_end);
    let mut out = Vec::new();
    // `go1.22.1`, `go1.23.1 X:nocoverageredesign`; `devel …` has no release to name.
    let release = version
        .strip_prefix("go")
        .and_then(|v| v.split_whitespace().next())
        .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()));
    if let Some(c) = release.and_then(|v| Component::new(Ecosystem::Golang, "stdlib", Some(v))) {
        out.push(c);
    }
    // cmd/go wraps the text in 16-byte sentinels (binary, so cut before decoding).
    let text = match (raw.len() >= 33, complete) {
        (true, true) => &raw[16..raw.len() - 16],
        // Truncated: only whole lines count.
        (true, false) => {
            let t = &raw[16..];
            &t[..t.iter().rposition(|&c| c == b'\n').map_or(0, |n| n + 1)]
        }
        _ => &[],
    };
    let modinfo = String::from_utf8_lossy(text);
    let mut path = None;
    let mut modules: Vec<(String, Option<String>)> = Vec::new();
    for line in modinfo.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let version = |i: usize| {
            f.get(i)
                .filter(|v| !v.is_empty() && **v != "(devel)")
                .map(|v| v.to_string())
        };
        match f.first().copied() {
            Some("path") => path = f.get(1).map(|p| p.to_string()),
            Some("mod") | Some("dep") if f.len() >= 2 => {
                modules.push((f[1].to_owned(), version(2)))
            }
            // A replacement applies to the module above; a local directory has no version.
            Some("=>") if f.len() >= 2 => {
                if let Some(last) = modules.last_mut() {
                    if let Some(v) = version(2) {
                        *last = (f[1].to_owned(), Some(v));
                    } else {
                        last.1 = None;
                    }
                }
            }
            _ => {}
        }
    }
    let main_missing = !modinfo.lines().any(|l| l.starts_with("mod\t"));
    if main_missing {
        // Built outside module mode (GOPATH): the package path is all there is.
        modules.extend(path.map(|p| (p, None)));
    }
    out.extend(
        modules
            .into_iter()
            .filter_map(|(m, v)| Component::new(Ecosystem::Golang, &m, v.as_deref()))
            .take(MAX_COMPONENTS),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A go1.18+ build info blob (header, version, module info with sentinels).
    pub fn blob(version: &str, modinfo: &str) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend([8, 2]);
        b.resize(32, 0);
        let sentinel = [0x30u8; 16];
        let m = [&sentinel[..], modinfo.as_bytes(), &sentinel[..]].concat();
        for s in [version.as_bytes(), &m[..]] {
            let mut n = s.len();
            while n >= 0x80 {
                b.push((n as u8) | 0x80);
                n >>= 7;
            }
            b.push(n as u8);
            b.extend_from_slice(s);
        }
        b
    }

    fn elf_with(blob_at: usize, blob: &[u8], decoy_at: usize) -> Vec<u8> {
        let mut f = vec![0u8; blob_at + blob.len() + 1000];
        f[..4].copy_from_slice(b"\x7fELF");
        f[1000..1016].copy_from_slice(b"\x04\0\0\0\x53\0\0\0\x04\0\0\0Go\0\0");
        // The magic as a string constant, not a header (aligned, to be a real decoy).
        f[decoy_at..decoy_at + MAGIC.len()].copy_from_slice(MAGIC);
        f[blob_at..blob_at + blob.len()].copy_from_slice(blob);
        f
    }

    fn scan(bytes: &[u8], chunk: usize) -> Vec<String> {
        let mut s = Box::new(GoScan::new());
        for c in bytes.chunks(chunk) {
            if !s.update(c) {
                break;
            }
        }
        s.finish()
            .into_iter()
            .filter_map(|f| match f {
                FileFact::Component(c) => Some(format!(
                    "{}@{}",
                    c.name,
                    c.version.as_deref().unwrap_or("-")
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn module_build_info_in_any_chunking() {
        let info = "path\texample.com/app/cmd/app\nmod\texample.com/app\t(devel)\t\ndep\tgolang.org/x/sys\tv0.18.0\th1:x\ndep\tgithub.com/a/b\tv1.0.0\th1:y\n=>\tgithub.com/fork/b\tv1.0.1\th1:z\ndep\tgithub.com/c/d\tv2.0.0\n=>\t../d\t\nbuild\tGOOS=linux\n";
        let b = blob("go1.22.1", info);
        let elf = elf_with(300_016, &b, 20_000);
        for chunk in [7, 4096, 131_072] {
            assert_eq!(
                scan(&elf, chunk),
                [
                    "stdlib@1.22.1",
                    "example.com/app@-",
                    "golang.org/x/sys@v0.18.0",
                    "github.com/fork/b@v1.0.1",
                    "github.com/c/d@-"
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn gopath_builds_unaligned_magic_and_non_go() {
        let b = blob(
            "go1.19.8",
            "path\tgithub.com/docker/distribution/cmd/registry\nbuild\t-compiler=gc\n",
        );
        assert_eq!(
            scan(&elf_with(65_536, &b, 32_768), 4096),
            [
                "stdlib@1.19.8",
                "github.com/docker/distribution/cmd/registry@-"
            ]
        );
        assert!(scan(&elf_with(65_537, &b, 32_768), 4096).is_empty());
        let mut no_note = elf_with(65_536, &b, 32_768);
        no_note[1012..1016].copy_from_slice(b"GNU\0");
        assert!(scan(&no_note, 4096).is_empty());
        // A truncated blob (the file ends inside it) still names what it has.
        let elf = elf_with(65_536, &b, 32_768);
        let cut = &elf[..65_536 + 60];
        assert_eq!(scan(cut, 4096), ["stdlib@1.19.8"]);
    }
}
