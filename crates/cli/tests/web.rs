//! The web pages in a real browser: Debian's Chromium, headless, driven through ChromeDriver's
//! W3C WebDriver API (spoken here directly over HTTP), against a running `edgecert serve` with
//! a real submission certified on Moby. The admin makes the publisher and reviewer accounts
//! and a policy version; the publisher makes an offer, sees the checks' findings beside the
//! fields in the editor, pushes the image with skopeo, submits from the browser and watches
//! live progress; a reviewer approves from the evidence page with the keyboard; the publisher
//! takes the preview live with the button; an anonymous visitor finds the module in the
//! catalog and on its page, where the description's `<script>`, `onerror=` and `javascript:`
//! payloads are inert (asserted in the browser); a stricter policy version lands in the
//! publisher's inbox; a form posted without its CSRF token is refused. Screenshots of each page at desktop and phone width go to
//! `target/screenshots/`.
//!
//! Deliberately panicking: these are test assertions.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Serve, available, example_spec, have_command, run, serve_with};
use edgecert_fixtures::write_oci_layout;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session on a ChromeDriver of our own.
struct Browser {
    driver: std::process::Child,
    base: String,
    session: String,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.call("DELETE", "", None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut b = Browser {
            driver,
            base,
            session: String::new(),
            rt,
            http,
        };
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"]}
        }}});
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_owned();
        b
    }

    /// One WebDriver command; `path` after `/session/{id}` (or `/session` to create one).
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = if path == "/session" {
            format!("{}/session", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, url);
        if let Some(b) = body {
            req = req.json(&b);
        } else if method == "POST" {
            req = req.json(&json!({}));
        }
        self.rt.block_on(async {
            let r = req.send().await.expect("webdriver answers");
            let v: Value = r.json().await.unwrap_or(Value::Null);
            v["value"].clone()
        })
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}\n{}", self.text("body")))
            .to_owned()
    }

    fn text(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        match v[ELEMENT].as_str() {
            Some(e) => self
                .call("GET", &format!("/element/{e}/text"), None)
                .as_str()
                .unwrap_or("")
                .to_owned(),
            None => String::new(),
        }
    }

    fn clear(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/clear"), Some(json!({})));
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        );
    }

    /// Clicks something that loads a page (a link, a form's button) and waits until the new
    /// document has loaded: WebDriver does not wait for a form submission's navigation.
    fn click(&self, css: &str) {
        let e = self.find(css);
        self.navigating(|| {
            self.call("POST", &format!("/element/{e}/click"), Some(json!({})));
        });
    }

    /// Runs `act`, which navigates, and waits for the next document to be loaded.
    fn navigating(&self, act: impl FnOnce()) {
        self.js("window.__edgecertOld = true;");
        act();
        let started = Instant::now();
        loop {
            let v = self.js(
                "return window.__edgecertOld === undefined && document.readyState === 'complete';",
            );
            if v == json!(true) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no new page loaded after the action; still at {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn js(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Presses and releases one key (WebDriver key codes: Tab U+E004, Enter U+E007).
    fn key(&self, key: &str) {
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]});
        self.call("POST", "/actions", Some(actions));
    }

    fn url(&self) -> String {
        self.call("GET", "/url", None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Screenshots of the page at desktop and phone width.
    fn shoot(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        for (label, w, h) in [("desktop", 1280, 900), ("phone", 390, 844)] {
            self.call(
                "POST",
                "/window/rect",
                Some(json!({"width": w, "height": h})),
            );
            let png = self.call("GET", "/screenshot", None);
            let bytes = base64_decode(png.as_str().unwrap_or(""));
            assert!(bytes.starts_with(b"\x89PNG"), "{name} {label}: not a PNG");
            std::fs::write(dir.join(format!("{name}-{label}.png")), bytes).unwrap();
            // Nothing wider than the window at phone width.
            if label == "phone" {
                let overflow =
                    self.js("return document.documentElement.scrollWidth > window.innerWidth + 1;");
                assert_eq!(overflow, json!(false), "{name}: wider than a phone");
            }
        }
        self.call(
            "POST",
            "/window/rect",
            Some(json!({"width": 1280, "height": 900})),
        );
    }
}

/// Text on the page whose contrast with its background is under WCAG AA (4.5:1; 3:1 for large
/// text), as `text (ratio)` strings: colours as the browser computed them, the background the
/// nearest ancestor's that is not transparent.
const CONTRAST: &str = r#"
function rgb(c) { var m = c.match(/[\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; }
function lum(c) { var f = function (v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); }
function bg(e) { for (; e; e = e.parentElement) { var c = rgb(getComputedStyle(e).backgroundColor); if (c.a > 0) return c; } return {r: 255, g: 255, b: 255, a: 1}; }
var bad = [];
document.querySelectorAll('body *').forEach(function (e) {
  var own = Array.from(e.childNodes).some(function (n) { return n.nodeType === 3 && n.textContent.trim(); });
  if (!own || !e.getClientRects().length) return;
  var s = getComputedStyle(e), a = lum(rgb(s.color)), b = lum(bg(e));
  var ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  var large = parseFloat(s.fontSize) >= 24 || (parseFloat(s.fontSize) >= 18.66 && Number(s.fontWeight) >= 700);
  if (ratio < (large ? 3 : 4.5)) bad.push(e.textContent.trim().slice(0, 40) + ' (' + ratio.toFixed(2) + ')');
});
return bad;
"#;

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap_or_default()
}

fn account(data: &Path, args: &[&str], password: &str) -> String {
    let mut all = vec!["admin", "--data", data.to_str().unwrap()];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let name = args[1];
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgecert"))
        .args([
            "admin",
            "--data",
            data.to_str().unwrap(),
            "set-password",
            name,
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    r.stdout.trim().to_owned()
}

fn sign_in(b: &Browser, addr: &str, name: &str, password: &str) {
    b.go(&format!("http://{addr}/login"));
    b.type_into("#name", name);
    b.type_into("#password", password);
    b.click("form[action='/login'] button");
}

fn wait_state(addr: &str, token: &str, id: &str, state: &str) {
    let started = Instant::now();
    loop {
        let out = Command::new("curl")
            .args([
                "-sS",
                "-H",
                &format!("Authorization: Bearer {token}"),
                &format!("http://{addr}/api/v1/submissions/{id}"),
            ])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        if v["state"] == state {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "waiting for {state}: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Polls the page until `css`'s text contains `needle` (live progress, background jobs).
fn wait_text(b: &Browser, css: &str, needle: &str, reload: bool, limit: Duration) {
    let started = Instant::now();
    loop {
        if b.text(css).contains(needle) {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{css} never showed {needle:?}: {}",
            b.text("body")
        );
        std::thread::sleep(Duration::from_millis(300));
        if reload {
            b.call("POST", "/refresh", None);
        }
    }
}

#[test]
fn each_role_walks_its_path_in_a_real_browser() {
    let have = available(
        "chromium + chromedriver",
        have_command("chromedriver") && Path::new("/usr/bin/chromium").exists(),
    ) && available("docker (Moby)", have_command("docker"))
        && available("skopeo", have_command("skopeo"))
        && available("curl", have_command("curl"));
    if !have {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    account(&data, &["create-admin", "ada"], "ada-password-123");
    let server: Serve = serve_with(&data, &[], &[("EDGECERT_RUN_WINDOW", "3")]);
    let addr = server.addr.clone();
    let b = Browser::start();

    // The admin: accounts for a publisher and a reviewer, and a policy version in effect
    // today that relaxes EC502 to a warning (the page's own sanitizer is what protects
    // visitors, and this test holds it to that).
    sign_in(&b, &addr, "ada", "ada-password-123");
    assert!(b.url().ends_with("/admin"), "{}", b.url());
    b.shoot("admin");
    b.type_into("#pub-name", "contoso");
    b.type_into("#pub-password", "contoso-password-1");
    b.click("form[action='/admin/publishers'] button");
    let created = b.text("main");
    assert!(created.contains("Publisher contoso exists"), "{created}");
    let publisher = created
        .split("docker login): ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap()
        .to_owned();
    b.go(&format!("http://{addr}/admin"));
    b.type_into("#rev-name", "rita");
    b.type_into("#rev-password", "rita-password-12");
    b.click("form[action='/admin/reviewers'] button");
    assert!(b.text("main").contains("Reviewer rita exists"));
    b.go(&format!("http://{addr}/admin"));
    // A policy that does not parse is refused, naming what is wrong.
    b.type_into("#pol-version", "2026.12");
    b.type_into("#pol-effective", "2026-01-01");
    b.type_into("#pol-text", "[severity]\nEC999 = \"warning\"\n");
    b.click("form[action='/admin/policies'] button");
    assert!(
        b.js("return document.title;")
            .as_str()
            .unwrap()
            .starts_with("Error:")
    );
    assert!(
        b.text(".error-summary").contains("EC999"),
        "{}",
        b.text("main")
    );
    b.type_into("#pol-version", "2026.12");
    b.type_into("#pol-effective", "2026-01-01");
    b.type_into("#pol-text", "[severity]\nEC502 = \"warning\"\n");
    b.click("form[action='/admin/policies'] button");
    assert!(
        b.text("h1").contains("Policy 2026.12 published"),
        "{}",
        b.text("main")
    );
    b.go(&format!("http://{addr}/admin"));
    assert!(b.text("main").contains("in effect"), "{}", b.text("main"));
    b.click("header form button");

    // The publisher: a new offer, the editor's findings beside their fields, the image pushed
    // to staging by a real client, the submission from the browser, live progress.
    sign_in(&b, &addr, "contoso", "contoso-password-1");
    assert!(b.url().ends_with("/portal"), "{}", b.url());
    b.click("a[href='/portal/offers/new']");
    b.shoot("offer-new");
    b.type_into("#offer", "tempfilter");
    b.click("form[action='/portal/offers/new'] button");
    assert!(
        b.url()
            .ends_with("/portal/offers/contoso.tempfilter.standard"),
        "{}",
        b.url()
    );
    // No terms of use: EC901's finding lands next to that field.
    b.clear("#f-legal-termsOfUseUrl");
    b.clear("#f-image-tags");
    b.type_into("#f-image-tags", "1.0.3\n1.0\nlatest");
    b.clear("#f-description");
    b.type_into(
        "#f-description",
        "<p>Filters readings.</p><script>window.__xss = 1</script><img src=x onerror=\"window.__xss = 2\"><a href=\"javascript:window.__xss = 3\">more</a>",
    );
    b.click("form[action='/portal/offers/contoso.tempfilter.standard'] button");
    assert!(b.text("#saved").contains("saved"), "{}", b.text("main"));
    let terms = b.text("#f-legal-termsOfUseUrl-group");
    assert!(terms.contains("EC901"), "{terms}");
    assert!(
        !b.text("#f-name-group").contains("EC9"),
        "{}",
        b.text("#f-name-group")
    );
    b.shoot("offer-editor-findings");
    // JSON that does not parse: not saved, the error beside the field and in the summary.
    b.clear("#f-defaults");
    b.type_into("#f-defaults", "{\"moduleName\": ");
    b.click("form[action='/portal/offers/contoso.tempfilter.standard'] button");
    assert!(
        b.js("return document.title;")
            .as_str()
            .unwrap()
            .starts_with("Error:"),
        "{}",
        b.text("main")
    );
    assert!(b.text("#f-defaults-error").contains("not JSON"));
    assert!(b.text(".error-summary").contains("Defaults"));
    // Put right: terms back, the defaults as they were.
    b.go(&format!(
        "http://{addr}/portal/offers/contoso.tempfilter.standard"
    ));
    assert!(b.text("#f-legal-termsOfUseUrl-group").contains("EC901"));
    b.type_into("#f-legal-termsOfUseUrl", "https://contoso.example/terms");
    b.click("form[action='/portal/offers/contoso.tempfilter.standard'] button");
    assert!(
        !b.text("#f-legal-termsOfUseUrl-group").contains("EC901"),
        "{}",
        b.text("#f-legal-termsOfUseUrl-group")
    );
    let mut spec = example_spec();
    spec.tags = vec!["1.0.3".into(), "1.0".into(), "latest".into()];
    let layout = dir.path().join("image");
    write_oci_layout(&layout, &spec).unwrap();
    let copy = Command::new("skopeo")
        .args([
            "copy",
            "--all",
            "--quiet",
            "--dest-tls-verify=false",
            "--dest-creds",
            &format!("contoso:{publisher}"),
            &format!("oci:{}:1.0.3", layout.display()),
            &format!("docker://{addr}/staging/contoso/tempfilter:1.0.3"),
        ])
        .output()
        .unwrap();
    assert!(
        copy.status.success(),
        "{}",
        String::from_utf8_lossy(&copy.stderr)
    );
    b.type_into("#image", "staging/contoso/tempfilter:1.0.3");
    b.click("form[action$='/submit'] button");
    let id = b.url().rsplit('/').next().unwrap().to_owned();
    b.shoot("submission-progress");
    // Live progress: the state on the open page moves without a reload.
    wait_text(&b, "#state", "in-review", false, Duration::from_secs(240));
    assert!(
        b.text("#events").contains("state: certifying"),
        "{}",
        b.text("#events")
    );
    b.click("header form button");

    // The reviewer: the queue, the evidence, approve with the keyboard.
    sign_in(&b, &addr, "rita", "rita-password-12");
    assert!(b.url().ends_with("/review"), "{}", b.url());
    assert!(
        b.text("main").contains("contoso.tempfilter.standard"),
        "{}",
        b.text("main")
    );
    b.shoot("review-queue");
    b.click(&format!("a[href='/review/{id}']"));
    let evidence = b.text("main");
    assert!(
        evidence.contains("EC906") && evidence.contains("in-review"),
        "{evidence}"
    );
    let facts = b.text("#evidence-h + p + dl");
    assert!(
        facts.contains("Factory") || facts.contains("Use case"),
        "{facts}"
    );
    assert!(b.text("main").contains("new module"), "{}", b.text("main"));
    b.shoot("review-evidence");
    // Keyboard only: Tab until the approve button has the focus, then Enter.
    let mut focused = false;
    for _ in 0..80 {
        b.key("\u{E004}");
        if b.js("return document.activeElement ? document.activeElement.textContent.trim() : '';")
            == json!("Approve")
        {
            focused = true;
            break;
        }
    }
    assert!(focused, "Tab never reached the Approve button");
    b.navigating(|| b.key("\u{E007}"));
    wait_state(&addr, &publisher, &id, "preview");
    b.click("header form button");

    // A form without its CSRF token is refused.
    sign_in(&b, &addr, "contoso", "contoso-password-1");
    b.go(&format!("http://{addr}/portal/submissions/{id}"));
    b.shoot("submission-preview");
    b.js("document.querySelector(\"form[action$='/go-live'] input[name=csrf]\").remove();");
    b.click("form[action$='/go-live'] button");
    assert!(b.text("h1").contains("Not allowed"), "{}", b.text("body"));
    // With it, the button takes it live.
    b.go(&format!("http://{addr}/portal/submissions/{id}"));
    b.click("form[action$='/go-live'] button");
    wait_state(&addr, &publisher, &id, "live");
    b.click("header form button");

    // Anyone: the catalog, the module page, the payloads inert.
    b.go(&format!("http://{addr}/"));
    assert!(b.text("main").contains("Contoso"), "{}", b.text("main"));
    b.shoot("catalog-home");
    b.click("a[href='/modules/contoso.tempfilter.standard']");
    b.shoot("module-page");
    let page = b.text("main");
    assert!(
        page.contains("docker pull") && page.contains("1.0.3") && page.contains("rolling"),
        "{page}"
    );
    assert!(page.contains("Filters readings."), "{page}");
    let xss = b.js("return [typeof window.__xss, document.querySelectorAll('.description script, .description [onerror]').length, Array.from(document.querySelectorAll('.description a')).map(a => a.getAttribute('href'))];");
    assert_eq!(xss[0], "undefined", "a payload ran: {xss}");
    assert_eq!(xss[1], 0, "{xss}");
    assert!(!xss[2].to_string().contains("javascript:"), "{xss}");
    // The downloads chart: one bar a day for 30 days, drawn by the server.
    assert_eq!(
        b.js("return document.querySelectorAll('svg.chart rect').length;"),
        json!(30)
    );
    // The SBOM of the listed version, for anyone.
    let sbom = Command::new("curl")
        .args([
            "-sS",
            &format!("http://{addr}/modules/contoso.tempfilter.standard/sbom"),
        ])
        .output()
        .unwrap();
    let sbom: Value = serde_json::from_slice(&sbom.stdout).unwrap_or(Value::Null);
    assert_eq!(sbom["bomFormat"], "CycloneDX", "{sbom}");
    // Every link and button is reachable by Tab.
    let tabbable = b.js("return Array.from(document.querySelectorAll('a[href], button')).every(e => e.tabIndex >= 0);");
    assert_eq!(tabbable, json!(true));
    // Landmarks and a label on every input.
    let a11y = b.js("return [document.querySelectorAll('main, header, nav').length >= 3, Array.from(document.querySelectorAll('input:not([type=hidden]), textarea')).every(i => i.labels && i.labels.length > 0)];");
    assert_eq!(a11y, json!([true, true]));
    let size = b.js("return document.documentElement.outerHTML.length;");
    assert!(
        size.as_u64().unwrap() < 100 * 1024,
        "module page is {size} bytes"
    );
    assert_eq!(b.js(CONTRAST), json!([]), "under WCAG AA contrast");
    b.go(&format!("http://{addr}/"));
    assert_eq!(b.js(CONTRAST), json!([]), "under WCAG AA contrast");

    // A stricter policy version later on: the live version is re-certified against it and
    // the publisher's inbox says what fails and from when.
    sign_in(&b, &addr, "ada", "ada-password-123");
    b.type_into("#pol-version", "2030.1");
    b.type_into("#pol-effective", "2030-01-01");
    b.type_into("#pol-text", "requiredPlatforms = [\"linux/arm64\"]\n");
    b.click("form[action='/admin/policies'] button");
    assert!(
        b.text("main").contains("1 live version"),
        "{}",
        b.text("main")
    );
    b.click("header form button");
    sign_in(&b, &addr, "contoso", "contoso-password-1");
    wait_text(
        &b,
        "section[aria-labelledby=inbox-h]",
        "EC201",
        true,
        Duration::from_secs(120),
    );
    assert!(
        b.text("section[aria-labelledby=inbox-h]")
            .contains("2030-01-01"),
        "{}",
        b.text("section[aria-labelledby=inbox-h]")
    );
    b.shoot("portal-inbox");
    // Every page of the walk had labels on its inputs (checked here on the editor too).
    b.go(&format!(
        "http://{addr}/portal/offers/contoso.tempfilter.standard"
    ));
    let labelled = b.js("return Array.from(document.querySelectorAll('input:not([type=hidden]), textarea, select')).every(i => i.labels && i.labels.length > 0);");
    assert_eq!(labelled, json!(true));
    assert_eq!(b.js(CONTRAST), json!([]), "under WCAG AA contrast");
}
