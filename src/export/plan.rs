//! Pass 1, before any request: counts the list, finds the lines that repeat an
//! address and the names that collide, and pairs each address with its
//! manifest entry. All of it by sorting on disk ([`super::sorter`]) rather
//! than with tables in memory, so that memory stays flat in the length of the
//! list and of the manifest:
//!
//! ```text
//! list ─▶ by address ─┬─▶ repeats ─────────────────────┐
//!                     ├─▶ merged with the manifest ─────┼─▶ notes by line ─▶ the feed (pass 2)
//!                     └─▶ by file name ─▶ collisions?   │
//! ```

use std::io;
use std::path::Path;

use super::input::{ListEntry, Source, classify};
use super::manifest::Manifest;
use super::sorter::{Sorted, Sorter};
use super::{ExportOptions, Template};
use crate::error::Error;

/// What pass 1 found.
pub(super) struct Plan {
    /// Distinct addresses and malformed lines.
    pub total: u64,
    /// Lines that repeat an earlier address.
    pub duplicates: u64,
    /// For the feed.
    pub notes: Notes,
}

/// What the feed must know about some lines, in line order: that a line
/// repeats an earlier address, or the manifest entry of its address.
pub(super) struct Notes {
    sorted: Option<Sorted>,
    next: Option<(u64, Vec<u8>)>,
}

/// A note on one line.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Note {
    /// The address came earlier in the list.
    Repeat,
    /// The address's manifest entry, as JSON.
    Previous(String),
}

const REPEAT: u8 = b'D';
const PREVIOUS: u8 = b'P';

/// A note's value: its kind, the address's key (so that the feed can tell a
/// list that changed between the passes), and the entry's JSON.
fn encode(kind: u8, key: &[u8], json: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(5 + key.len() + json.len());
    value.push(kind);
    value.extend_from_slice(&(key.len() as u32).to_le_bytes());
    value.extend_from_slice(key);
    value.extend_from_slice(json);
    value
}

fn decode(value: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&kind, rest) = value.split_first()?;
    let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let key = rest.get(4..4 + len)?;
    Some((kind, key, &rest[4 + len..]))
}

impl Notes {
    /// The note on `line`, whose address has the key `key`; notes on earlier
    /// lines (there are none unless the list changed) are passed over.
    pub fn take(&mut self, line: u64, key: &str) -> io::Result<Option<Note>> {
        loop {
            if self.next.is_none() {
                let Some(sorted) = self.sorted.as_mut() else {
                    return Ok(None);
                };
                match sorted.next().transpose()? {
                    None => {
                        self.sorted = None;
                        return Ok(None);
                    }
                    Some((at, value)) => {
                        let at = u64::from_be_bytes(at.try_into().map_err(|_| corrupt())?);
                        self.next = Some((at, value));
                    }
                }
            }
            let (at, _) = self.next.as_ref().expect("just read");
            if *at > line {
                return Ok(None);
            }
            let (at, value) = self.next.take().expect("just read");
            if at < line {
                continue;
            }
            let (kind, noted_key, json) = decode(&value).ok_or_else(corrupt)?;
            if noted_key != key.as_bytes() {
                return Ok(None);
            }
            return Ok(match kind {
                REPEAT => Some(Note::Repeat),
                PREVIOUS => Some(Note::Previous(
                    String::from_utf8(json.to_vec()).map_err(|_| corrupt())?,
                )),
                _ => return Err(corrupt()),
            });
        }
    }
}

fn corrupt() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a temporary file changed")
}

