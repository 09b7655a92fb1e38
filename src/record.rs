//! What happened to one address: the record `get --json` prints and the row
//! an export report holds, one type and one vocabulary for both.

use serde::Serialize;

use crate::error::Exit;

/// What happened to one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Written.
    Fetched,
    /// The ETag matched: nothing downloaded or written.
    Unchanged,
    /// The user has no photo (or the server does not know the address).
    NoPhoto,
    /// The file is there and was kept: no request (`-n`, `--skip-existing`).
    Skipped,
    /// Anything else; see the error.
    Failed,
}

impl Status {
    /// The name in records and reports: `fetched`, `unchanged`, `no-photo`,
    /// `skipped`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fetched => "fetched",
            Status::Unchanged => "unchanged",
            Status::NoPhoto => "no-photo",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One address's result.
///
/// ```
/// use ews_photo::{Record, Status};
/// let record = Record::new("alice@contoso.com", Status::NoPhoto);
/// let json = serde_json::to_string(&record).unwrap();
/// assert_eq!(json, r#"{"email":"alice@contoso.com","status":"no-photo","path":null,"bytes":null,"content_type":null,"width":null,"height":null,"etag":null,"expires":null,"exit_code":3}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    /// The line of the address in an export's list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The address, as given (trimmed).
    pub email: String,
    /// What happened.
    pub status: Status,
    /// The file written, unchanged or kept (`-` for stdout).
    pub path: Option<String>,
    /// Bytes written.
    pub bytes: Option<u64>,
    /// The type of what was written.
    pub content_type: Option<String>,
    /// Real width in pixels.
    pub width: Option<u32>,
    /// Real height in pixels.
    pub height: Option<u32>,
    /// The server's ETag, to send back next time.
    pub etag: Option<String>,
    /// The server's `Expires` header.
    pub expires: Option<String>,
    /// What went wrong (failed), or why there is no photo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The exit code this address alone would give.
    pub exit_code: u8,
}

impl Record {
    /// A record with only the address and the status (and its exit code).
    pub fn new(email: impl Into<String>, status: Status) -> Record {
        Record {
            line: None,
            email: email.into(),
            status,
            path: None,
            bytes: None,
            content_type: None,
            width: None,
            height: None,
            etag: None,
            expires: None,
            error: None,
            exit_code: match status {
                Status::NoPhoto => Exit::NoPhoto.code(),
                Status::Failed => Exit::Failure.code(),
                _ => Exit::Ok.code(),
            },
        }
    }

    /// The photo written at `path` (`-` for stdout): its size, type and
    /// dimensions, and the server's ETag and expiry.
    pub fn with_photo(
        self,
        path: &std::path::Path,
        photo: &crate::photo::Prepared,
        etag: Option<String>,
        expires: Option<String>,
    ) -> Record {
        Record {
            path: Some(path.display().to_string()),
            bytes: Some(photo.bytes.len() as u64),
            content_type: Some(photo.format.mime().to_string()),
            width: Some(photo.info.width),
            height: Some(photo.info.height),
            etag,
            expires,
            ..self
        }
    }

    /// A failed record for `error`, with its message and exit code.
    pub fn failed(email: impl Into<String>, error: &crate::Error) -> Record {
        let status = match error {
            crate::Error::NoPhoto { .. } => Status::NoPhoto,
            _ => Status::Failed,
        };
        Record {
            error: Some(error.to_string()),
            exit_code: error.exit().code(),
            ..Record::new(email, status)
        }
    }
}
