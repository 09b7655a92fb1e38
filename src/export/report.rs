//! `--report FILE`: one row per address, CSV or JSON lines, flushed row by row
//! so that it is complete for what finished even after Ctrl-C.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Error;

/// The columns, in order.
pub const COLUMNS: [&str; 9] = [
    "line", "email", "status", "path", "bytes", "width", "height", "etag", "error",
];

/// What happened to one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Written.
    Fetched,
    /// The ETag matched: nothing downloaded or written.
    Unchanged,
    /// The user has no photo (or the server does not know the address).
    NoPhoto,
    /// `--skip-existing` and the file exists: no request.
    Skipped,
    /// Anything else; see the error.
    Failed,
}

impl Status {
    /// The name in reports.
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

/// One report row.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The line in the input.
    pub line: u64,
    /// The address (as given, trimmed).
    pub email: String,
    /// What happened.
    pub status: Status,
    /// The file (written, unchanged or skipped).
    pub path: Option<String>,
    /// Bytes written.
    pub bytes: Option<u64>,
    /// Width in pixels.
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
    /// The server's ETag.
    pub etag: Option<String>,
    /// What went wrong, or a note (no-photo).
    pub error: Option<String>,
}

impl Row {
    /// A row with only the line, address and status.
    pub fn new(line: u64, email: impl Into<String>, status: Status) -> Row {
        Row {
            line,
            email: email.into(),
            status,
            path: None,
            bytes: None,
            width: None,
            height: None,
            etag: None,
            error: None,
        }
    }
}

enum Sink {
    Csv(Box<csv::Writer<File>>),
    Json(BufWriter<File>),
}

/// The open report.
pub struct Report {
    sink: Sink,
    path: PathBuf,
}

impl Report {
    /// Creates the file (CSV unless the extension says JSON) and writes the
    /// CSV header. Failing here fails the run before any request (exit 2).
    pub fn create(path: &Path) -> Result<Report, Error> {
        let json = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            ["json", "jsonl", "ndjson"].contains(&e.to_ascii_lowercase().as_str())
        });
        let fail = |e: &dyn std::fmt::Display| {
            Error::Usage(format!(
                "cannot create the report {}: {e}; check the folder exists and is writable",
                path.display()
            ))
        };
        let file = File::create(path).map_err(|e| fail(&e))?;
        let sink = if json {
            Sink::Json(BufWriter::new(file))
        } else {
            let mut writer = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(file);
            writer.write_record(COLUMNS).map_err(|e| fail(&e))?;
            writer.flush().map_err(|e| fail(&e))?;
            Sink::Csv(Box::new(writer))
        };
        Ok(Report {
            sink,
            path: path.to_path_buf(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes and flushes one row.
    pub fn write(&mut self, row: &Row) -> Result<(), Error> {
        let result = match &mut self.sink {
            Sink::Csv(writer) => writer
                .serialize(row)
                .map_err(|e| e.to_string())
                .and_then(|()| writer.flush().map_err(|e| e.to_string())),
            Sink::Json(writer) => serde_json::to_writer(&mut *writer, row)
                .map_err(|e| e.to_string())
                .and_then(|()| writer.write_all(b"\n").map_err(|e| e.to_string()))
                .and_then(|()| writer.flush().map_err(|e| e.to_string())),
        };
        result.map_err(|e| {
            crate::output::OutputError::Io {
                path: self.path.clone(),
                source: std::io::Error::other(e),
            }
            .into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut row = Row::new(3, "a@b.c", Status::NoPhoto);
        row.error = Some("none, \"really\"".into());
        for name in ["r.csv", "r.JSONL"] {
            let path = dir.path().join(name);
            let mut report = Report::create(&path).unwrap();
            report.write(&row).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            if name.ends_with("csv") {
                assert_eq!(
                    text,
                    "line,email,status,path,bytes,width,height,etag,error\n3,a@b.c,no-photo,,,,,,\"none, \"\"really\"\"\"\n"
                );
            } else {
                let value: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
                assert_eq!(value["status"], "no-photo");
                assert_eq!(value["line"], 3);
            }
        }
        let err = Report::create(&dir.path().join("nope/r.csv"))
            .err()
            .unwrap();
        assert_eq!(err.exit_code(), 2);
    }
}
