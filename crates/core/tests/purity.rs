//! The core's invariant as a fact of the build: `edgecert-core` (facts, offer, policy, checks,
//! reports, local image reading, pure analyzers) and `edgecert-edge` (IoT Edge rules) compile
//! without a network client, an async runtime, a Moby client or a malware engine. Asked of
//! `cargo tree` itself, so a dependency added anywhere below them (directly or by a feature)
//! fails here with the path that brought it in.

use std::collections::BTreeSet;
use std::process::Command;

/// Crates that mean network, async, Moby or a malware engine. Prefixes end with `-`.
const FORBIDDEN: &[&str] = &[
    // async runtimes and their I/O
    "tokio",
    "tokio-",
    "mio",
    "futures-",
    "async-",
    "smol",
    // network clients, servers and TLS
    "hyper",
    "hyper-",
    "h2",
    "reqwest",
    "oci-client",
    "rustls",
    "ring",
    "socket2",
    "tungstenite",
    "tokio-tungstenite",
    "fe2o3-amqp",
    "axum",
    "sqlx",
    // the Moby client (its models crate, bollard-stubs, is allowed)
    "bollard",
    "hyperlocal",
    // malware engines and their code generators
    "yara-x",
    "wasmtime",
    "cranelift-",
];

fn forbidden(name: &str) -> bool {
    FORBIDDEN.iter().any(|f| match f.strip_suffix('-') {
        Some(prefix) => name.starts_with(&format!("{prefix}-")),
        None => name == *f,
    })
}

/// The normal (not dev, not build) dependencies of `package`, each once, as `name`.
fn tree(package: &str) -> (BTreeSet<String>, String) {
    let out = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal",
            "-p",
            package,
        ])
        .output()
        .expect("cargo runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names = text
        .lines()
        .filter_map(|l| {
            let l = l.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
            l.split_whitespace().next().map(str::to_owned)
        })
        .collect();
    (names, text)
}

fn assert_pure(package: &str, must_have: &[&str]) {
    let (names, text) = tree(package);
    // Not vacuous: the tree was read and holds what the crate is known to use.
    for m in must_have {
        assert!(names.contains(*m), "{package}'s tree lacks {m}:\n{text}");
    }
    let bad: Vec<&String> = names.iter().filter(|n| forbidden(n)).collect();
    assert!(
        bad.is_empty(),
        "{package} depends on {bad:?}, which the pure crates must not:\n{text}"
    );
}

#[test]
fn the_core_needs_no_network_async_moby_or_malware_engine() {
    assert_pure(
        "edgecert-core",
        &[
            "edgecert-core",
            "edgecert-edge",
            "serde",
            "tar",
            "bollard-stubs",
        ],
    );
}

#[test]
fn edge_has_dockers_models_but_not_its_client() {
    assert_pure(
        "edgecert-edge",
        &["edgecert-edge", "bollard-stubs", "serde_json"],
    );
}

#[test]
fn the_list_catches_what_the_engine_brings() {
    // The engine is allowed all of it; this shows the matcher sees those crates in a real tree.
    let (names, _) = tree("edgecert-engine");
    for n in [
        "tokio",
        "bollard",
        "oci-client",
        "yara-x",
        "hyper",
        "rustls",
    ] {
        assert!(names.contains(n), "the engine's tree lacks {n}");
        assert!(forbidden(n), "{n} is not on the list");
    }
    assert!(!forbidden("bollard-stubs") && !forbidden("serde") && !forbidden("tar"));
}
