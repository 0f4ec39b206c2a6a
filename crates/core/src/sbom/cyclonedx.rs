//! CycloneDX 1.5 JSON rendering of an [`Inventory`] (`edgecert check --sbom FILE`).
//!
//! The document is deterministic: no timestamp, components in inventory order, and a
//! `serialNumber` derived from the image digest (a name-based UUID laid out as RFC 9562
//! version 8, from SHA-256), so the same image always yields the same bytes. Each component
//! carries `edgecert:platform` and `edgecert:location` properties; licenses are given by name,
//! as declared. Written with `serde_json::json!`, like the SARIF renderer: a small fixed subset
//! of the standard, easy to review against the schema (which a test validates it with).

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::{Entry, Inventory};

pub const SPEC_VERSION: &str = "1.5";

/// `urn:uuid:…` for the image: SHA-256 of `edgecert-sbom:<digest>`, version and variant bits set.
pub fn serial_number(subject: &str) -> String {
    let hash = Sha256::digest(format!("edgecert-sbom:{subject}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn component(e: &Entry) -> Value {
    let c = &e.component;
    let mut v = json!({ "type": "library", "bom-ref": e.bom_ref });
    if let Some(g) = &c.group {
        v["group"] = json!(g);
    }
    v["name"] = json!(c.name);
    if let Some(version) = &c.version {
        v["version"] = json!(version);
    }
    if !c.licenses.is_empty() {
        v["licenses"] = c
            .licenses
            .iter()
            .map(|l| json!({ "license": { "name": l } }))
            .collect();
    }
    if let Some(purl) = &e.purl {
        v["purl"] = json!(purl);
    }
    let properties: Vec<Value> = e
        .platforms
        .iter()
        .map(|p| json!({ "name": "edgecert:platform", "value": p }))
        .chain(
            e.locations
                .iter()
                .map(|l| json!({ "name": "edgecert:location", "value": l })),
        )
        .collect();
    v["properties"] = Value::Array(properties);
    v
}

/// The CycloneDX document.
pub fn document(inv: &Inventory) -> Value {
    let subject = inv.digest.as_deref().unwrap_or(&inv.name);
    let mut image = json!({
        "type": "container",
        "bom-ref": "edgecert:image",
        "name": inv.name,
    });
    if let Some(d) = &inv.digest {
        image["version"] = json!(d);
    }
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial_number(subject),
        "version": 1,
        "metadata": {
            "tools": {
                "components": [{
                    "type": "application",
                    "name": "edgecert",
                    "version": env!("CARGO_PKG_VERSION"),
                }]
            },
            "component": image,
        },
        "components": inv.components.iter().map(component).collect::<Vec<_>>(),
    })
}

/// The document as pretty JSON with a final newline.
pub fn render(inv: &Inventory) -> String {
    let mut s = serde_json::to_string_pretty(&document(inv)).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_numbers_are_stable_uuids() {
        let a = serial_number("sha256:00");
        assert_eq!(a, serial_number("sha256:00"));
        assert_ne!(a, serial_number("sha256:01"));
        let uuid = a.strip_prefix("urn:uuid:").unwrap();
        let parts: Vec<&str> = uuid.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('8'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn empty_inventory_renders() {
        let v = document(&Inventory {
            name: "m".into(),
            ..Default::default()
        });
        assert_eq!(v["components"], json!([]));
        assert_eq!(v["metadata"]["component"]["name"], "m");
    }
}
