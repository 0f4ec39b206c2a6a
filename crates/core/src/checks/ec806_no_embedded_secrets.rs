//! # EC806 no-embedded-secrets
//!
//! ## What it checks
//! No secrets in the image config (`Env`, `Labels`, history) or in any file of any layer —
//! including files a later layer deletes, which still ship in the layer blob: IoT Hub device
//! and service connection strings (`HostName=…;SharedAccessKey=…`), Event Hubs / Service Bus
//! connection strings, SAS tokens (`SharedAccessSignature sr=…&sig=…`, storage `sv=…&sig=…`),
//! Azure Storage account keys, PEM / OpenSSH / PGP private keys, AWS access keys, GitHub,
//! GitLab, Slack, Google API and Stripe live keys; in config `Env`, also passwords and tokens
//! in variables named for them (`DB_PASSWORD=…`, `API_TOKEN=…`). The offer's defaults
//! (`defaults.env`, `createOptions.Env`) are published in the listing and copied into every
//! deployment, so the same rules apply to them. Placeholders (`SharedAccessKey=<KEY>`,
//! `${KEY}`, `xxxx`, documented example keys) do not count. Findings name the place (layer and
//! path with byte offset, or the config field) and a redacted hint, never the secret.
//!
//! What is public is information, not a blocking finding: keys their owners publish, known by
//! value (GnuTLS's FIPS self-test keys inside `libgnutls.so.30`, which apt pulls into nearly
//! every Debian and Ubuntu image; the Azure Storage and Cosmos DB emulator keys inside the
//! Azure SDKs — the list and its sources are in `analyze::secrets::public`), keys inside files
//! a distribution package installed (the image's dpkg or apk database lists the file), and keys
//! inside shared libraries (`*.so`, `*.so.*` ELF shared objects: built-in test vectors). A key
//! in the module's own files, its config (env, labels, history) or the offer still fails.
//!
//! ## Why it matters
//! Everyone who can pull the module can read every layer. A device connection string or a
//! private key baked into an image is shared with every customer, and a deleted file is still
//! in the layer that added it.
//!
//! ## Example
//! `layer sha256:…: app/appsettings.json`: IoT Hub device connection string
//! (`SharedAccessKey=Hu4K… (44 chars)`) at byte 120. Information, not a failure:
//! `layer sha256:…: usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3`: private key (RSA PRIVATE
//! KEY) at byte 1523136: a published key (GnuTLS FIPS 140 self-test key), not a secret.
//!
//! ## How to fix
//! Remove the secret from the image and rotate it (it has been published). Provision device
//! credentials at deployment time (IoT Edge module identity, `createOptions` env from the
//! deployment manifest, a secrets store); in multi-stage builds, keep secrets out of the final
//! stage and use build secrets (`RUN --mount=type=secret`) instead of `ENV`/`COPY`.

use std::collections::{BTreeSet, HashMap};

use super::create_options::{location, parsed};
use super::{Check, Context, Outcome, UNREADABLE};
use crate::analyze::FileFact;
use crate::analyze::secrets::{SecretFact, credential_in_env, find_secrets};
use crate::digest::Digest;
use crate::facts::Owner;
use crate::facts::layer::FsEntry;
use crate::facts::{ConfigFacts, ImageFacts};
use crate::finding::{Area, Finding, Severity};
use crate::location::Location;

pub const CHECK: Check = Check {
    id: "EC806",
    name: "no-embedded-secrets",
    title: "No secrets in the image",
    area: Area::Security,
    severity: Severity::Blocking,
    runtime: false,
    source: include_str!("ec806_no_embedded_secrets.rs"),
    run,
};

/// Findings listed at most; the summary counts them all.
const MAX_FINDINGS: usize = 100;

/// ELF `e_type` of a shared object (also position-independent executables, hence the name
/// test in [`is_library_name`]).
const ELF_SHARED_OBJECT: u16 = 3;

fn describe(f: &SecretFact) -> String {
    format!("{} ({})", f.secret.describe(), f.hint)
}

