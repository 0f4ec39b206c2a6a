//! The offer written by `edgecert init`: complete and valid, so that every offer-only check
//! passes on it as written and a partner only edits values.

/// A complete `offer.json` for a module named `module_name` (pretty JSON, trailing newline).
pub fn template(module_name: &str) -> String {
    let value = serde_json::json!({
        "schemaVersion": 1,
        "publisher": "contoso",
        "offer": module_name,
        "plan": "standard",
        "name": "Contoso Temperature Filter",
        "summary": "Drops implausible temperature readings at the edge",
        "description": "<p>Filters temperature telemetry on the device and forwards only plausible readings to IoT Hub.</p><ul><li>Configurable threshold</li><li>Runs on amd64 and arm32v7</li></ul>",
        "subCategory": "analytics",
        "useCase": "Factory lines send machine temperature readings through IoT Edge; this module drops sensor glitches before they reach the cloud, saving bandwidth and alert noise.",
        "image": {
            "repository": format!("registry.example.com/contoso/{module_name}"),
            "defaultTag": "1.0",
            "tags": ["1.0.0", "1.0", "latest"],
            "platforms": ["linux/amd64", "linux/arm/v7"]
        },
        "defaults": {
            "moduleName": module_name,
            "createOptions": {},
            "env": { "LOG_LEVEL": "info" },
            "twin": { "threshold": 45 },
            "routes": {
                "toUpstream": format!("FROM /messages/modules/{module_name}/outputs/* INTO $upstream")
            }
        },
        "documentation": {
            "url": "https://contoso.example/docs/tempfilter",
            "env": { "LOG_LEVEL": "trace|debug|info|warn|error" },
            "twin": { "threshold": "Readings above this (deg C) are dropped" },
            "routes": { "toUpstream": "Sends filtered readings to IoT Hub" }
        },
        "legal": {
            "termsOfUseUrl": "https://contoso.example/terms",
            "privacyPolicyUrl": "https://contoso.example/privacy",
            "thirdPartyNoticeUrl": "https://contoso.example/notices"
        },
        "support": [
            { "type": "email", "value": "iot-support@contoso.example" },
            { "type": "url", "value": "https://contoso.example/support" }
        ]
    });
    let mut text = serde_json::to_string_pretty(&value).expect("a literal serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn template_parses_strictly() {
        let offer = crate::offer::Offer::parse(&super::template("tempfilter"), "t").unwrap();
        assert_eq!(
            offer.identifier().as_deref(),
            Some("contoso.tempfilter.standard")
        );
    }
}
