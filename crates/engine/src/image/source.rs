//! `ImageSource`: the `--image` argument, in the transport syntax people know from skopeo.

use std::fmt;
use std::path::{Path, PathBuf};

use super::files::{DirFiles, TarFiles};
use super::layout::Layout;
use super::remote::{Remote, RemoteOptions};
use super::store::{Store, StoreError};
use super::{daemon, docker_archive};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    Oci {
        dir: PathBuf,
        reference: Option<String>,
    },
    OciArchive {
        file: PathBuf,
        reference: Option<String>,
    },
    DockerArchive {
        file: PathBuf,
        reference: Option<String>,
    },
    Registry {
        reference: String,
    },
    Daemon {
        name: String,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("invalid image source {given:?}: {why}")]
pub struct SourceError {
    pub given: String,
    pub why: String,
}

impl ImageSource {
    pub fn parse(s: &str) -> Result<Self, SourceError> {
        let err = |why: &str| SourceError {
            given: s.to_owned(),
            why: why.to_owned(),
        };
        let (transport, rest) = s.split_once(':').ok_or_else(|| {
            err("expected TRANSPORT:REFERENCE with oci:, oci-archive:, docker-archive:, docker:// or docker-daemon:")
        })?;
        if rest.is_empty() {
            return Err(err("nothing after the transport"));
        }
        // A trailing `:REF` is split off only when what precedes it is an existing path, so a
        // directory name containing `:` still works.
        let path_and_ref = |rest: &str| -> (PathBuf, Option<String>) {
            if Path::new(rest).exists() {
                return (PathBuf::from(rest), None);
            }
            match rest.rsplit_once(':') {
                Some((p, r)) if !r.is_empty() && !r.contains('/') => {
                    (PathBuf::from(p), Some(r.to_owned()))
                }
                _ => (PathBuf::from(rest), None),
            }
        };
        match transport {
            "oci" => {
                let (dir, reference) = path_and_ref(rest);
                Ok(ImageSource::Oci { dir, reference })
            }
            "oci-archive" => {
                let (file, reference) = path_and_ref(rest);
                Ok(ImageSource::OciArchive { file, reference })
            }
            "docker-archive" => {
                // docker-archive:FILE[:NAME:TAG] — the reference itself contains a colon.
                if Path::new(rest).exists() {
                    return Ok(ImageSource::DockerArchive {
                        file: rest.into(),
                        reference: None,
                    });
                }
                match rest.split_once(':') {
                    Some((f, r)) if !r.is_empty() => Ok(ImageSource::DockerArchive {
                        file: f.into(),
                        reference: Some(r.to_owned()),
                    }),
                    _ => Ok(ImageSource::DockerArchive {
                        file: rest.into(),
                        reference: None,
                    }),
                }
            }
            "docker" => {
                let r = rest
                    .strip_prefix("//")
                    .ok_or_else(|| err("expected docker://HOST/REPO:TAG"))?;
                if r.is_empty() {
                    return Err(err("expected docker://HOST/REPO:TAG"));
                }
                Ok(ImageSource::Registry {
                    reference: r.to_owned(),
                })
            }
            "docker-daemon" => Ok(ImageSource::Daemon {
                name: rest.to_owned(),
            }),
            other => Err(err(&format!(
                "unknown transport {other:?} (use oci:, oci-archive:, docker-archive:, docker:// or docker-daemon:)"
            ))),
        }
    }

    /// Opens the store. `tmp` is the run's own temporary directory (daemon exports land there).
    pub fn open(&self, remote: RemoteOptions, tmp: &Path) -> Result<Box<dyn Store>, StoreError> {
        match self {
            ImageSource::Oci { dir, reference } => Ok(Box::new(Layout::open(
                DirFiles::new(dir)?,
                reference.clone(),
            )?)),
            ImageSource::OciArchive { file, reference } => Ok(Box::new(Layout::open(
                TarFiles::open(file)?,
                reference.clone(),
            )?)),
            ImageSource::DockerArchive { file, reference } => {
                docker_archive::open(file, reference.clone())
            }
            ImageSource::Registry { reference } => Ok(Box::new(Remote::open(reference, remote)?)),
            ImageSource::Daemon { name } => daemon::open(name, tmp),
        }
    }
}

impl fmt::Display for ImageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_ref = |r: &Option<String>| r.as_ref().map(|r| format!(":{r}")).unwrap_or_default();
        match self {
            ImageSource::Oci { dir, reference } => {
                write!(f, "oci:{}{}", dir.display(), with_ref(reference))
            }
            ImageSource::OciArchive { file, reference } => {
                write!(f, "oci-archive:{}{}", file.display(), with_ref(reference))
            }
            ImageSource::DockerArchive { file, reference } => {
                write!(
                    f,
                    "docker-archive:{}{}",
                    file.display(),
                    with_ref(reference)
                )
            }
            ImageSource::Registry { reference } => write!(f, "docker://{reference}"),
            ImageSource::Daemon { name } => write!(f, "docker-daemon:{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_transport() {
        assert_eq!(
            ImageSource::parse("oci:./nope-dir:1.0.3").unwrap(),
            ImageSource::Oci {
                dir: "./nope-dir".into(),
                reference: Some("1.0.3".into())
            }
        );
        assert_eq!(
            ImageSource::parse("oci:./nope-dir").unwrap(),
            ImageSource::Oci {
                dir: "./nope-dir".into(),
                reference: None
            }
        );
        assert_eq!(
            ImageSource::parse("docker://127.0.0.1:5000/contoso/t:1.0").unwrap(),
            ImageSource::Registry {
                reference: "127.0.0.1:5000/contoso/t:1.0".into()
            }
        );
        assert_eq!(
            ImageSource::parse("docker-archive:x.tar:contoso/t:1.0").unwrap(),
            ImageSource::DockerArchive {
                file: "x.tar".into(),
                reference: Some("contoso/t:1.0".into())
            }
        );
        assert!(ImageSource::parse("foo:bar").is_err());
        assert!(ImageSource::parse("docker:nope").is_err());
        assert!(ImageSource::parse("noprefix").is_err());
    }
}
