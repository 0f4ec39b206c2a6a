//! One platform's image as a `docker load` archive, streamed: the legacy `docker save` layout
//! (`manifest.json` with `Config`, `RepoTags`, `Layers`), built on the fly from the config
//! bytes exactly as read (`ConfigFacts.raw`, so the engine's image id is the manifest's config
//! digest) and the layer blobs the scan kept (`<blobs>/<hex>`). Nothing is downloaded again
//! and nothing is extracted.
//!
//! Moby 20.10's `docker load` decompresses gzip layers itself but not zstd ("archive/tar:
//! invalid tar header", tried here): a zstd layer is decompressed into the archive while it is
//! written, as the plain tar its diff id names; its size comes from the scan, which counted the
//! decoder's output, and is checked as the bytes go by.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What goes into the archive.
#[derive(Debug, Clone)]
pub struct LoadArchive {
    pub config: Vec<u8>,
    pub config_hex: String,
    /// In manifest order; the same blob may appear twice.
    pub layers: Vec<LayerBlob>,
    /// `edgecert-ingest/<identifier>-<arch>:<run id>`.
    pub tag: String,
}

#[derive(Debug, Clone)]
pub struct LayerBlob {
    pub path: PathBuf,
    pub hex: String,
    /// Decompressed size, from the scan.
    pub uncompressed_bytes: u64,
}

const CHUNK: usize = 256 * 1024;
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

pub type Chunk = Result<Bytes, io::Error>;

/// Starts writing `archive` on a blocking thread; the receiver yields it in 256 KiB chunks (an
/// `Err` chunk if writing failed, so the upload is aborted rather than silently truncated), and
/// the handle says why writing failed.
pub fn stream(archive: LoadArchive) -> (mpsc::Receiver<Chunk>, JoinHandle<io::Result<()>>) {
    let (tx, rx) = mpsc::channel(8);
    let writer = tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let written = write(&archive, &mut out).and_then(|()| out.flush());
        if let Err(e) = &written {
            let _ = tx.blocking_send(Err(io::Error::new(e.kind(), e.to_string())));
        }
        written
    });
    (rx, writer)
}

/// Writes the archive to `out`.
pub fn write(archive: &LoadArchive, out: &mut impl Write) -> io::Result<()> {
    let mut tar = tar::Builder::new(out);
    append(
        &mut tar,
        &format!("{}.json", archive.config_hex),
        archive.config.len() as u64,
        &mut archive.config.as_slice(),
    )?;
    let mut names = Vec::new();
    for layer in &archive.layers {
        let name = format!("{}/layer.tar", layer.hex);
        if !names.contains(&name) {
            append_layer(&mut tar, &name, layer)?;
        }
        names.push(name);
    }
    let manifest = serde_json::json!([{
        "Config": format!("{}.json", archive.config_hex),
        "RepoTags": [archive.tag],
        "Layers": names,
    }]);
    let manifest = manifest.to_string().into_bytes();
    append(
        &mut tar,
        "manifest.json",
        manifest.len() as u64,
        &mut manifest.as_slice(),
    )?;
    tar.into_inner()?.flush()
}

fn append_layer<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    layer: &LayerBlob,
) -> io::Result<()> {
    let context = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", layer.path.display()));
    let mut file = std::fs::File::open(&layer.path).map_err(context)?;
    let mut magic = [0u8; 4];
    let is_zstd = file.read_exact(&mut magic).is_ok() && magic == ZSTD_MAGIC;
    drop(file);
    let file = std::fs::File::open(&layer.path).map_err(context)?;
    if is_zstd {
        let decoder = zstd::stream::read::Decoder::new(file).map_err(context)?;
        let mut exact = Exact {
            inner: decoder,
            left: layer.uncompressed_bytes,
        };
        append(tar, name, layer.uncompressed_bytes, &mut exact).map_err(context)
    } else {
        let len = file.metadata().map_err(context)?.len();
        let mut exact = Exact {
            inner: file,
            left: len,
        };
        append(tar, name, len, &mut exact).map_err(context)
    }
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    data: &mut impl Read,
) -> io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    tar.append_data(&mut header, name, data)
}

/// Yields exactly `left` bytes of `inner` and fails if it has fewer or more: `tar` pads by the
/// bytes copied, so a wrong size must be an error, not a corrupt archive.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "layer is longer than the scan counted",
                )),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("layer ends {} bytes before the scan's count", self.left),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

struct ChannelWriter {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the engine stopped reading the image archive",
            )
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The kept blob of a layer: `<blobs>/<hex>`.
pub fn kept_blob(blobs: &Path, hex: &str) -> PathBuf {
    blobs.join(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut a = tar::Archive::new(bytes);
        a.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let name = e.path().unwrap().to_string_lossy().into_owned();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (name, data)
            })
            .collect()
    }

    #[test]
    fn zstd_layers_are_written_decompressed_and_gzip_as_is() {
        let dir = tempfile::tempdir().unwrap();
        let plain = b"pretend this is a tar stream".repeat(100);
        let zst = zstd::encode_all(plain.as_slice(), 3).unwrap();
        std::fs::write(dir.path().join("aa"), &zst).unwrap();
        let gz = [0x1f, 0x8b, 8, 0, 1, 2, 3];
        std::fs::write(dir.path().join("bb"), gz).unwrap();
        let archive = LoadArchive {
            config: b"{}".to_vec(),
            config_hex: "cc".into(),
            layers: vec![
                LayerBlob {
                    path: kept_blob(dir.path(), "aa"),
                    hex: "aa".into(),
                    uncompressed_bytes: plain.len() as u64,
                },
                LayerBlob {
                    path: kept_blob(dir.path(), "bb"),
                    hex: "bb".into(),
                    uncompressed_bytes: 999,
                },
                LayerBlob {
                    path: kept_blob(dir.path(), "aa"),
                    hex: "aa".into(),
                    uncompressed_bytes: plain.len() as u64,
                },
            ],
            tag: "edgecert-ingest/x-amd64:1".into(),
        };
        let mut out = Vec::new();
        write(&archive, &mut out).unwrap();
        let e = entries(&out);
        let names: Vec<&str> = e.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["cc.json", "aa/layer.tar", "bb/layer.tar", "manifest.json"]
        );
        assert_eq!(e[1].1, plain);
        assert_eq!(e[2].1, gz);
        let manifest: serde_json::Value = serde_json::from_slice(&e[3].1).unwrap();
        assert_eq!(
            manifest,
            serde_json::json!([{
                "Config": "cc.json",
                "RepoTags": ["edgecert-ingest/x-amd64:1"],
                "Layers": ["aa/layer.tar", "bb/layer.tar", "aa/layer.tar"],
            }])
        );
    }

    #[test]
    fn a_wrong_decompressed_size_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let zst = zstd::encode_all(&b"0123456789"[..], 3).unwrap();
        std::fs::write(dir.path().join("aa"), zst).unwrap();
        for size in [5, 20] {
            let archive = LoadArchive {
                config: b"{}".to_vec(),
                config_hex: "cc".into(),
                layers: vec![LayerBlob {
                    path: dir.path().join("aa"),
                    hex: "aa".into(),
                    uncompressed_bytes: size,
                }],
                tag: "t:1".into(),
            };
            let err = write(&archive, &mut Vec::new()).unwrap_err();
            assert!(err.to_string().contains("scan"), "{err}");
        }
    }
}
