//! The distribution spec's error envelope (`{"errors": [{"code", "message", "detail"}]}`) and
//! the HTTP status that goes with each code.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::meta::MetaError;
use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    /// Not a spec code: our own failure (storage, database), status 500.
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BlobUnknown => "BLOB_UNKNOWN",
            Code::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            Code::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            Code::DigestInvalid => "DIGEST_INVALID",
            Code::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            Code::ManifestInvalid => "MANIFEST_INVALID",
            Code::ManifestUnknown => "MANIFEST_UNKNOWN",
            Code::NameInvalid => "NAME_INVALID",
            Code::NameUnknown => "NAME_UNKNOWN",
            Code::SizeInvalid => "SIZE_INVALID",
            Code::Unauthorized => "UNAUTHORIZED",
            Code::Denied => "DENIED",
            Code::Unsupported => "UNSUPPORTED",
            Code::Internal => "INTERNAL",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Code::BlobUnknown
            | Code::BlobUploadUnknown
            | Code::ManifestUnknown
            | Code::NameUnknown
            | Code::ManifestBlobUnknown => StatusCode::NOT_FOUND,
            Code::BlobUploadInvalid
            | Code::DigestInvalid
            | Code::ManifestInvalid
            | Code::NameInvalid
            | Code::SizeInvalid => StatusCode::BAD_REQUEST,
            Code::Unauthorized => StatusCode::UNAUTHORIZED,
            Code::Denied => StatusCode::FORBIDDEN,
            Code::Unsupported => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error response: a code, a message, and optionally another status (416 for a chunk out
/// of order, 413 for a manifest over the limit).
#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub status: Option<StatusCode>,
    /// Headers to send along (`Range` with the upload offset on 416, `WWW-Authenticate`).
    pub headers: Vec<(header::HeaderName, String)>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            status: None,
            headers: Vec::new(),
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = Some(status);
        self
    }
}

/// What the request log says about an error response (kept out of the response itself).
#[derive(Debug, Clone)]
pub struct Logged {
    pub code: Code,
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status.unwrap_or(self.code.status());
        let body = serde_json::json!({
            "errors": [{"code": self.code.as_str(), "message": self.message, "detail": null}]
        });
        let mut r = (status, axum::Json(body)).into_response();
        r.extensions_mut().insert(Logged {
            code: self.code,
            message: self.message,
        });
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                r.headers_mut().insert(name, v);
            }
        }
        r
    }
}

impl From<MetaError> for ApiError {
    fn from(e: MetaError) -> ApiError {
        match e {
            MetaError::TagImmutable { .. } => ApiError::new(Code::Denied, e.to_string()),
            other => ApiError::new(Code::Internal, other.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::DigestMismatch { .. } => ApiError::new(Code::DigestInvalid, e.to_string()),
            StoreError::SizeMismatch { .. } => ApiError::new(Code::SizeInvalid, e.to_string()),
            StoreError::UploadUnknown => ApiError::new(Code::BlobUploadUnknown, e.to_string()),
            StoreError::UploadBusy => ApiError::new(Code::BlobUploadInvalid, e.to_string())
                .with_status(StatusCode::CONFLICT),
            StoreError::RangeMismatch { size } => ApiError {
                code: Code::BlobUploadInvalid,
                message: e.to_string(),
                status: Some(StatusCode::RANGE_NOT_SATISFIABLE),
                headers: vec![(header::RANGE, format!("0-{}", size.saturating_sub(1)))],
            },
            StoreError::Io(_) | StoreError::Object(_) => {
                ApiError::new(Code::Internal, e.to_string())
            }
        }
    }
}
