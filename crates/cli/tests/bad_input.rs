//! The CLI bad-input sweep (issue 8, "verdicts partners can trust"): every kind of wrong input
//! we know of — offers, images, routes, output paths, signals — in one table. Every case must
//! end within a time bound with an exit code of the contract (`spec/interfaces.md`: 0–3, 130,
//! 143), never with panic text, and where it is the user's mistake the message must name what
//! is wrong. Outputs are checked afterwards: bad input never leaves a partial or misplaced write.
//!
//! A row may also set environment variables and send a signal after a delay (Ctrl-C while a
//! registry stalls must still end the run with 130/143).

mod common;

use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{big_example, example, finish, mkfifo, sh, spawn};

/// No case may take longer; a hang is killed and fails its row.
const LIMIT: Duration = Duration::from_secs(60);

struct Case {
    name: &'static str,
    args: Vec<String>,
    /// Exit codes this row accepts (each within the contract).
    codes: &'static [i32],
    /// Texts stderr must contain: the path, key or value that is wrong.
    names: Vec<String>,
    /// Texts stderr must contain exactly once (a cause is not repeated).
    once: Vec<String>,
    /// Checked after the run: what must (not) have been written.
    after: Option<Box<dyn Fn()>>,
    /// Added to the environment of the run.
    env: Vec<(&'static str, String)>,
    /// A signal (`INT`, `TERM`) sent this long after the start.
    signal: Option<(&'static str, Duration)>,
}

impl Case {
    fn new(name: &'static str, args: &[&str], codes: &'static [i32]) -> Case {
        Case {
            name,
            args: args.iter().map(|s| s.to_string()).collect(),
            codes,
            names: Vec::new(),
            once: Vec::new(),
            after: None,
            env: Vec::new(),
            signal: None,
        }
    }
    fn env(mut self, key: &'static str, value: impl ToString) -> Case {
        self.env.push((key, value.to_string()));
        self
    }
    fn signal(mut self, name: &'static str, after: Duration) -> Case {
        self.signal = Some((name, after));
        self
    }
    fn naming(mut self, text: impl ToString) -> Case {
        self.names.push(text.to_string());
        self
    }
    fn once(mut self, text: impl ToString) -> Case {
        self.once.push(text.to_string());
        self
    }
    fn after(mut self, f: impl Fn() + 'static) -> Case {
        self.after = Some(Box::new(f));
        self
    }
}

fn run_table(cases: Vec<Case>) {
    let mut failed = Vec::new();
    for case in cases {
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = case.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let child = spawn(&args, &env);
        if let Some((name, after)) = case.signal {
            std::thread::sleep(after);
            sh("kill", &[&format!("-{name}"), &child.id().to_string()]);
        }
        let r = finish(child, LIMIT);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            r.assert_sane(case.name);
            assert!(
                r.code.is_some_and(|c| case.codes.contains(&c)),
                "exit {:?}, expected one of {:?}\nstderr: {}",
                r.code,
                case.codes,
                r.stderr
            );
            for text in &case.names {
                assert!(
                    r.stderr.contains(text.as_str()),
                    "stderr does not name {text:?}:\n{}",
                    r.stderr
                );
            }
            for text in &case.once {
                assert_eq!(
                    r.stderr.matches(text.as_str()).count(),
                    1,
                    "stderr should say {text:?} once:\n{}",
                    r.stderr
                );
            }
            if let Some(after) = &case.after {
                after();
            }
        }));
        if let Err(e) = outcome {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(format!("{}: {why}", case.name));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

/// `edgecert check --no-run` of `offer` on `image`, JSON report, with `extra` arguments.
fn check(offer: &str, image: &str, extra: &[&str]) -> Vec<String> {
    let mut a = vec!["check", "--no-run", "--format", "json", "--offer", offer];
    a.extend(["--image", image]);
    a.extend(extra);
    a.into_iter().map(str::to_owned).collect()
}

fn case(name: &'static str, args: Vec<String>, codes: &'static [i32]) -> Case {
    Case {
        args,
        ..Case::new(name, &[], codes)
    }
}

/// A copy of the example layout at `dir/name`, edited by `edit`.
fn layout_copy(layout: &Path, dir: &Path, name: &str, edit: impl FnOnce(&Path)) -> String {
    let copy = dir.join(name);
    sh("cp", &["-a", &s(layout), &s(&copy)]);
    edit(&copy);
    format!("oci:{}", copy.display())
}

/// The biggest blob of a layout: a busybox layer.
fn biggest_blob(layout: &Path) -> PathBuf {
    std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| p.metadata().unwrap().len())
        .unwrap()
}

fn offers(dir: &Path, image: &str) -> Vec<Case> {
    let file = |name: &str, text: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        s(&p)
    };
    let not_json = file("not-json.json", b"offer: tempfilter\n");
    let unknown = file(
        "unknown-key.json",
        br#"{"offer": "x", "publisher": "y", "colour": "blue"}"#,
    );
    let types = file(
        "wrong-types.json",
        br#"{"offer": 7, "publisher": ["y"], "image": "nope"}"#,
    );
    let huge = {
        let mut t = br#"{"offer": ""#.to_vec();
        t.extend(std::iter::repeat_n(b'a', 64 << 20));
        t.extend(br#""}"#);
        file("huge.json", &t)
    };
    let deep = {
        let mut t = br#"{"offer": "#.to_vec();
        t.extend(std::iter::repeat_n(b'[', 100_000));
        t.extend(std::iter::repeat_n(b']', 100_000));
        t.extend(b"}");
        file("deep.json", &t)
    };
    let empty = file("empty.json", b"");
    let directory = dir.join("offer-dir");
    std::fs::create_dir(&directory).unwrap();
    let missing = s(&dir.join("no-such-offer.json"));
    let fifo = dir.join("offer.fifo");
    mkfifo(&fifo);
    let fifo = s(&fifo);
    vec![
        case("offer: not JSON", check(&not_json, image, &[]), &[2]).naming(&not_json),
        case("offer: unknown key", check(&unknown, image, &[]), &[2]).naming("colour"),
        case("offer: wrong types", check(&types, image, &[]), &[2]).naming(&types),
        case("offer: 64 MiB string", check(&huge, image, &[]), &[1, 2, 3]),
        case("offer: 100k-deep nesting", check(&deep, image, &[]), &[2]).naming(&deep),
        case("offer: empty file", check(&empty, image, &[]), &[2]).naming(&empty),
        case(
            "offer: a directory",
            check(&s(&directory), image, &[]),
            &[2],
        )
        .naming(s(&directory)),
        // A FIFO would block the run forever, /dev/zero would fill memory.
        case("offer: a FIFO", check(&fifo, image, &[]), &[2])
            .naming(&fifo)
            .naming("FIFO"),
        case("offer: /dev/zero", check("/dev/zero", image, &[]), &[2])
            .naming("/dev/zero")
            .naming("character device"),
        case(
            "policy: a FIFO",
            check(
                &s(&dir.join("tempfilter/offer.json")),
                image,
                &["--policy", &fifo],
            ),
            &[2],
        )
        .naming(&fifo)
        .naming("FIFO"),
        // The cause is printed once, not "(os error 2): No such file or directory (os error 2)".
        case("offer: missing", check(&missing, image, &[]), &[2])
            .naming(&missing)
            .once("(os error 2)"),
    ]
}

fn images(dir: &Path, offer: &str, layout: &Path) -> Vec<Case> {
    let fifo_index = layout_copy(layout, dir, "fifo-index", |l| mkfifo(&l.join("index.json")));
    let fifo_blob = layout_copy(layout, dir, "fifo-blob", |l| mkfifo(&biggest_blob(l)));
    let truncated = layout_copy(layout, dir, "truncated", |l| {
        let blob = biggest_blob(l);
        let len = blob.metadata().unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&blob)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
    });
    let missing = format!("oci:{}", dir.join("no-such-layout").display());
    let mut cases = vec![
        case(
            "image: missing directory",
            check(offer, &missing, &[]),
            &[2],
        )
        .naming("no-such-layout"),
        case(
            "image: FIFO index.json",
            check(offer, &fifo_index, &[]),
            &[2],
        )
        .naming("fifo-index/index.json")
        .naming("FIFO"),
        case(
            "image: FIFO layer blob",
            check(offer, &fifo_blob, &[]),
            &[2],
        )
        .naming("fifo-blob/blobs/sha256/")
        .naming("FIFO"),
        // A broken image is a finding (EC101 fails), not our failure.
        case("image: truncated blob", check(offer, &truncated, &[]), &[1]),
    ];
    for garbage in ["docker://", "oci:", "nope:x", "", "docker-archive:"] {
        cases.push(
            case("image: garbage source", check(offer, garbage, &[]), &[2]).naming("image source"),
        );
    }
    cases
}

