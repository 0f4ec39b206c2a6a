//! The web pages in a real browser: Debian's Chromium, headless, driven through ChromeDriver's
//! W3C WebDriver API (spoken here directly over HTTP), against a running `edgecert serve` with
//! a real submission certified on Moby. A reviewer signs in and approves from the evidence
//! page; the publisher signs in, finds the preview in the portal and takes it live with the
//! button; an anonymous visitor finds the module in the catalog and on its page, where the
//! description's `<script>`, `onerror=` and `javascript:` payloads are inert (asserted in the
//! browser); a form posted without its CSRF token is refused; the keyboard reaches the
//! actions. Screenshots of each page at desktop and phone width go to
//! `target/screenshots/`.
//!
//! Deliberately panicking: these are test assertions.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Serve, available, edit_offer, example_spec, have_command, run, serve_with};
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

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        );
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})));
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

#[test]
fn each_role_walks_its_path_in_a_real_browser() {
    let have = available(
        "chromium + chromedriver",
        have_command("chromedriver") && Path::new("/usr/bin/chromium").exists(),
    ) && available("docker (Moby)", have_command("docker"))
        && available("curl", have_command("curl"));
    if !have {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let publisher = account(
        &data,
        &["create-publisher", "contoso"],
        "contoso-password-1",
    );
    account(&data, &["create-reviewer", "rita"], "rita-password-12");
    // The operator relaxed EC502 to a warning: the page's own sanitizer is what protects
    // visitors, and this test holds it to that.
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[severity]\nEC502 = \"warning\"\n").unwrap();
    let server: Serve = serve_with(
        &data,
        &["--policy", policy.to_str().unwrap()],
        &[("EDGECERT_RUN_WINDOW", "3")],
    );
    let addr = server.addr.clone();

    let mut spec = example_spec();
    spec.tags = vec!["1.0.3".into(), "1.0".into(), "latest".into()];
    let layout = dir.path().join("image");
    write_oci_layout(&layout, &spec).unwrap();
    let module = dir.path().join("tempfilter");
    assert_eq!(run(&["init", module.to_str().unwrap()]).code, 0);
    let offer = module.join("offer.json");
    edit_offer(&offer, |o| {
        o["image"]["tags"] = json!(["1.0.3", "1.0", "latest"]);
        o["description"] = json!(
            "<p>Filters readings.</p><script>window.__xss = 1</script><img src=x onerror=\"window.__xss = 2\"><a href=\"javascript:window.__xss = 3\">more</a>"
        );
    });
    let r = Command::new(env!("CARGO_BIN_EXE_edgecert"))
        .args([
            "submit",
            "--offer",
            offer.to_str().unwrap(),
            "--image",
            &format!("oci:{}:1.0.3", layout.display()),
            "--wait",
        ])
        .env("EDGECERT_SERVER", format!("http://{addr}"))
        .env("EDGECERT_TOKEN", &publisher)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr).into_owned();
    assert_eq!(r.status.code(), Some(0), "{stderr}\n{}", server.logs());
    let id = stderr
        .split("submission ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .trim_end_matches(':')
        .to_owned();

    let b = Browser::start();
    // The reviewer: sign in, the queue, the evidence, approve.
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
    b.shoot("review-evidence");
    // Keyboard only: Tab until the approve button has the focus, then Enter.
    let mut focused = false;
    for _ in 0..60 {
        b.key("\u{E004}");
        if b.js("return document.activeElement ? document.activeElement.textContent.trim() : '';")
            == json!("Approve")
        {
            focused = true;
            break;
        }
    }
    assert!(focused, "Tab never reached the Approve button");
    b.key("\u{E007}");
    wait_state(&addr, &publisher, &id, "preview");
    b.click("header form button");

    // A form without its CSRF token is refused.
    sign_in(&b, &addr, "contoso", "contoso-password-1");
    assert!(b.url().ends_with("/portal"), "{}", b.url());
    b.shoot("portal");
    b.go(&format!("http://{addr}/portal/submissions/{id}"));
    b.shoot("submission-preview");
    b.js("document.querySelector(\"form[action$='/go-live'] input[name=csrf]\").remove();");
    b.click("form[action$='/go-live'] button");
    assert!(b.text("h1").contains("Not allowed"), "{}", b.text("body"));
    // With it, the button takes it live.
    b.go(&format!("http://{addr}/portal/submissions/{id}"));
    b.click("form[action$='/go-live'] button");
    wait_state(&addr, &publisher, &id, "live");

    // Anyone: the catalog, the module page, the payloads inert.
    b.click("header form button");
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
}
