//! The address list, streamed: a plain list (one address a line, blank lines
//! and `#` comments ignored) or a CSV file with a header naming the address
//! column, as PowerShell's `Export-Csv` writes it (`#TYPE` first line, every
//! field quoted, maybe a BOM).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::validate_email;

/// Header names recognised as the address column, in order of preference.
pub const KNOWN_COLUMNS: [&str; 4] = ["email", "mail", "PrimarySmtpAddress", "UserPrincipalName"];

/// Where the list comes from. Read twice (a check pass, then the run), so
/// stdin is first copied to an anonymous temporary file.
#[derive(Debug)]
pub enum Source {
    /// A file named on the command line.
    File(PathBuf),
    /// stdin, copied to an unnamed temporary file.
    Spooled(File),
}

impl Source {
    /// Opens `path`, or spools stdin for `-`.
    pub fn open(path: &Path) -> Result<Source, Error> {
        let read_error = |source| Error::input(path, source);
        if path == Path::new("-") {
            let mut spool = tempfile::tempfile().map_err(read_error)?;
            io::copy(&mut io::stdin().lock(), &mut spool).map_err(read_error)?;
            Ok(Source::Spooled(spool))
        } else {
            let meta = std::fs::metadata(path).map_err(read_error)?;
            if meta.is_dir() {
                return Err(read_error(io::Error::other(
                    "it is a folder; give a file with one address a line, or a CSV file",
                )));
            }
            Ok(Source::File(path.to_path_buf()))
        }
    }

    /// The name for messages.
    pub fn name(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Spooled(_) => "stdin".into(),
        }
    }

    fn reader(&self) -> Result<Box<dyn Read + Send>, Error> {
        let read_error = |source| Error::input(self.name(), source);
        match self {
            Source::File(path) => Ok(Box::new(File::open(path).map_err(read_error)?)),
            Source::Spooled(file) => {
                let mut file = file.try_clone().map_err(read_error)?;
                file.seek(SeekFrom::Start(0)).map_err(read_error)?;
                Ok(Box::new(file))
            }
        }
    }

    /// The entries of the list, from the start.
    pub fn entries(&self, column: Option<&str>) -> Result<Entries, Error> {
        Entries::new(self.reader()?, self.name(), column)
    }
}

/// One candidate address and the line it came from (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEntry {
    /// The line number in the input.
    pub line: u64,
    /// The text, trimmed.
    pub text: String,
}

type CsvReader = csv::Reader<DropCr<io::Chain<Cursor<Vec<u8>>, BufReader<Box<dyn Read + Send>>>>>;

/// Drops carriage returns from a CRLF file: the csv crate counts a CRLF
/// record's line only when it reads the LF, one record late.
struct DropCr<R> {
    inner: R,
    active: bool,
}

impl<R: Read> Read for DropCr<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.inner.read(buf)?;
            if !self.active || n == 0 {
                return Ok(n);
            }
            let mut kept = 0;
            for i in 0..n {
                if buf[i] != b'\r' {
                    buf[kept] = buf[i];
                    kept += 1;
                }
            }
            if kept > 0 {
                return Ok(kept);
            }
        }
    }
}

enum Mode {
    Plain {
        reader: BufReader<Box<dyn Read + Send>>,
        line: u64,
        buffer: Vec<u8>,
    },
    Csv {
        reader: Box<CsvReader>,
        column: usize,
        offset: u64,
        record: csv::StringRecord,
    },
    Empty,
}

/// Streams the entries of a list; see the module documentation.
pub struct Entries {
    mode: Mode,
    name: String,
}