/// A registry that accepts connections and never answers: a run must end on its own (the
/// request timeout) or on Ctrl-C, never wait forever.
fn stalled_registry() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    addr
}

fn registries(offer: &str, image: &str) -> Vec<Case> {
    let stalled = stalled_registry();
    let source = format!("docker://{stalled}/contoso/tempfilter:1.0.3");
    let published = format!("docker://{stalled}/contoso/tempfilter");
    let plain = "--tls-verify=false";
    vec![
        case(
            "registry: stalls (--image)",
            check(offer, &source, &[plain]),
            &[2],
        )
        .env("EDGECERT_REGISTRY_TIMEOUT", 2)
        .naming(&stalled)
        .naming("timed out"),
        case(
            "registry: stalls (--published)",
            check(offer, image, &["--published", &published, plain]),
            &[2],
        )
        .env("EDGECERT_REGISTRY_TIMEOUT", 2)
        .naming(&stalled)
        .naming("timed out"),
        // The default timeout is minutes: Ctrl-C must not wait for it.
        case(
            "signal: SIGINT while the registry stalls",
            check(offer, &source, &[plain]),
            &[130],
        )
        .signal("INT", Duration::from_secs(2))
        .naming("SIGINT"),
        case(
            "signal: SIGTERM while the --published registry stalls",
            check(offer, image, &["--published", &published, plain]),
            &[143],
        )
        .signal("TERM", Duration::from_secs(3)),
    ]
}

