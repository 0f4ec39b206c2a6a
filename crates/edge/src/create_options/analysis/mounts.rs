//! Host paths given to a container: bind sources, bind-like volumes and named pipes, and how
//! sensitive each is (`checks.md` EC804); the path rules are in the parent module's docs. Named
//! volumes, tmpfs and image mounts are not host paths and are left out; whether a host path
//! exists on a device is not knowable here.

use bollard_stubs::models::{ContainerCreateBody, MountType};

use super::host;

/// Container engine API sockets, by file name, wherever they are mounted from.
pub const ENGINE_SOCKETS: &[&str] = &["docker.sock", "containerd.sock", "podman.sock"];

/// Host paths a module must not mount without a justification (`checks.md` EC804).
pub const SENSITIVE_HOST_PATHS: &[&str] = &[
    "/",
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/root",
    "/home",
    "/var/lib/docker",
    "/var/lib/aziot",
    "/var/run",
    "/run",
];

/// How a sensitive host path relates to the listed one it matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The source is the listed path.
    Itself,
    /// The source lies below it (`/etc/ssl` below `/etc`).
    Below,
    /// The source contains it (`/var` contains `/var/run`).
    Contains,
}

/// What a host path given to a container is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPathKind {
    /// A container engine or system daemon API socket: root on the host.
    EngineSocket,
    /// One of [`SENSITIVE_HOST_PATHS`], below one, or containing one.
    Sensitive {
        listed: &'static str,
        relation: Relation,
    },
    /// A `<PLACEHOLDER>` the customer fills in.
    CustomerInput,
    /// Any other host path.
    Other,
}

/// Lexically cleans an absolute Unix path: no empty or `.` segments, `..` resolved, no trailing
/// slash (Go's `filepath.Clean`, which Docker applies to bind sources).
pub fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

fn is_windows_path(p: &str) -> bool {
    let b = p.as_bytes();
    p.starts_with("\\\\") || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
}

/// Classifies a host path (a bind source, a bind-volume device, a named pipe).
pub fn classify_host_path(source: &str) -> HostPathKind {
    if crate::names::is_placeholder(source.trim()) {
        return HostPathKind::CustomerInput;
    }
    if is_windows_path(source) {
        // Windows containers: the engine's API is the named pipe `\\.\pipe\docker_engine`.
        return if source.to_ascii_lowercase().contains("docker_engine") {
            HostPathKind::EngineSocket
        } else {
            HostPathKind::Other
        };
    }
    let p = clean_path(source);
    let name = p.rsplit('/').next().unwrap_or_default();
    let under_run = p.starts_with("/var/run/") || p.starts_with("/run/");
    if ENGINE_SOCKETS.contains(&name) || (under_run && name.ends_with(".sock")) {
        return HostPathKind::EngineSocket;
    }
    for listed in SENSITIVE_HOST_PATHS {
        let relation = if p == *listed {
            Relation::Itself
        } else if *listed == "/" {
            continue;
        } else if p.starts_with(&format!("{listed}/")) {
            Relation::Below
        } else if p == "/" || listed.starts_with(&format!("{p}/")) {
            Relation::Contains
        } else {
            continue;
        };
        return HostPathKind::Sensitive { listed, relation };
    }
    HostPathKind::Other
}

/// A host path mounted into the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostMount {
    /// `HostConfig.Binds[0]` or `HostConfig.Mounts[1]`.
    pub path: String,
    /// The host side as written.
    pub source: String,
    pub target: String,
    pub read_only: bool,
    pub kind: HostPathKind,
}

/// Splits a `Binds` entry `source:target[:options]`; a Windows drive letter belongs to the
/// source. `None` for a bare container path (an anonymous volume, no host side).
fn split_bind(bind: &str) -> Option<(&str, &str, &str)> {
    let b = bind.as_bytes();
    let skip = if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        2
    } else {
        0
    };
    let colon = skip + bind.get(skip..)?.find(':')?;
    let source = &bind[..colon];
    let rest = &bind[colon + 1..];
    // The target may itself be a Windows path (`c:\data`).
    let rb = rest.as_bytes();
    let tskip = if rb.len() >= 3 && rb[0].is_ascii_alphabetic() && rb[1] == b':' {
        2
    } else {
        0
    };
    let (target, options) = match rest.get(tskip..).and_then(|r| r.find(':')) {
        Some(i) => (&rest[..tskip + i], &rest[tskip + i + 1..]),
        None => (rest, ""),
    };
    Some((source, target, options))
}

/// Is this bind source a host path (rather than a named volume)?
fn is_host_source(source: &str) -> bool {
    source.starts_with('/')
        || is_windows_path(source)
        || crate::names::is_placeholder(source.trim())
}

