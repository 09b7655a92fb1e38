//! `ews-photo get`: one photo to a file or stdout.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::app::{Console, config};
use crate::backend::{Outcome, PhotoRequest};
use crate::cli::{Connection, GetArgs};
use crate::client::Client;
use crate::error::Error;
use crate::output::{self, OutputError};
use crate::photo::{self, Format, PhotoError};
use crate::record::{Record, Status};
use crate::validate_email;

/// Runs `get`; with `--json`, prints the record whatever happened.
pub fn run(
    connection: &Connection,
    verbosity: u8,
    args: &GetArgs,
    console: Console,
) -> Result<(), Error> {
    let email = args.email.trim().to_string();
    let result = get(connection, verbosity, args, console, &email);
    if args.json {
        let record = match &result {
            Ok(record) => record.clone(),
            Err(err) => Record::failed(&email, err),
        };
        print_json(&record)?;
    }
    result.map(|_| ())
}

fn print_json(record: &Record) -> Result<(), Error> {
    let line = serde_json::to_string(record).expect("a record always serialises");
    Ok(output::print_line(&line)?)
}

/// Where the photo goes.
enum Destination {
    Stdout,
    /// `-o FILE`.
    File(PathBuf),
    /// `EMAIL.EXT` in the current folder, the extension from the real format.
    Default,
}

impl Destination {
    fn path(&self, email: &str, format: Format) -> PathBuf {
        match self {
            Destination::Stdout => PathBuf::from("-"),
            Destination::File(path) => path.clone(),
            Destination::Default => PathBuf::from(output::sanitize_file_name(&format!(
                "{email}.{}",
                format.extension()
            ))),
        }
    }

    /// With `--no-clobber`: the file already there, if any. For the default
    /// name the format is not known before the photo arrives, so any
    /// `EMAIL.EXT` the tool could write counts (only the asked one with
    /// `--format`).
    fn existing(&self, email: &str, format: Option<Format>) -> Option<PathBuf> {
        let exists = |path: &Path| path.symlink_metadata().is_ok();
        match self {
            Destination::Stdout => None,
            Destination::File(path) => Some(path.clone()).filter(|p| exists(p)),
            Destination::Default => {
                let candidates = match format {
                    Some(format) => vec![format],
                    None => Format::ALL.to_vec(),
                };
                candidates
                    .into_iter()
                    .map(|f| self.path(email, f))
                    .find(|p| exists(p))
            }
        }
    }
}

fn get(
    connection: &Connection,
    verbosity: u8,
    args: &GetArgs,
    console: Console,
    given: &str,
) -> Result<Record, Error> {
    let email = validate_email(given).map_err(Error::Usage)?.to_string();
    let destination = match args.output.as_deref() {
        Some(path) if path == Path::new("-") => Destination::Stdout,
        Some(path) => Destination::File(path.to_path_buf()),
        None => Destination::Default,
    };
    if matches!(destination, Destination::Stdout) {
        if std::io::stdout().is_terminal() {
            return Err(OutputError::Terminal.into());
        }
        if args.json {
            return Err(Error::Usage(
                "--json prints its record on stdout, so the photo cannot go there too; give -o FILE"
                    .into(),
            ));
        }
    }
    let to = args.format.target();
    if args.no_clobber
        && let Some(path) = destination.existing(&email, to)
    {
        console.info(&format!(
            "{} exists; kept it (--no-clobber)",
            path.display()
        ));
        let mut record = Record::new(&email, Status::Skipped);
        record.path = Some(path.display().to_string());
        return Ok(record);
    }
    let config = config::client_config(
        connection,
        verbosity,
        false,
        console,
        config::DiscoverFrom::Photo(&email),
    )?;
    let mut client = Client::new(config)?.on_wait(move |wait| console.warn(&wait.to_string()));
    let outcome = client.fetch(&PhotoRequest {
        email: email.clone(),
        size: args.size,
        if_none_match: args.if_none_match.clone(),
    })?;
    let raw = match outcome {
        Outcome::NoPhoto { detail } => return Err(Error::NoPhoto { email, detail }),
        Outcome::Unchanged { etag, expires } => {
            let mut record = Record::new(&email, Status::Unchanged);
            record.etag = etag.or_else(|| {
                args.if_none_match
                    .as_deref()
                    .map(crate::http::normalize_etag)
            });
            record.expires = expires;
            console.info(&format!(
                "{email}: unchanged since ETag {}; nothing written",
                record.etag.as_deref().unwrap_or("?")
            ));
            return Ok(record);
        }
        Outcome::Photo(raw) => raw,
    };
    let prepared = match photo::prepare(raw.bytes, raw.content_type.as_deref(), to) {
        Ok(prepared) => prepared,
        Err(err @ PhotoError::Placeholder) => {
            return Err(Error::NoPhoto {
                email,
                detail: Some(err.to_string()),
            });
        }
        Err(err) => return Err(err.into()),
    };
    if let Some(warning) = prepared.mislabel_warning(&email) {
        console.warn(&warning);
    }
    let path = destination.path(&email, prepared.format);
    match destination {
        Destination::Stdout => output::write_stdout(&prepared.bytes)?,
        _ => output::write_atomic(&path, &prepared.bytes, !args.no_clobber)?,
    }
    let record =
        Record::new(&email, Status::Fetched).with_photo(&path, &prepared, raw.etag, raw.expires);
    if !matches!(destination, Destination::Stdout) {
        console.info(&format!(
            "{email}: wrote {} ({}×{} {}, {} bytes)",
            path.display(),
            prepared.info.width,
            prepared.info.height,
            prepared.format.name(),
            prepared.bytes.len()
        ));
    }
    Ok(record)
}