/// Routes the parser once recursed into per parenthesis or term (a stack overflow: SIGSEGV or
/// abort, outside the contract), and routes past the length bound.
fn routes(message: &str) -> Vec<Case> {
    let route_test = |route: String| {
        vec![
            "route".to_owned(),
            "test".into(),
            "--route".into(),
            route,
            "--message".into(),
            message.to_owned(),
        ]
    };
    let depth = 10_000;
    let parens = format!(
        "FROM /messages/* WHERE {}1 = 1{} INTO $upstream",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let nots = format!(
        "FROM /messages/* WHERE {}true INTO $upstream",
        "NOT ".repeat(depth)
    );
    // Under the length bound, over the nesting bound.
    let nested = format!(
        "FROM /messages/* WHERE {}1 = 1{} INTO $upstream",
        "(".repeat(100),
        ")".repeat(100)
    );
    vec![
        case(
            "route: unbalanced parens",
            route_test("FROM /messages/* WHERE (1 = 1 INTO $upstream".into()),
            &[2],
        )
        .naming("invalid"),
        case("route: 10k parens", route_test(parens), &[2]).naming("bytes"),
        case("route: 10k NOTs", route_test(nots), &[2]).naming("bytes"),
        case("route: 100 nested parens", route_test(nested), &[2]).naming("nests more than"),
    ]
}

fn outputs(dir: &Path, offer: &str, image: &str) -> Vec<Case> {
    let offer_text = std::fs::read(offer).unwrap();
    let offer_path = PathBuf::from(offer);
    let report = s(&dir.join("report.json"));
    let no_dir = s(&dir.join("no-such-dir/report.json"));
    let under_file = format!("{offer}/report.json");
    let fifo = dir.join("report.fifo");
    mkfifo(&fifo);
    // Something must read the FIFO, or writing it would wait (as a shell redirection does).
    // Regression (seen in a CI run): a reader already waiting in open(2) got an end of file
    // from a probe that opened and closed the FIFO, and the real write then waited forever.
    let (tx, read) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        std::thread::spawn(move || tx.send(std::fs::read_to_string(fifo).unwrap()));
    }
    let fifo_after = fifo.clone();
    vec![
        case(
            "output: the offer itself",
            check(offer, image, &["--output", offer]),
            &[2],
        )
        .naming("--output")
        .naming(offer)
        .after(move || assert_eq!(std::fs::read(&offer_path).unwrap(), offer_text)),
        case(
            "output: same file as --sbom",
            check(offer, image, &["--output", &report, "--sbom", &report]),
            &[2],
        )
        .naming("same file")
        .after({
            let report = report.clone();
            move || assert!(!Path::new(&report).exists(), "written anyway")
        }),
        case(
            "output: directory missing",
            check(offer, image, &["--output", &no_dir]),
            &[2],
        )
        .naming(&no_dir),
        case(
            "output: under a regular file",
            check(offer, image, &["--output", &under_file]),
            &[2],
        )
        .naming(&under_file),
        case(
            "output: /dev/null",
            check(offer, image, &["--output", "/dev/null"]),
            &[3],
        )
        .after(|| {
            let meta = std::fs::metadata("/dev/null").unwrap();
            assert!(meta.file_type().is_char_device(), "/dev/null was replaced");
        }),
        case(
            "output: a FIFO",
            check(offer, image, &["--output", &s(&fifo)]),
            &[3],
        )
        .after(move || {
            let meta = std::fs::symlink_metadata(&fifo_after).unwrap();
            assert!(meta.file_type().is_fifo(), "the FIFO was replaced");
            let read = read
                .recv_timeout(Duration::from_secs(10))
                .expect("the report was written to the FIFO");
            let v: serde_json::Value = serde_json::from_str(&read).unwrap();
            assert_eq!(
                v["verdict"], "incomplete",
                "the report went through the FIFO"
            );
        }),
    ]
}

