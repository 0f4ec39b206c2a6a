//! Tests of the secrets analyzer: one positive case per kind, the placeholders that must not
//! fire, and streaming (any chunking finds exactly what a whole-buffer scan finds). Secret-like
//! values are generated from a fixed pseudo-random stream, so no literal token sits in the repo.

use base64::Engine as _;

use super::*;

/// Deterministic pseudo-random bytes.
pub use edgecert_fixtures::rng::incompressible as noise;

/// `len` characters of `alphabet`, pseudo-random.
pub fn token(alphabet: &str, len: usize, seed: u64) -> String {
    let a = alphabet.as_bytes();
    noise(len, seed)
        .iter()
        .map(|b| a[*b as usize % a.len()] as char)
        .collect()
}

pub const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
pub const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn b64(bytes: usize, seed: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(noise(bytes, seed))
}

fn pem_body(seed: u64) -> String {
    let der = b64(600, seed);
    der.as_bytes()
        .chunks(64)
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// One example of each kind, as it would appear in a file.
pub fn samples() -> Vec<(SecretKind, String)> {
    let key = b64(32, 1);
    let sig = b64(32, 2)
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    use SecretKind::*;
    vec![
        (
            IotHubDeviceConnectionString,
            format!("HostName=hub1.azure-devices.net;DeviceId=dev-01;SharedAccessKey={key}"),
        ),
        (
            IotHubConnectionString,
            format!(
                "HostName=hub1.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey={}",
                b64(32, 3)
            ),
        ),
        (
            ServiceBusConnectionString,
            format!(
                "Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={}",
                b64(32, 4)
            ),
        ),
        (SharedAccessKey, format!("SharedAccessKey={}", b64(64, 5))),
        (
            SasToken,
            format!(
                "SharedAccessSignature sr=hub1.azure-devices.net%2Fdevices%2Fdev-01&sig={sig}&se=1900000000"
            ),
        ),
        (
            StorageSasToken,
            format!(
                "https://acct1.blob.core.windows.net/c?sv=2022-11-02&ss=b&sp=rl&se=2030-01-01&sig={}",
                b64(32, 6).replace('+', "%2B").replace('/', "%2F")
            ),
        ),
        (
            StorageAccountKey,
            format!(
                "DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey={};EndpointSuffix=core.windows.net",
                b64(64, 7)
            ),
        ),
        (
            PrivateKey,
            format!(
                "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
                pem_body(8)
            ),
        ),
        (
            AwsAccessKeyId,
            format!("export AWS_ACCESS_KEY_ID=AKIA{}", token(UPPER, 16, 9)),
        ),
        (
            AwsAccessKeyPair,
            format!(
                "[default]\naws_access_key_id = ASIA{}\naws_secret_access_key = {}\n",
                token(UPPER, 16, 10),
                token(B64, 40, 11)
            ),
        ),
        (
            AwsSecretAccessKey,
            format!("{{\"SecretAccessKey\": \"{}\"}}", token(B64, 40, 12)),
        ),
        (GitHubToken, format!("token: ghp_{}", token(ALNUM, 36, 13))),
        (
            GitHubToken,
            format!(
                "GH=github_pat_{}_{}",
                token(ALNUM, 22, 14),
                token(ALNUM, 59, 15)
            ),
        ),
        (
            SlackToken,
            format!(
                "SLACK=xoxb-{}-{}-{}",
                token("0123456789", 12, 16),
                token("0123456789", 13, 17),
                token(ALNUM, 24, 18)
            ),
        ),
        (
            SlackWebhook,
            format!(
                "https://hooks.slack.com/services/T{}/B{}/{}",
                token(UPPER, 8, 19),
                token(UPPER, 8, 20),
                token(ALNUM, 24, 21)
            ),
        ),
        (
            GoogleApiKey,
            format!("key=AIza{}", token(&format!("{ALNUM}-_"), 35, 22)),
        ),
        (
            StripeLiveKey,
            format!("stripe.api_key = 'sk_live_{}'", token(ALNUM, 24, 23)),
        ),
        (GitLabToken, format!("glpat-{}", token(ALNUM, 20, 24))),
    ]
}

/// What must never fire.
pub fn placeholders() -> Vec<String> {
    let mut v: Vec<String> = [
        "HostName=hub.azure-devices.net;DeviceId=dev;SharedAccessKey=<KEY>",
        "HostName=hub.azure-devices.net;DeviceId=dev;SharedAccessKey=${KEY}",
        "HostName=hub.azure-devices.net;DeviceId=dev;SharedAccessKey={your key}",
        "HostName=hub.azure-devices.net;DeviceId=dev;SharedAccessKey=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=",
        "HostName=hub.azure-devices.net;DeviceId=dev;SharedAccessKey=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "SharedAccessKey=YOUR_SHARED_ACCESS_KEY_HERE",
        "SharedAccessKey=c2VjcmV0",
        "SharedAccessSignature sr=hub.azure-devices.net&sig=<signature>&se=1",
        "SharedAccessSignature sr={resource}&sig={signature}&se={expiry}",
        "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC...\n-----END PRIVATE KEY-----",
        "if (line.includes('-----BEGIN OPENSSH PRIVATE KEY-----')) {",
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
        "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_secret_access_key = None",
        "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "GITHUB_TOKEN=ghp_<token>",
        "SLACK_TOKEN=xoxb-your-bot-token-here",
        "AccountKey=<storage-account-key>",
        "AccountKey=yourAccountKeyHere==",
        "GITLAB=glpat-xxxxxxxxxxxxxxxxxxxx",
        "STRIPE=sk_live_...",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // A real-looking id glued inside a longer word is not a key id.
    v.push(format!("XAKIA{}", token(UPPER, 16, 30)));
    v.push(format!("AKIA{}Z", token(UPPER, 16, 31)));
    v
}

#[test]
fn every_kind_is_found_with_a_redacted_hint() {
    for (kind, text) in samples() {
        let found = find_secrets(text.as_bytes());
        assert_eq!(
            found.iter().map(|f| f.secret).collect::<Vec<_>>(),
            vec![kind],
            "{text}"
        );
        let f = &found[0];
        if kind == SecretKind::PrivateKey {
            assert!(f.hint.ends_with("PRIVATE KEY"), "{f:?}");
        } else {
            // At most 4 characters of the token, and its length.
            let (head, len) = f.hint.split_once("… (").unwrap();
            assert!(
                head.chars().count() <= 4 && len.ends_with(" chars)"),
                "{f:?}"
            );
        }
        assert!((f.offset as usize) < text.len());
    }
}

#[test]
fn offsets_point_at_the_secret() {
    let key = b64(32, 40);
    let text = format!("x HostName=h;DeviceId=d;SharedAccessKey={key} y");
    let f = &find_secrets(text.as_bytes())[0];
    assert_eq!(&text[f.offset as usize..][..key.len()], key);
    assert_eq!(f.hint, format!("{}… (44 chars)", &key[..4]));
    let pem = format!("\n\n-----BEGIN EC PRIVATE KEY-----\n{}\n", pem_body(41));
    let f = &find_secrets(pem.as_bytes())[0];
    assert_eq!((f.offset, f.hint.as_str()), (2, "EC PRIVATE KEY"));
}

#[test]
fn placeholders_do_not_fire() {
    for text in placeholders() {
        assert_eq!(find_secrets(text.as_bytes()), vec![], "{text}");
    }
}

#[test]
fn private_key_flavours() {
    for (i, label) in ["", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED "]
        .iter()
        .enumerate()
    {
        let text = format!(
            "-----BEGIN {label}PRIVATE KEY-----\r\n{}",
            pem_body(50 + i as u64)
        );
        let found = find_secrets(text.as_bytes());
        assert_eq!(found.len(), 1, "{label}");
        assert_eq!(found[0].hint, format!("{label}PRIVATE KEY"));
    }
    // JSON-escaped line breaks, as in a config file or an env value.
    let text = format!(
        "{{\"key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n\"}}",
        b64(48, 60)
    );
    assert_eq!(find_secrets(text.as_bytes()).len(), 1);
}

/// Feeds `data` to a fresh scan in chunks of `size`.
fn stream(data: &[u8], size: usize) -> Vec<FileFact> {
    let meta = FileMeta {
        layer: "sha256:00",
        path: "x",
        size: data.len() as u64,
        mode: 0o644,
    };
    let mut scan = SecretsAnalyzer.start(&meta).unwrap();
    for chunk in data.chunks(size) {
        if !scan.update(chunk) {
            break;
        }
    }
    scan.finish()
}

#[test]
fn chunking_never_changes_what_is_found() {
    let mut data = noise(400_000, 1);
    let mut expected = Vec::new();
    // Secrets at offsets that straddle every kind of boundary, including the first bytes.
    let mut at = 0usize;
    for (i, (kind, text)) in samples().into_iter().enumerate() {
        let text = format!(" {text} ");
        data.splice(at..at + text.len(), text.bytes());
        expected.push(kind);
        at += 7919 + i * 1001;
    }
    let whole = find_secrets(&data);
    assert_eq!(
        whole.iter().map(|f| f.secret).collect::<Vec<_>>(),
        expected[..MAX_PER_FILE.min(expected.len())]
    );
    let whole: Vec<FileFact> = whole.into_iter().map(FileFact::Secret).collect();
    for size in [1, 2, 7, 13, 255, 4096, 65_536, 131_072] {
        assert_eq!(stream(&data, size), whole, "chunk size {size}");
    }
}

#[test]
fn keyword_floods_stay_bounded() {
    // Hostile: every byte pair starts a keyword; facts stay capped and no window is unbounded.
    let flood = "AKIA".repeat(100_000);
    let started = std::time::Instant::now();
    assert!(stream(flood.as_bytes(), 131_072).is_empty());
    let mut many = String::new();
    for i in 0..100 {
        many.push_str(&format!("ghp_{}\n", token(ALNUM, 36, 100 + i)));
    }
    assert_eq!(stream(many.as_bytes(), 4096).len(), MAX_PER_FILE);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