/// Every host path mounted through `HostConfig.Binds` and `HostConfig.Mounts` (type `bind`,
/// `npipe`, or a `volume` whose local driver binds a host `device`).
pub fn host_mounts(b: &ContainerCreateBody) -> Vec<HostMount> {
    let mut out = Vec::new();
    let Some(h) = host(b) else {
        return out;
    };
    for (i, bind) in h.binds.iter().flatten().enumerate() {
        let Some((source, target, options)) = split_bind(bind) else {
            continue;
        };
        if !is_host_source(source) {
            continue;
        }
        out.push(HostMount {
            path: format!("HostConfig.Binds[{i}]"),
            source: source.to_owned(),
            target: target.to_owned(),
            read_only: options.split(',').any(|o| o == "ro"),
            kind: classify_host_path(source),
        });
    }
    for (i, m) in h.mounts.iter().flatten().enumerate() {
        let source = match m.typ {
            Some(MountType::BIND) | Some(MountType::NPIPE) => m.source.clone(),
            Some(MountType::VOLUME) => bind_volume_device(m),
            _ => None,
        };
        let Some(source) = source.filter(|s| !s.is_empty()) else {
            continue;
        };
        out.push(HostMount {
            path: format!("HostConfig.Mounts[{i}]"),
            kind: classify_host_path(&source),
            source,
            target: m.target.clone().unwrap_or_default(),
            read_only: m.read_only == Some(true),
        });
    }
    out
}

/// A `local` volume with `o=bind` and a `device` is a bind mount of that host path.
fn bind_volume_device(m: &bollard_stubs::models::Mount) -> Option<String> {
    let config = m.volume_options.as_ref()?.driver_config.as_ref()?;
    let driver = config.name.as_deref().unwrap_or("local");
    let options = config.options.as_ref()?;
    let binds = options.get("o").is_some_and(|o| {
        o.split(',')
            .any(|x| x.trim() == "bind" || x.trim() == "rbind")
    });
    (driver == "local" && binds)
        .then(|| options.get("device").cloned())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn body(v: Value) -> ContainerCreateBody {
        crate::create_options::parse(&v).unwrap().unwrap().body
    }

    #[test]
    fn host_path_classes() {
        use HostPathKind::*;
        let sensitive = |listed, relation| Sensitive { listed, relation };
        for (p, kind) in [
            ("/var/run/docker.sock", EngineSocket),
            ("/run/containerd/containerd.sock", EngineSocket),
            ("/home/u/.local/podman.sock", EngineSocket),
            ("/var/run/iotedge/mgmt.sock", EngineSocket),
            ("/run//user/../docker.sock", EngineSocket),
            ("\\\\.\\pipe\\docker_engine", EngineSocket),
            ("/", sensitive("/", Relation::Itself)),
            ("/etc/", sensitive("/etc", Relation::Itself)),
            ("/etc/ssl/certs", sensitive("/etc", Relation::Below)),
            ("/dev/ttyUSB0", sensitive("/dev", Relation::Below)),
            (
                "/var/lib/aziot/keyd",
                sensitive("/var/lib/aziot", Relation::Below),
            ),
            ("/var", sensitive("/var/lib/docker", Relation::Contains)),
            ("/var/lib", sensitive("/var/lib/docker", Relation::Contains)),
            ("/tmp/../etc", sensitive("/etc", Relation::Itself)),
            ("/run/udev", sensitive("/run", Relation::Below)),
            ("/data/avrofiles", Other),
            ("/var/lib/myapp", Other),
            ("/etcetera", Other),
            ("/tmp/app.sock", Other),
            ("c:\\data\\avrofiles", Other),
            ("<DATA_DIR>", CustomerInput),
        ] {
            assert_eq!(classify_host_path(p), kind, "{p}");
        }
    }

    #[test]
    fn binds_and_mounts() {
        let b = body(json!({"HostConfig": {
            "Binds": ["/var/run/docker.sock:/var/run/docker.sock", "blobvolume:/blobroot",
                      "/etc/certs:/certs:ro,Z", "c:\\data\\avro:/avro", "/anonymous", "<DATA_DIR>:/data"],
            "Mounts": [
                {"Type": "bind", "Source": "/etc", "Target": "/host-etc", "ReadOnly": true},
                {"Type": "volume", "Source": "sqlVolume", "Target": "/var/opt/mssql"},
                {"Type": "volume", "Source": "v", "Target": "/t", "VolumeOptions": {"DriverConfig":
                    {"Name": "local", "Options": {"type": "none", "o": "bind", "device": "/run"}}}},
                {"Type": "tmpfs", "Target": "/tmp"}
            ]
        }}));
        let m = host_mounts(&b);
        let got: Vec<(&str, &str, bool)> = m
            .iter()
            .map(|m| (m.path.as_str(), m.source.as_str(), m.read_only))
            .collect();
        assert_eq!(
            got,
            [
                ("HostConfig.Binds[0]", "/var/run/docker.sock", false),
                ("HostConfig.Binds[2]", "/etc/certs", true),
                ("HostConfig.Binds[3]", "c:\\data\\avro", false),
                ("HostConfig.Binds[5]", "<DATA_DIR>", false),
                ("HostConfig.Mounts[0]", "/etc", true),
                ("HostConfig.Mounts[2]", "/run", false),
            ]
        );
        assert_eq!(m[0].kind, HostPathKind::EngineSocket);
        assert_eq!(m[2].target, "/avro");
        assert_eq!(m[3].kind, HostPathKind::CustomerInput);
    }
}