impl Entries {
    /// Reads up to the first meaningful line to tell a plain list from a CSV file.
    pub fn new(
        read: Box<dyn Read + Send>,
        name: String,
        column: Option<&str>,
    ) -> Result<Entries, Error> {
        let read_error = |source| Error::input(&name, source);
        let mut reader = BufReader::with_capacity(64 * 1024, read);
        if reader
            .fill_buf()
            .map_err(read_error)?
            .starts_with(b"\xEF\xBB\xBF")
        {
            reader.consume(3);
        }
        // Lines before the first meaningful one: blank, comments, `#TYPE …`.
        let mut skipped = 0u64;
        let mut first = Vec::new();
        loop {
            first.clear();
            if reader.read_until(b'\n', &mut first).map_err(read_error)? == 0 {
                return Ok(Entries {
                    mode: Mode::Empty,
                    name,
                });
            }
            let text = String::from_utf8_lossy(&first);
            let text = text.trim();
            if text.is_empty() || text.starts_with('#') {
                skipped += 1;
                continue;
            }
            break;
        }
        let header_text = String::from_utf8_lossy(&first).trim().to_string();
        let delimiter = guess_delimiter(&header_text);
        let fields = split_csv_line(&header_text, delimiter);
        let found = match column {
            Some(wanted) => Some(
                fields
                    .iter()
                    .position(|f| f.eq_ignore_ascii_case(wanted.trim()))
                    .ok_or_else(|| {
                        Error::Usage(format!(
                            "{name}: no column '{wanted}' in the header line ({}); --column names the CSV column holding the addresses",
                            fields.join(", ")
                        ))
                    })?,
            ),
            None => KNOWN_COLUMNS.iter().find_map(|known| {
                fields.iter().position(|f| f.eq_ignore_ascii_case(known))
            }),
        };
        let mode = match found {
            Some(column) => {
                let crlf = first.ends_with(b"\r\n");
                let chained = DropCr {
                    inner: Cursor::new(first).chain(reader),
                    active: crlf,
                };
                let csv = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .flexible(true)
                    .has_headers(true)
                    .from_reader(chained);
                Mode::Csv {
                    reader: Box::new(csv),
                    column,
                    offset: skipped,
                    record: csv::StringRecord::new(),
                }
            }
            None if fields.len() > 1 && !header_text.contains('@') => {
                return Err(Error::Usage(format!(
                    "{name} looks like a CSV file, but its header ({}) has no email, mail, PrimarySmtpAddress or UserPrincipalName column; name the column with --column",
                    fields.join(", ")
                )));
            }
            None => {
                // A plain list: the first line is an address; read it again.
                let chained: Box<dyn Read + Send> = Box::new(Cursor::new(first).chain(reader));
                Mode::Plain {
                    reader: BufReader::new(chained),
                    line: skipped,
                    buffer: Vec::new(),
                }
            }
        };
        Ok(Entries { mode, name })
    }
}

impl Iterator for Entries {
    type Item = Result<RawEntry, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let name = &self.name;
        let read_error = |source: io::Error| Error::input(name, source);
        match &mut self.mode {
            Mode::Empty => None,
            Mode::Plain {
                reader,
                line,
                buffer,
            } => loop {
                buffer.clear();
                match reader.read_until(b'\n', buffer) {
                    Ok(0) => return None,
                    Ok(_) => {}
                    Err(e) => return Some(Err(read_error(e))),
                }
                *line += 1;
                let text = String::from_utf8_lossy(buffer);
                let text = text.trim();
                if text.is_empty() || text.starts_with('#') {
                    continue;
                }
                return Some(Ok(RawEntry {
                    line: *line,
                    text: text.to_string(),
                }));
            },
            Mode::Csv {
                reader,
                column,
                offset,
                record,
            } => loop {
                match reader.read_record(record) {
                    Ok(false) => return None,
                    Ok(true) => {}
                    Err(e) => {
                        return Some(Err(match e.into_kind() {
                            csv::ErrorKind::Io(e) => read_error(e),
                            other => {
                                Error::Usage(format!("{name}: not a readable CSV file ({other:?})"))
                            }
                        }));
                    }
                }
                let line = *offset + record.position().map_or(0, |p| p.line());
                if record.iter().all(|f| f.trim().is_empty()) {
                    continue;
                }
                let text = record.get(*column).unwrap_or("").trim().to_string();
                return Some(Ok(RawEntry { line, text }));
            },
        }
    }
}

/// A list entry after checking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListEntry {
    /// A usable address.
    Address {
        /// Its line in the list.
        line: u64,
        /// The address, trimmed, without an `smtp:` prefix.
        email: String,
    },
    /// A line that is not an address.
    Invalid {
        /// Its line in the list.
        line: u64,
        /// The text as it was.
        text: String,
        /// Why it is not an address.
        error: String,
    },
}

