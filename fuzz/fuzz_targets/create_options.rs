//! Fuzzes the createOptions parser (`edgecert_edge::create_options`) with arbitrary text: it
//! must never panic, every least-privilege helper must cope with whatever parsed, and the
//! minified form must survive chunking, unchunking and re-parsing unchanged. The same text is
//! also read as a module `settings` object, to fuzz unchunking of hostile chunk keys. Not
//! fuzzed here: the checks themselves (they only format what these helpers return).

#![no_main]

use edgecert_edge::create_options::{
    self, RUNTIME_MAX_CHUNKS, analysis, chunk, env, parse_str, unchunk,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(Some(c)) = parse_str(text) {
        let b = &c.body;
        let _ = analysis::privileged(b);
        let _ = analysis::added_capabilities(b);
        let _ = analysis::host_namespaces(b);
        let _ = analysis::host_mounts(b);
        let _ = analysis::devices(b);
        let _ = analysis::gpu_request(b);
        let _ = analysis::security_options(b);
        for p in analysis::host_ports(b) {
            let _ = (p.host_port.to_string(), p.host_port.lowest());
        }
        let _ = analysis::resources(b);
        let _ = analysis::reserved_labels(b);
        let _ = analysis::strings(&c.json);
        let _ = env::merge(
            &[],
            &env::RuntimeEnv::stand_in("m"),
            b.env.as_deref().unwrap_or_default(),
        );
        for i in &c.issues {
            let _ = i.location("defaults.createOptions");
        }

        let minified = c.minified();
        if let Ok(chunks) = chunk(&minified, RUNTIME_MAX_CHUNKS) {
            let mut settings = Map::new();
            for ch in chunks {
                settings.insert(ch.key, Value::String(ch.value));
            }
            let back = unchunk(&settings).expect("our own chunks unchunk");
            assert_eq!(back, minified);
            let again = parse_str(&back)
                .expect("minified createOptions parses")
                .expect("and is not empty");
            assert_eq!(again.body, c.body);
            // Paths and levels, not messages: serde_json's default float parsing is not
            // correctly rounded, so a 120-digit literal and its minified form can differ in the
            // last bit, and type-error messages print the float.
            let shape = |issues: &[create_options::Issue]| -> Vec<(create_options::Level, String)> {
                issues.iter().map(|i| (i.level, i.path.clone())).collect()
            };
            assert_eq!(shape(&again.issues), shape(&c.issues));
        }
    }
    if let Ok(Value::Object(settings)) = serde_json::from_str::<Value>(text) {
        if let Ok(joined) = unchunk(&settings) {
            let _ = create_options::parse_str(&joined);
        }
    }
});
