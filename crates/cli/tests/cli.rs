//! The CLI's public behaviour (spec/interfaces.md): subcommands, formats, exit codes, and the
//! offer errors that stop a run with a JSON path.

mod common;

use common::*;
use serde_json::{Value, json};

#[test]
fn init_writes_a_valid_offer_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&["init", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let offer = dir.path().join("offer.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&offer).unwrap()).unwrap();
    assert_eq!(v["schemaVersion"], 1);
    let again = run(&["init", dir.path().to_str().unwrap()]);
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("exists; use --force"),
        "{}",
        again.stderr
    );
    assert_eq!(
        run(&["init", "--force", dir.path().to_str().unwrap()]).code,
        0
    );
}

#[test]
fn good_module_passes_with_every_check_once_in_catalogue_order() {
    let dir = tempfile::tempdir().unwrap();
    let (offer, layout) = example(dir.path());
    let image = format!("oci:{}", layout.display());
    let r = run(&[
        "check",
        "--offer",
        offer.to_str().unwrap(),
        "--image",
        &image,
        "--format",
        "json",
        // The real ingestion test on Moby (amd64 native, arm/v7 under qemu), short window.
        "--run-window",
        "3",
    ]);
    if r.code == 3 && !edgecert_fixtures::services::required() {
        eprintln!("skipping: no Moby engine here (scripts/setup.sh starts dockerd)");
        return;
    }
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["reportVersion"], 1);
    assert_eq!(
        v["module"],
        json!({"identifier": "contoso.tempfilter.standard", "moduleName": "tempfilter"})
    );
    let ids: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let catalogue = run(&["checks"]).stdout;
    let listed: Vec<&str> = catalogue
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(ids, listed);
    assert_eq!(
        v["review"],
        json!(["EC906: a reviewer judges whether this is a real-world IoT Edge use case"])
    );
    let platforms: Vec<&str> = v["image"]["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm/v7"]);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "reportVersion",
            "tool",
            "policy",
            "verdict",
            "module",
            "image",
            "engines",
            "checks",
            "review",
            "sbom",
            "ingestion",
            "durationMs"
        ]
    );
}