/// Pass 1 over `source`. With `manifest`, each address gets its entry in the
/// notes. Temporary files go to `scratch` (unnamed: nothing is left there).
/// Fails before any request when names collide.
pub(super) fn plan(
    source: &Source,
    options: &ExportOptions,
    template: &Template,
    default_ext: &str,
    manifest: Option<&Manifest>,
    scratch: &Path,
) -> Result<Plan, Error> {
    let scratch_error =
        |e: io::Error| Error::local(format!("sort the list in {}", scratch.display()), e);
    let mut total = 0u64;
    let mut duplicates = 0u64;
    let mut by_address = Sorter::new(scratch);
    for raw in source.entries(options.column.as_deref())? {
        match classify(raw?) {
            ListEntry::Invalid { .. } => total += 1,
            ListEntry::Address { line, email } => {
                let mut value = line.to_be_bytes().to_vec();
                value.extend_from_slice(email.as_bytes());
                by_address
                    .push(email.to_lowercase().as_bytes(), &value)
                    .map_err(scratch_error)?;
            }
        }
    }

    let manifest_error = |e: io::Error| Error::local("read the manifest", e);
    let mut entries = match manifest {
        Some(manifest) if !manifest.is_empty() => {
            Some(manifest.entries().map_err(manifest_error)?.peekable())
        }
        _ => None,
    };
    let mut by_name = Sorter::new(scratch);
    let mut notes = Sorter::new(scratch);
    let mut last: Option<Vec<u8>> = None;
    // Equal keys come in line order: the first is the address, the rest repeats.
    for record in by_address.finish().map_err(scratch_error)? {
        let (key, value) = record.map_err(scratch_error)?;
        let (line, email) = split_line(&value).ok_or_else(|| scratch_error(corrupt()))?;
        if last.as_deref() == Some(key.as_slice()) {
            duplicates += 1;
            notes
                .push(&line.to_be_bytes(), &encode(REPEAT, &key, b""))
                .map_err(scratch_error)?;
            continue;
        }
        total += 1;
        let name = template.render(email, options.size, default_ext);
        let mut name_key = name.to_lowercase().into_bytes();
        // Names have no NUL (control characters become '_'), so equal names
        // sort together, in line order.
        name_key.push(0);
        name_key.extend_from_slice(&line.to_be_bytes());
        by_name.push(&name_key, &value).map_err(scratch_error)?;
        if let Some(entries) = entries.as_mut() {
            while entries
                .peek()
                .is_some_and(|e| e.as_ref().is_ok_and(|(k, _)| k.as_bytes() < key.as_slice()))
            {
                entries.next();
            }
            match entries.peek() {
                Some(Err(_)) => {
                    let err = entries.next().expect("peeked").expect_err("peeked");
                    return Err(manifest_error(err));
                }
                Some(Ok((k, json))) if k.as_bytes() == key.as_slice() => {
                    notes
                        .push(
                            &line.to_be_bytes(),
                            &encode(PREVIOUS, &key, json.as_bytes()),
                        )
                        .map_err(scratch_error)?;
                }
                _ => {}
            }
        }
        last = Some(key);
    }
    drop(entries);
    check_collisions(
        by_name.finish().map_err(scratch_error)?,
        options,
        template,
        default_ext,
    )?;
    Ok(Plan {
        total,
        duplicates,
        notes: Notes {
            sorted: Some(notes.finish().map_err(scratch_error)?),
            next: None,
        },
    })
}

fn split_line(value: &[u8]) -> Option<(u64, &str)> {
    let line = u64::from_be_bytes(value.get(..8)?.try_into().ok()?);
    Some((line, std::str::from_utf8(&value[8..]).ok()?))
}

/// Refuses names that collide: records sorted by (name, line).
fn check_collisions(
    by_name: Sorted,
    options: &ExportOptions,
    template: &Template,
    default_ext: &str,
) -> Result<(), Error> {
    let mut collisions = 0u64;
    // The first few by line, as the message shows them.
    let mut shown: Vec<(u64, String)> = Vec::new();
    let mut group: Option<(Vec<u8>, u64)> = None;
    for record in by_name {
        let (key, value) = record.map_err(|e| Error::local("sort the list's file names", e))?;
        let name = &key[..key.len().saturating_sub(9)];
        let Some((line, email)) = split_line(&value) else {
            continue;
        };
        match &group {
            Some((first_name, first_line)) if first_name.as_slice() == name => {
                collisions += 1;
                shown.push((
                    line,
                    format!(
                        "line {line} {email} → {}, like line {first_line}",
                        template.render(email, options.size, default_ext)
                    ),
                ));
                if shown.len() > 5 {
                    shown.sort_by_key(|(line, _)| *line);
                    shown.truncate(5);
                }
            }
            _ => group = Some((name.to_vec(), line)),
        }
    }
    if collisions == 0 {
        return Ok(());
    }
    shown.sort_by_key(|(line, _)| *line);
    let shown: Vec<&str> = shown.iter().map(|(_, text)| text.as_str()).collect();
    let more = if collisions > 5 {
        format!(" (and {} more)", collisions - 5)
    } else {
        String::new()
    };
    Err(Error::Usage(format!(
        "--name '{}' gives {collisions} addresses the same file name as another: {}{more}; use a template that keeps addresses apart, e.g. {{email}}.{{ext}}",
        options.name,
        shown.join("; ")
    )))
}