/// Platforms whose image includes `layer`, and whether `path` of that layer is still in their
/// merged filesystem (not deleted or replaced by a later layer).
fn shipped(image: &ImageFacts, layer: &Digest, path: &str) -> (Vec<String>, bool) {
    let mut platforms = Vec::new();
    let mut visible = false;
    for p in &image.platforms {
        if let Some(index) = p.layers.iter().position(|l| &l.digest == layer) {
            platforms.push(p.platform.to_string());
            visible |= p.fs.get(path).is_some_and(|n| n.layer == index);
        }
    }
    (platforms, visible)
}

/// Why a secret found in a file is information rather than a leak, if it is.
fn public_reason(
    image: &ImageFacts,
    owners: &[HashMap<&str, Owner<'_>>],
    layer: &Digest,
    entry: &FsEntry,
    secret: &SecretFact,
) -> Option<String> {
    if let Some(name) = &secret.public {
        return Some(format!("a published key ({name}), not a secret"));
    }
    for (p, owned) in image.platforms.iter().zip(owners) {
        if !p.layers.iter().any(|l| &l.digest == layer) {
            continue;
        }
        if let Some(o) = owned.get(entry.path.as_str()) {
            return Some(format!(
                "in a file of the {} package {} (the distribution's own file, not the module's)",
                o.manager.as_str(),
                o.package
            ));
        }
    }
    let shared_object = entry
        .facts
        .iter()
        .any(|f| matches!(f, FileFact::Elf(e) if e.file_type == ELF_SHARED_OBJECT))
        && is_library_name(&entry.path)
        && in_library_directory(&entry.path);
    shared_object.then(|| {
        "inside a shared library of the system or a language package (keys there are built-in \
         test data)"
            .to_owned()
    })
}

/// Where libraries the module did not write live: the system's library directories
/// (`/lib`, `/usr/lib`, `/usr/local/lib`, with their 32/64 variants) and language package
/// directories. A shared object in the module's own tree (`/app/lib/…`, `/usr/src/app/…`) is
/// the module's file: a key there is judged like any other.
fn in_library_directory(path: &str) -> bool {
    let system = [
        "lib/",
        "lib32/",
        "lib64/",
        "usr/lib/",
        "usr/lib32/",
        "usr/lib64/",
        "usr/local/lib/",
    ]
    .iter()
    .any(|d| path.starts_with(d));
    let packages = ["/site-packages/", "/dist-packages/", "/node_modules/"]
        .iter()
        .any(|d| path.contains(d));
    system || packages
}

/// `libx.so`, `libx.so.30.1`: a shared library's file name.
fn is_library_name(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.ends_with(".so") || base.contains(".so.")
}

/// Secrets in layer files: blocking findings, and informational ones (published keys, files a
/// distribution package installed, shared libraries).
fn in_files(image: &ImageFacts, findings: &mut Vec<Finding>, info: &mut Vec<Finding>) {
    let secret = |f: &FileFact| matches!(f, FileFact::Secret(_));
    let any = image
        .layers
        .values()
        .flat_map(|l| &l.entries)
        .any(|e| e.facts.iter().any(secret));
    if !any {
        return;
    }
    // Built only when some file holds a secret: most images hold none.
    let owners: Vec<_> = image.platforms.iter().map(|p| p.package_owners()).collect();
    for (digest, layer) in &image.layers {
        for entry in &layer.entries {
            let secrets = entry.facts.iter().filter_map(|f| match f {
                FileFact::Secret(s) => Some(s),
                _ => None,
            });
            for s in secrets {
                let (platforms, visible) = shipped(image, digest, &entry.path);
                let mut message = format!("{} at byte {}", describe(s), s.offset);
                let public = public_reason(image, &owners, digest, entry, s);
                if let Some(why) = &public {
                    message.push_str(&format!(": {why}"));
                }
                if !visible {
                    message.push_str(
                        "; a later layer deletes or replaces the file, but this layer still ships it",
                    );
                }
                let mut finding =
                    Finding::new(message).at(Location::layer(digest, Some(&entry.path)));
                if public.is_none() {
                    finding = finding.help(CHECK.fix_hint());
                }
                if let [only] = platforms.as_slice() {
                    finding = finding.on(only);
                } else if !platforms.is_empty() {
                    finding
                        .message
                        .push_str(&format!(" (in {})", platforms.join(", ")));
                }
                if public.is_some() {
                    info.push(finding);
                } else {
                    findings.push(finding);
                }
            }
        }
    }
}

/// Secrets in one `NAME=value` entry: a known format anywhere in it, else a credential known
/// by the variable's name.
fn in_env_entry(entry: &str) -> Vec<SecretFact> {
    let mut found = find_secrets(entry.as_bytes());
    if found.is_empty() {
        found.extend(credential_in_env(entry));
    }
    found
}

/// Secrets in the offer's defaults, which the listing publishes and every deployment manifest
/// made from the offer carries: `(location, secret)`.
fn in_offer(cx: &Context<'_>) -> Vec<(Location, SecretFact)> {
    let offer = cx.offer;
    let mut out = Vec::new();
    let env = offer.defaults.as_ref().and_then(|d| d.env.as_ref());
    for (name, value) in env.into_iter().flatten() {
        for s in in_env_entry(&format!("{name}={}", value.to_env_string())) {
            out.push((Location::offer(format!("defaults.env.{name}")), s));
        }
    }
    if let Some(c) = parsed(cx) {
        for (i, entry) in c.body.env.iter().flatten().enumerate() {
            for s in in_env_entry(entry) {
                out.push((location(&format!("Env[{i}]")), s));
            }
        }
    }
    out
}

/// Secrets in one config: `(field, secret)`.
fn in_config(c: &ConfigFacts) -> Vec<(String, SecretFact)> {
    let mut out = Vec::new();
    for (i, kv) in c.env.iter().enumerate() {
        let name = kv.split_once('=').map_or(kv.as_str(), |(k, _)| k);
        for s in in_env_entry(kv) {
            out.push((format!("Env[{i}] ({name})"), s));
        }
    }
    for (k, v) in &c.labels {
        for s in find_secrets(v.as_bytes()) {
            out.push((format!("Labels[{k:?}]"), s));
        }
    }
    for (i, h) in c.history.iter().enumerate() {
        for s in find_secrets(h.as_bytes()) {
            out.push((format!("history[{i}]"), s));
        }
    }
    out
}

fn run(cx: &Context<'_>) -> Outcome {
    let image = cx.image;
    let mut findings: Vec<Finding> = in_offer(cx)
        .into_iter()
        .map(|(at, s)| Finding::new(describe(&s)).at(at).help(CHECK.fix_hint()))
        .collect();
    if image.platforms.is_empty() {
        if !findings.is_empty() {
            let n = findings.len();
            return Outcome::fail(format!("{n} secret(s) in the offer's defaults"), findings);
        }
        return Outcome::skip(UNREADABLE);
    }
    for p in &image.platforms {
        let Some(config) = &p.config else { continue };
        for (field, s) in in_config(config) {
            findings.push(
                Finding::new(describe(&s))
                    .on(&p.platform)
                    .at(Location::ConfigField {
                        manifest: p.manifest_digest.to_string(),
                        field,
                    })
                    .help(CHECK.fix_hint()),
            );
        }
    }
    let mut info = Vec::new();
    in_files(image, &mut findings, &mut info);
    info.truncate(MAX_FINDINGS);
    let noted = if info.is_empty() {
        String::new()
    } else {
        format!(
            "; {} published test key(s) or key(s) in distribution files noted as information",
            info.len()
        )
    };
    let files = image
        .layers
        .values()
        .map(|l| l.entries.len())
        .sum::<usize>();
    if findings.is_empty() {
        let unread: BTreeSet<String> = image
            .layers
            .values()
            .filter(|l| !l.complete)
            .map(|l| l.digest.to_string())
            .collect();
        if !unread.is_empty() {
            return Outcome::error(
                format!(
                    "{} layer(s) could not be read to the end (see EC101): their files were not all scanned",
                    unread.len()
                ),
                Vec::new(),
            );
        }
        return Outcome::pass(format!(
            "no secrets in the offer's defaults, the config or {files} entries of {} layer(s){noted}",
            image.layers.len()
        ))
        .with(info);
    }
    let total = findings.len();
    findings.truncate(MAX_FINDINGS);
    let shown = if total > MAX_FINDINGS {
        format!(" (the first {MAX_FINDINGS} are listed)")
    } else {
        String::new()
    };
    findings.extend(info);
    Outcome::fail(
        format!("{total} embedded secret(s) found{shown}{noted}"),
        findings,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::secrets::tests::{placeholders, samples};
    use crate::checks::testing::*;
    use crate::finding::Status;
    use edgecert_fixtures::{Arch, ImageSpec, Layer, PlatformImage};

    fn image(layers: Vec<Layer>, env: Vec<String>, labels: Vec<(String, String)>) -> ImageSpec {
        let mut p = PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", "3600"]).unwrap();
        p.layers.extend(layers);
        p.config.env.extend(env);
        p.config.labels = labels;
        p.config.history.push("ENV CONN=x".into());
        ImageSpec::new(vec![p])
    }

    fn outcome(spec: &ImageSpec) -> Outcome {
        check_with(&CHECK, &offer(&offer_json()), &facts(spec))
    }

    /// No finding carries any part of a secret beyond its hint.
    fn assert_redacted(o: &Outcome, texts: &[String]) {
        for f in &o.findings {
            let shown = format!("{} {:?} {:?}", f.message, f.location, f.help);
            for t in texts {
                for secret in t
                    .split(['=', ' ', ';', '&', '\n', '"', '\''])
                    .filter(|s| s.len() > 12)
                {
                    assert!(!shown.contains(secret), "{shown} shows {secret}");
                }
            }
        }
    }

    #[test]
    fn every_kind_in_files_fails_with_a_location() {
        let samples = samples();
        let mut layer = Layer::new();
        for (i, (_, text)) in samples.iter().enumerate() {
            layer = layer.file(format!("/app/s{i:02}.txt"), format!("x\n{text}\n"), 0o644);
        }
        let o = outcome(&image(vec![layer], vec![], vec![]));
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.findings.len(), samples.len(), "{o:#?}");
        for (i, (kind, _)) in samples.iter().enumerate() {
            let f = &o.findings[i];
            assert!(f.message.starts_with(kind.describe()), "{f:?}");
            let location = f.shown_location().unwrap();
            assert!(location.starts_with("layer sha256:"), "{location}");
            assert!(
                location.ends_with(&format!(": app/s{i:02}.txt")),
                "{location}"
            );
            assert!(f.message.contains(" at byte "), "{f:?}");
            assert_eq!(f.platform.as_deref(), Some("linux/amd64"));
        }
        let texts: Vec<String> = samples.into_iter().map(|(_, t)| t).collect();
        assert_redacted(&o, &texts);
    }

    #[test]
    fn placeholders_in_files_and_config_pass() {
        let text = placeholders().join("\n");
        let layer = Layer::new().file("/app/appsettings.json", text.clone(), 0o644);
        let env = vec![
            "IOTHUB_DEVICE_CONNECTION_STRING=HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=<KEY>".into(),
            "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE".into(),
        ];
        let labels = vec![("conn".into(), "SharedAccessKey=${KEY}".into())];
        let o = outcome(&image(vec![layer], env, labels));
        assert_eq!(o.status, Status::Pass, "{o:#?}");
    }

    #[test]
    fn secrets_in_the_offer_defaults_fail_where_they_are() {
        let s = samples();
        let spec = image(vec![], vec![], vec![]);
        let mut v = offer_json();
        v["defaults"]["env"] = serde_json::json!({
            "IOTHUB_CONNECTION": s[0].1,
            "MQTT_PASSWORD": "q8Zt2WmXv4Lr9KpB",
            "LOG_LEVEL": "info",
            "ADMIN_PASSWORD": "<ADMIN_PASSWORD>",
        });
        v["defaults"]["createOptions"] =
            serde_json::json!({"Env": ["API_TOKEN=Zk3mQ9xV7tL2pR8w", "MODE=fast"]});
        let o = check_with(&CHECK, &offer(&v), &facts(&spec));
        assert_eq!(o.status, Status::Fail, "{o:#?}");
        let at: Vec<String> = o
            .findings
            .iter()
            .map(|f| f.shown_location().unwrap())
            .collect();
        assert_eq!(
            at,
            [
                "offer.json: defaults.env.IOTHUB_CONNECTION",
                "offer.json: defaults.env.MQTT_PASSWORD",
                "offer.json: defaults.createOptions.Env[0]",
            ]
        );
        assert_redacted(
            &o,
            &[
                "q8Zt2WmXv4Lr9KpB".to_owned(),
                "Zk3mQ9xV7tL2pR8w".to_owned(),
                s[0].1.clone(),
            ],
        );
        // Judged even when the image cannot be read.
        let o = check_with(&CHECK, &offer(&v), &ImageFacts::default());
        assert_eq!((o.status, o.findings.len()), (Status::Fail, 3), "{o:#?}");
    }

    #[test]
    fn passwords_in_config_env_fail_by_name_and_references_pass() {
        let env = vec![
            "DB_PASSWORD=S3cr3t-Pa55w0rd!".into(),
            "DB_PASSWORD_FILE=/run/secrets/db".into(),
            "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D".into(),
        ];
        let o = outcome(&image(vec![], env, vec![]));
        assert_eq!(o.status, Status::Fail, "{o:#?}");
        assert_eq!(o.findings.len(), 1, "{o:#?}");
        let f = &o.findings[0];
        assert!(
            f.shown_location()
                .unwrap()
                .ends_with(": Env[1] (DB_PASSWORD)"),
            "{f:?}"
        );
        assert!(
            f.message
                .starts_with("password or token in an environment variable (S3cr… (16 chars))"),
            "{f:?}"
        );
        assert_redacted(&o, &["S3cr3t-Pa55w0rd!".to_owned()]);
    }

    #[test]
    fn config_env_labels_and_history() {
        let s = samples();
        let mut spec = image(
            vec![],
            vec![format!("IOTHUB_CONNECTION_STRING={}", s[0].1)],
            vec![("com.example.key".into(), s[7].1.clone())],
        );
        spec.platforms[0]
            .config
            .history
            .push(format!("/bin/sh -c #(nop) ENV TOKEN={}", s[11].1));
        let o = outcome(&spec);
        assert_eq!(o.status, Status::Fail);
        let at: Vec<String> = o
            .findings
            .iter()
            .map(|f| {
                let l = f.shown_location().unwrap();
                l[l.find(": ").unwrap() + 2..].to_owned()
            })
            .collect();
        assert_eq!(
            at,
            [
                "Env[1] (IOTHUB_CONNECTION_STRING)",
                "Labels[\"com.example.key\"]",
                "history[2]"
            ]
        );
        assert!(
            o.findings[0]
                .message
                .starts_with("IoT Hub device connection string")
        );
        assert!(
            o.findings[1]
                .message
                .starts_with("private key (RSA PRIVATE KEY)")
        );
        assert!(o.findings[2].message.starts_with("GitHub token (ghp_"));
        let texts: Vec<String> = s.into_iter().map(|(_, t)| t).collect();
        assert_redacted(&o, &texts);
    }

    #[test]
    fn deleted_files_and_shared_layers_are_still_reported() {
        let (_, key) = samples().remove(7);
        let secret = Layer::new().file("/etc/ssl/private/dev.key", key, 0o600);
        let delete = Layer::new().whiteout("/etc/ssl/private/dev.key");
        let mut amd = PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", "1"]).unwrap();
        amd.layers.extend([secret.clone(), delete]);
        let mut arm = PlatformImage::busybox(Arch::Armhf, &["/bin/sleep", "1"]).unwrap();
        arm.layers.push(secret);
        let o = outcome(&ImageSpec::new(vec![amd, arm]));
        assert_eq!(o.findings.len(), 1, "{o:#?}");
        let f = &o.findings[0];
        // Still visible on arm: the layer ships it there.
        assert!(
            f.message.ends_with("(in linux/amd64, linux/arm/v7)"),
            "{f:?}"
        );
        assert_eq!(f.platform, None);

        let mut only = PlatformImage::busybox(Arch::Amd64, &["/bin/sleep", "1"]).unwrap();
        let (_, key) = samples().remove(7);
        only.layers.extend([
            Layer::new().file("/k.pem", key, 0o600),
            Layer::new().whiteout("/k.pem"),
        ]);
        let o = outcome(&ImageSpec::new(vec![only]));
        assert!(
            o.findings[0].message.contains("a later layer deletes"),
            "{o:#?}"
        );
    }
}