#[test]
fn partner_mistakes_are_findings_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let (offer, layout) = example(dir.path());
    edit_offer(&offer, |v| {
        v["image"]["defaultTag"] = "".into();
        v["support"] = json!([]);
        v["name"] = "x".repeat(201).into();
    });
    let image = format!("oci:{}", layout.display());
    let r = run(&[
        "check",
        "--no-run",
        "--offer",
        offer.to_str().unwrap(),
        "--image",
        &image,
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("FAIL   EC102 default-tag"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("at offer.json: image.defaultTag"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("docs: edgecert explain EC904"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("verdict FAIL: 3 blocking failure(s)"),
        "{}",
        r.stdout
    );
}

#[test]
fn unreadable_offers_stop_with_exit_2_and_a_json_path() {
    let dir = tempfile::tempdir().unwrap();
    let (offer, layout) = example(dir.path());
    let image = format!("oci:{}", layout.display());
    edit_offer(&offer, |v| v["defaults"]["twinn"] = json!({}));
    let r = run(&[
        "check",
        "--no-run",
        "--offer",
        offer.to_str().unwrap(),
        "--image",
        &image,
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("at $.defaults.twinn: unknown field `twinn`"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
    std::fs::write(&offer, "{ \"name\": ").unwrap();
    let r = run(&[
        "check",
        "--no-run",
        "--offer",
        offer.to_str().unwrap(),
        "--image",
        &image,
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("not valid JSON at line 1"),
        "{}",
        r.stderr
    );
    let r = run(&[
        "check",
        "--no-run",
        "--offer",
        "/nonexistent/offer.json",
        "--image",
        &image,
    ]);
    assert_eq!(r.code, 2);
    let r = run(&[
        "check",
        "--no-run",
        "--offer",
        offer.to_str().unwrap(),
        "--image",
        "oci:/nonexistent/layout",
    ]);
    assert_eq!(r.code, 2);
}

#[test]
fn missing_image_source_is_exit_2_not_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let (offer, _) = example(dir.path());
    let r = run(&[
        "check",
        "--no-run",
        "--offer",
        offer.to_str().unwrap(),
        "--image",
        "oci:/nonexistent/layout",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("is not a directory"), "{}", r.stderr);
    let r = run(&[
        "check",
        "--no-run",
        "--offer",
        offer.to_str().unwrap(),
        "--image",
        "ftp:x",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown transport"), "{}", r.stderr);
}

#[test]
fn sarif_and_junit_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let (offer, layout) = example(dir.path());
    edit_offer(&offer, |v| {
        v["legal"]["privacyPolicyUrl"] = "http://insecure.example".into()
    });
    let image = format!("oci:{}", layout.display());
    let sarif_path = dir.path().join("r.sarif");
    let r = run(&[
        "check",
        "--no-run",
        "--offer",
        offer.to_str().unwrap(),
        "--image",
        &image,
        "--format",
        "sarif",
        "--output",
        sarif_path.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty(), "--output keeps stdout empty");
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif_path).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), run(&["checks"]).stdout.lines().count() - 1);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let ec902 = results.iter().find(|r| r["ruleId"] == "EC902").unwrap();
    assert_eq!(ec902["level"], "error");
    let physical = &ec902["locations"][0]["physicalLocation"];
    let uri = physical["artifactLocation"]["uri"].as_str().unwrap();
    assert!(
        uri.starts_with("file:///") && uri.ends_with("/offer.json"),
        "the offer path as given: {uri}"
    );
    assert!(physical["region"]["startLine"].as_u64().unwrap() > 1);
    // What the CLI wrote, not only what the renderer makes of a sample, is valid SARIF 2.1.0.
    if let Some(schema) = edgecert_fixtures::schemas::sarif_schema() {
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&sarif)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let r = run(&[
        "check",
        "--no-run",
        "--offer",
        offer.to_str().unwrap(),
        "--image",
        &image,
        "--format",
        "junit",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.starts_with("<?xml"), "{}", r.stdout);
    assert!(
        r.stdout.contains("<testsuite name=\"legal\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("<failure message=\"legal.privacyPolicyUrl is not an https URL\""),
        "{}",
        r.stdout
    );
}

#[test]
fn hostile_file_names_cannot_drive_the_terminal_or_break_the_xml() {
    // A file name that would retitle the terminal, clear the screen, fake a report line and
    // read backwards; the file is the EICAR test file so EC807 names it in a finding.
    const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    let name = "app/\x1b]0;owned\x07\x1b[2J\n  pass  EC807 fake\u{202e}gpj.exe";
    let dir = tempfile::tempdir().unwrap();
    let (offer, _) = example(dir.path());
    let mut spec = example_spec();
    for p in &mut spec.platforms {
        p.layers
            .push(edgecert_fixtures::Layer::new().file(name, EICAR.to_vec(), 0o644));
    }
    let layout = dir.path().join("hostile");
    edgecert_fixtures::write_oci_layout(&layout, &spec).unwrap();
    let image = format!("oci:{}", layout.display());
    let check = |format: &str| {
        let r = run(&[
            "check",
            "--no-run",
            "--offer",
            offer.to_str().unwrap(),
            "--image",
            &image,
            "--format",
            format,
        ]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        r.stdout
    };
    for format in ["human", "junit"] {
        let out = check(format);
        assert!(out.contains("EICAR"), "{format}: {out}");
        assert!(
            out.contains(
                "app/\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{a}  pass  EC807 fake\\u{202e}gpj.exe"
            ),
            "{format}: {out}"
        );
        let hidden: Vec<char> = out
            .chars()
            .filter(|&c| (c.is_control() && c != '\n') || c == '\u{202e}')
            .collect();
        assert!(hidden.is_empty(), "{format} carries {hidden:?}");
        assert!(
            !out.contains("\n  pass  EC807 fake"),
            "{format}: a faked line"
        );
    }
    // JSON keeps the exact name (escaped by JSON itself).
    let v: Value = serde_json::from_str(&check("json")).unwrap();
    let ec807 = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "EC807")
        .unwrap();
    let at = ec807["findings"][0]["location"].as_str().unwrap();
    assert!(at.ends_with(name), "{at}");
}

#[test]
fn policy_and_severity_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let (offer, layout) = example(dir.path());
    edit_offer(&offer, |v| {
        v["legal"]["termsOfUseUrl"] = "http://x.example".into()
    });
    let image = format!("oci:{}", layout.display());
    let o = offer.to_str().unwrap();
    assert_eq!(
        run(&["check", "--offer", o, "--image", &image, "--no-run"]).code,
        1
    );
    let r = run(&[
        "check", "--offer", o, "--image", &image, "--allow", "ec901", "--format", "json",
        "--no-run",
    ]);
    // Nothing blocking fails any more; the ingestion test was not run: incomplete.
    assert_eq!(r.code, 3, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let ec901 = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "EC901")
        .unwrap();
    assert_eq!(
        (ec901["severity"].as_str(), ec901["status"].as_str()),
        (Some("info"), Some("fail"))
    );
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "id = \"contoso-ci\"\nversion = \"7\"\n[severity]\nEC901 = \"warning\"\n",
    )
    .unwrap();
    let r = run(&[
        "check",
        "--no-run",
        "--offer",
        o,
        "--image",
        &image,
        "--policy",
        policy.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["policy"], json!({"id": "contoso-ci", "version": "7"}));
    let r = run(&["check", "--offer", o, "--image", &image, "--deny", "EC999"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown check id"), "{}", r.stderr);
}

#[test]
fn explain_renders_the_checks_own_docs() {
    let r = run(&["explain", "ec203"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.starts_with("EC203 binaries-match-platform\n"),
        "{}",
        r.stdout
    );
    for s in ["What it checks", "Why it matters", "Example", "How to fix"] {
        assert!(r.stdout.contains(s), "{s}: {}", r.stdout);
    }
    assert_eq!(run(&["explain", "EC000"]).code, 2);
}

#[test]
fn offer_schema_matches_the_parser() {
    let r = run(&["schema", "offer"]);
    assert_eq!(r.code, 0);
    let schema: Value = serde_json::from_str(&r.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run(&["init", dir.path().to_str().unwrap()]).code, 0);
    let offer: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("offer.json")).unwrap())
            .unwrap();
    assert!(validator.is_valid(&offer), "the init template validates");
    // What the parser refuses, the schema refuses: unknown keys and wrong types.
    for bad in [
        json!({"publisherr": "x"}),
        json!({"image": {"tags": [1]}}),
        json!({"defaults": {"env": {"A": []}}}),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
    // Omissions and bad values are findings, not schema errors.
    assert!(validator.is_valid(&json!({"name": "", "support": []})));
    let r = run(&["schema", "report"]);
    let report_schema: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(report_schema["properties"]["checks"].is_object());
}

/// Issue 8 item 8: a route of ~6,000 nested parentheses or ~18,700 chained terms overflowed
/// the stack (abort, exit 134) in `route test` and in `check`.
#[test]
fn hostile_routes_are_diagnostics_not_stack_overflows() {
    let dir = tempfile::tempdir().unwrap();
    let message = dir.path().join("m.json");
    std::fs::write(&message, "{}").unwrap();
    let parens = format!(
        "FROM /messages/* WHERE {}true{} INTO $upstream",
        "(".repeat(6000),
        ")".repeat(6000)
    );
    let chain = format!(
        "FROM /messages/* WHERE {} INTO $upstream",
        vec!["a"; 18_700].join(" AND ")
    );
    for route in [&parens, &chain] {
        let r = run(&[
            "route",
            "test",
            "--route",
            route,
            "--message",
            message.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("at most 4096 bytes"), "{}", r.stderr);
        assert!(r.stderr.len() < 2000, "the route is not echoed whole");
    }

    let (offer, layout) = example(dir.path());
    edit_offer(&offer, |v| {
        v["defaults"]["routes"]["deep"] = parens.clone().into();
        v["defaults"]["routes"]["long"] = chain.clone().into();
    });
    let r = run(&[
        "check",
        "--no-run",
        "--offer",
        offer.to_str().unwrap(),
        "--image",
        &format!("oci:{}", layout.display()),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let ec105 = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "EC105")
        .unwrap();
    assert_eq!(ec105["status"], "fail");
    let findings = ec105["findings"].as_array().unwrap();
    for name in ["deep", "long"] {
        assert!(
            findings.iter().any(
                |f| f["location"] == format!("offer.json: defaults.routes.{name}")
                    && f["message"].as_str().unwrap().contains("4096 bytes")
            ),
            "{findings:#?}"
        );
    }
}

/// Issue 8 item 7: `--published` errors were read as "tag absent" and EC603 passed. A
/// registry that cannot be asked stops the run (exit 2) with the cause.
#[test]
fn unreachable_published_registry_is_exit_2_not_an_ec603_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (offer, layout) = example(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let published = format!("docker://127.0.0.1:{port}/contoso/tempfilter");
    let r = run(&[
        "check",
        "--no-run",
        "--offer",
        offer.to_str().unwrap(),
        "--image",
        &format!("oci:{}", layout.display()),
        "--published",
        &published,
        "--tls-verify=false",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.is_empty(), "no report: {}", r.stdout);
    assert!(
        r.stderr.contains(&published[9..])
            && r.stderr.to_lowercase().contains("connection refused"),
        "{}",
        r.stderr
    );
}
