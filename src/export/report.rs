//! `--report FILE`: one row per address, CSV or JSON lines, flushed row by row
//! so that it is complete for what finished even after Ctrl-C.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::record::Record;

/// The CSV columns, in order (JSON lines carry every field of a [`Record`]).
pub const COLUMNS: [&str; 9] = [
    "line", "email", "status", "path", "bytes", "width", "height", "etag", "error",
];

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
    /// CSV header. Failing here fails the run before any request.
    pub fn create(path: &Path) -> Result<Report, Error> {
        let json = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            ["json", "jsonl", "ndjson"].contains(&e.to_ascii_lowercase().as_str())
        });
        let fail = |e: &dyn std::fmt::Display| {
            Error::local(
                format!("create the report {}", path.display()),
                format!("{e}; check the folder exists and is writable"),
            )
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

    /// Where the report is written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes and flushes one row.
    pub fn write(&mut self, row: &Record) -> Result<(), Error> {
        let result = match &mut self.sink {
            Sink::Csv(writer) => writer
                .write_record(csv_fields(row))
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

/// A record's CSV columns: [`COLUMNS`], empty for what it lacks.
fn csv_fields(row: &Record) -> [String; 9] {
    let text = |value: Option<String>| value.unwrap_or_default();
    [
        text(row.line.map(|n| n.to_string())),
        row.email.clone(),
        row.status.as_str().to_string(),
        text(row.path.clone()),
        text(row.bytes.map(|n| n.to_string())),
        text(row.width.map(|n| n.to_string())),
        text(row.height.map(|n| n.to_string())),
        text(row.etag.clone()),
        text(row.error.clone()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut row = Record::new("a@b.c", crate::record::Status::NoPhoto);
        row.line = Some(3);
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
        assert_eq!(err.exit().code(), 1);
    }
}
