//! Azure formats: connection strings (`SharedAccessKey=`, classified by their other keys), SAS
//! tokens (`SharedAccessSignature sr=…&sig=…`, storage `sv=…&sig=…`) and storage account keys
//! (`AccountKey=`). The placeholder rules are `rules`'.

use super::rules::{
    Hit, SecretKind, base64_len, base64_value, contains, hint, is_b64, is_delimiter, plausible,
    run_end, token,
};

pub(super) fn shared_access_key(win: &[u8], at: usize, from: usize) -> Option<Hit> {
    let (body, end) = base64_value(win, from);
    let value = &win[from..end];
    if !(16..=128).contains(&base64_len(value)?) || !plausible(&win[from..body], 3.5) {
        return None;
    }
    let context = token(win, at);
    let kind = if contains(context, b"DeviceId=") {
        SecretKind::IotHubDeviceConnectionString
    } else if contains(context, b"Endpoint=sb://") {
        SecretKind::ServiceBusConnectionString
    } else if contains(context, b"HostName=") {
        SecretKind::IotHubConnectionString
    } else {
        SecretKind::SharedAccessKey
    };
    Some(Hit {
        kind,
        start: from,
        hint: hint(value),
        public: None,
    })
}

/// Percent-decodes a URL component (invalid escapes stay as they are).
fn url_decode(v: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        let escaped = (v[i] == b'%')
            .then(|| Some((hex(*v.get(i + 1)?)? << 4) | hex(*v.get(i + 2)?)?))
            .flatten();
        match escaped {
            Some(c) => {
                out.push(c);
                i += 3;
            }
            None => {
                out.push(v[i]);
                i += 1;
            }
        }
    }
    out
}

/// A SAS `sig` value at `from` (up to `&`, `;`, `,` or a delimiter): URL-encoded base64 of an
/// HMAC (≥ 16 bytes).
fn sas_signature(win: &[u8], from: usize, kind: SecretKind) -> Option<Hit> {
    let end = run_end(win, from, |c| {
        !is_delimiter(c) && !matches!(c, b'&' | b';' | b',')
    });
    let raw = &win[from..end];
    if raw.len() > 200 || !raw.iter().all(|&c| is_b64(c) || c == b'%' || c == b'=') {
        return None;
    }
    let sig = url_decode(raw);
    let unpadded: Vec<u8> = sig.iter().copied().filter(|&c| c != b'=').collect();
    if base64_len(&sig)? < 16 || !plausible(&unpadded, 3.5) {
        return None;
    }
    Some(Hit {
        kind,
        start: from,
        hint: hint(raw),
        public: None,
    })
}

pub(super) fn sas_token(win: &[u8], from: usize) -> Option<Hit> {
    let end = run_end(win, from, |c| !is_delimiter(c) && c != b';' && c != b',');
    let params = &win[from..end];
    let has_resource = params
        .split(|&c| c == b'&')
        .any(|p| p.len() > 3 && p.starts_with(b"sr="));
    let mut offset = from;
    for p in params.split(|&c| c == b'&') {
        if has_resource && p.starts_with(b"sig=") {
            return sas_signature(win, offset + 4, SecretKind::SasToken);
        }
        offset += p.len() + 1;
    }
    None
}

pub(super) fn storage_sas(win: &[u8], at: usize, from: usize) -> Option<Hit> {
    let query = token(win, at);
    // A SAS token in `SharedAccessSignature sr=…&sig=` is the SasToken rule's.
    if !contains(query, b"sv=") || contains(query, b"SharedAccessSignature") {
        return None;
    }
    sas_signature(win, from, SecretKind::StorageSasToken)
}

pub(super) fn account_key(win: &[u8], from: usize) -> Option<Hit> {
    let (body, end) = base64_value(win, from);
    let value = &win[from..end];
    if value.len() != 88 || base64_len(value)? != 64 || !plausible(&win[from..body], 4.0) {
        return None;
    }
    Some(Hit {
        kind: SecretKind::StorageAccountKey,
        start: from,
        hint: hint(value),
        public: super::public::lookup(value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_decoding() {
        assert_eq!(url_decode(b"a%2Bb%2f%3D%zz%4"), b"a+b/=%zz%4");
    }
}