#[test]
fn bad_input_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let (offer, layout) = example(dir.path());
    let (offer, image) = (s(&offer), format!("oci:{}", layout.display()));
    std::fs::write(dir.path().join("m.json"), "{}").unwrap();
    let mut cases = offers(dir.path(), &image);
    cases.extend(images(dir.path(), &offer, &layout));
    cases.extend(outputs(dir.path(), &offer, &image));
    cases.push(
        case(
            "threads: 100000",
            check(&offer, &image, &["--threads", "100000"]),
            &[2],
        )
        .naming("at most 256"),
    );
    cases.extend(routes(&s(&dir.path().join("m.json"))));
    cases.extend(registries(&offer, &image));
    run_table(cases);
}

/// Ctrl-C during `check --no-run` was ignored: the static pass ran to its end. Now SIGINT and
/// SIGTERM stop it promptly with 130/143, and its temporary directory is gone.
#[test]
fn ctrl_c_during_check_no_run_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (offer, layout) = big_example(dir.path(), 192);
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let tmp = dir.path().join(format!("tmp-{signal}"));
        std::fs::create_dir(&tmp).unwrap();
        let image = format!("oci:{}", layout.display());
        let args = check(&s(&offer), &image, &[]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // No result cache: the big layer must really be read.
        let env = [
            ("TMPDIR", tmp.to_str().unwrap()),
            ("EDGECERT_CACHE_DIR", ""),
        ];
        let child = spawn(&args, &env);
        let pid = child.id().to_string();
        // Midway: the run's temporary directory exists once the image is open.
        let started = std::time::Instant::now();
        while std::fs::read_dir(&tmp).unwrap().next().is_none() {
            assert!(started.elapsed() < LIMIT, "the run never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        sh("kill", &[&format!("-{signal}"), &pid]);
        let sent = std::time::Instant::now();
        let r = common::finish(child, LIMIT);
        r.assert_sane(&format!("SIG{signal}"));
        assert_eq!(r.code, Some(code), "SIG{signal}: {}", r.stderr);
        assert!(
            sent.elapsed() < Duration::from_secs(10),
            "SIG{signal}: took {:?} to stop",
            sent.elapsed()
        );
        assert!(
            r.stderr.contains(&format!("interrupted by SIG{signal}")),
            "{}",
            r.stderr
        );
        assert!(
            r.stdout.is_empty(),
            "no report after an interrupt: {}",
            r.stdout
        );
        let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
        assert!(left.is_empty(), "SIG{signal}: left {left:?}");
    }
}

/// `--output` replaced whatever was at the path with a regular 0600 file: a symlink lost its
/// target, and the mode ignored the umask. Now a symlinked report file stays a symlink (its
/// target is replaced atomically) and a new file gets 0666 less the umask.
#[test]
fn output_replaces_symlinks_and_ignores_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let (offer, layout) = example(dir.path());
    let target = dir.path().join("real-report.json");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("report.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let fresh = dir.path().join("fresh.json");
    let script = format!(
        "umask 027; exec \"$0\" check --no-run --format json --offer '{}' --image 'oci:{}' \
         --output '{}' --sbom '{}'",
        offer.display(),
        layout.display(),
        link.display(),
        fresh.display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script, env!("CARGO_BIN_EXE_edgecert")])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_symlink(), "the symlink was replaced");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(v["verdict"], "incomplete");
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "{mode:o}");
    // Nothing else was left in the directory (no temporary files).
    let stray: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".edgecert-") || n.starts_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

/// `--output FIFO` with nobody reading: the write waits for a reader (as a shell redirection
/// does), and since we catch SIGINT for the whole run, Ctrl-C would have been swallowed there
/// and the wait endless. It now ends with 130, and the FIFO is still a FIFO.
#[test]
fn ctrl_c_while_output_fifo_has_no_reader_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let (offer, layout) = example(dir.path());
    let fifo = dir.path().join("report.fifo");
    mkfifo(&fifo);
    let image = format!("oci:{}", layout.display());
    let args = check(&s(&offer), &image, &["--output", &s(&fifo)]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = spawn(&args, &[]);
    let pid = child.id().to_string();
    // The run itself takes about a second; then it waits for a reader.
    std::thread::sleep(Duration::from_secs(4));
    sh("kill", &["-INT", &pid]);
    let r = common::finish(child, Duration::from_secs(20));
    r.assert_sane("SIGINT while waiting for a FIFO reader");
    assert_eq!(r.code, Some(130), "{}", r.stderr);
    assert!(r.stderr.contains("interrupted by SIGINT"), "{}", r.stderr);
    let meta = std::fs::symlink_metadata(&fifo).unwrap();
    assert!(meta.file_type().is_fifo());
}