/// Validates an entry. An `smtp:` prefix, as in Exchange's EmailAddresses
/// lists, is dropped. Repeats are found by sorting the list (pass 1 of an
/// export), not here, so that no set of addresses is held in memory.
///
/// ```
/// use ews_photo::export::input::{classify, ListEntry, RawEntry};
/// let entry = |line, text: &str| RawEntry { line, text: text.into() };
/// assert_eq!(classify(entry(1, "SMTP:Alice@Contoso.com")),
///     ListEntry::Address { line: 1, email: "Alice@Contoso.com".into() });
/// assert!(matches!(classify(entry(3, "alice")), ListEntry::Invalid { .. }));
/// ```
pub fn classify(raw: RawEntry) -> ListEntry {
    let text = match raw.text.get(..5) {
        Some(prefix) if prefix.eq_ignore_ascii_case("smtp:") => &raw.text[5..],
        _ => raw.text.as_str(),
    };
    match validate_email(text) {
        Ok(email) => ListEntry::Address {
            line: raw.line,
            email: email.to_string(),
        },
        Err(error) => ListEntry::Invalid {
            line: raw.line,
            text: raw.text,
            error,
        },
    }
}

/// The most frequent of `,` `;` and tab outside quotes (`,` when none).
fn guess_delimiter(line: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => counts[0] += 1,
            ';' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t'][best]
    }
}

/// The fields of one CSV line, unquoted and trimmed.
fn split_csv_line(line: &str, delimiter: u8) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(|f| f.trim().to_string()).collect(),
        _ => vec![line.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str, column: Option<&str>) -> Vec<(u64, String)> {
        Entries::new(
            Box::new(Cursor::new(text.as_bytes().to_vec())),
            "test".into(),
            column,
        )
        .unwrap()
        .map(|e| e.map(|e| (e.line, e.text)).unwrap())
        .collect()
    }

    fn pairs(list: &[(u64, &str)]) -> Vec<(u64, String)> {
        list.iter().map(|(l, t)| (*l, t.to_string())).collect()
    }

    #[test]
    fn plain_list_skips_blanks_and_comments() {
        let text = "# users\n\nalice@contoso.com\r\n  bob@contoso.com  \n#carol@contoso.com\nnot an address\n";
        assert_eq!(
            entries(text, None),
            pairs(&[
                (3, "alice@contoso.com"),
                (4, "bob@contoso.com"),
                (6, "not an address")
            ])
        );
        assert_eq!(entries("", None), vec![]);
        assert_eq!(entries("\u{feff}a@b.c", None), pairs(&[(1, "a@b.c")]));
    }

    #[test]
    fn export_csv_with_type_line_bom_and_quotes() {
        let text = "\u{feff}#TYPE Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox\r\n\
\"Name\",\"Alias\",\"PrimarySmtpAddress\",\"Notes\"\r\n\
\"Alice Smith\",\"alice\",\"alice@contoso.com\",\"a, b\"\r\n\
\"Bob\",\"bob\",\" Bob@Contoso.com \",\"two\r\nlines\"\r\n\
\"Carol\",\"carol\",\"carol@contoso.com\",\"\"\r\n";
        assert_eq!(
            entries(text, None),
            pairs(&[
                (3, "alice@contoso.com"),
                (4, "Bob@Contoso.com"),
                (6, "carol@contoso.com")
            ])
        );
    }

    #[test]
    fn csv_column_choice_and_delimiters() {
        assert_eq!(
            entries("Mail;Name\nx@y.z;X\n", None),
            pairs(&[(2, "x@y.z")])
        );
        assert_eq!(
            entries("name,upn,smtp\nA,a@upn.z,a@smtp.z\n", Some("SMTP")),
            pairs(&[(2, "a@smtp.z")])
        );
        // A single-column file with a header.
        assert_eq!(entries("email\na@b.c\n", None), pairs(&[(2, "a@b.c")]));
        let err = Entries::new(
            Box::new(Cursor::new(b"name,alias\nx,y\n".to_vec())),
            "t".into(),
            None,
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("--column"), "{err}");
        let err = Entries::new(
            Box::new(Cursor::new(b"name,alias\nx,y\n".to_vec())),
            "t".into(),
            Some("mail"),
        )
        .err()
        .unwrap();
        assert_eq!(err.exit().code(), 2);
    }
}
