//! A stable sort of more (key, value) records than memory should hold, so
//! that a run over a million addresses needs no more memory than one over ten
//! thousand: records gather in a small buffer; each full buffer is sorted and
//! written to an unnamed temporary file (a run, gone when closed, even after a
//! crash); the runs are merged as the result is read. Memory is the buffer plus
//! one small read buffer per run, whatever the number of records.
//!
//! Records with equal keys come out in the order they went in.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Bytes of records held before a run is written: small enough to be noise
/// next to the rest of the process, large enough that a million records make
/// a few hundred runs.
const BUFFER: usize = 256 * 1024;
/// Runs merged at once. Runs are merged in tiers, as a counter carries: 16
/// runs of one size become one run 16 times as long, so every record is
/// rewritten once per tier (3 tiers for a million manifest entries) and at
/// most 16 runs are ever read at once.
const FAN_IN: usize = 16;
/// Read buffer of each run while merging.
const READ_BUFFER: usize = 8 * 1024;

/// Collects records; [`Sorter::finish`] gives them back sorted by key.
pub(crate) struct Sorter {
    dir: PathBuf,
    bytes: Vec<u8>,
    spans: Vec<Span>,
    /// Sorted runs, oldest first, with their tier (0: one buffer).
    runs: Vec<(u32, File)>,
    buffer: usize,
}

/// Where one buffered record lies in `bytes`.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    key: u32,
    value: u32,
}

impl Span {
    fn key<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        &bytes[self.start..self.start + self.key as usize]
    }

    fn value<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        let from = self.start + self.key as usize;
        &bytes[from..from + self.value as usize]
    }
}

impl Sorter {
    /// A sorter whose runs go to unnamed temporary files in `dir`.
    pub fn new(dir: &Path) -> Sorter {
        Sorter::with_buffer(dir, BUFFER)
    }

    /// With another buffer size (tests use a tiny one to exercise the merge).
    pub fn with_buffer(dir: &Path, buffer: usize) -> Sorter {
        Sorter {
            dir: dir.to_path_buf(),
            bytes: Vec::new(),
            spans: Vec::new(),
            runs: Vec::new(),
            buffer,
        }
    }

    /// Adds a record.
    pub fn push(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        let too_long = || io::Error::new(io::ErrorKind::InvalidInput, "record of 4 GiB or more");
        let key_len = u32::try_from(key.len()).map_err(|_| too_long())?;
        let value_len = u32::try_from(value.len()).map_err(|_| too_long())?;
        if !self.spans.is_empty() && self.bytes.len() + key.len() + value.len() > self.buffer {
            self.spill()?;
        }
        if self.bytes.capacity() == 0 {
            self.bytes.reserve(self.buffer.min(64 * 1024));
        }
        self.spans.push(Span {
            start: self.bytes.len(),
            key: key_len,
            value: value_len,
        });
        self.bytes.extend_from_slice(key);
        self.bytes.extend_from_slice(value);
        Ok(())
    }

    /// Sorts the buffer (stable: equal keys keep their order).
    fn sort_buffer(&mut self) {
        let bytes = &self.bytes;
        self.spans.sort_by(|a, b| a.key(bytes).cmp(b.key(bytes)));
    }

    /// Writes the buffer as a sorted run.
    fn spill(&mut self) -> io::Result<()> {
        self.sort_buffer();
        let mut out = BufWriter::with_capacity(READ_BUFFER, tempfile::tempfile_in(&self.dir)?);
        for span in &self.spans {
            write_record(&mut out, span.key(&self.bytes), span.value(&self.bytes))?;
        }
        self.runs.push((0, rewound(out)?));
        self.spans.clear();
        self.bytes.clear();
        while self.runs.len() >= FAN_IN {
            let last = &self.runs[self.runs.len() - FAN_IN..];
            let tier = last[0].0;
            if last.iter().any(|(t, _)| *t != tier) {
                break;
            }
            self.merge_last(FAN_IN, tier + 1)?;
        }
        Ok(())
    }

    /// Merges the newest `count` runs into one of `tier` (they are
    /// consecutive, so the sort stays stable).
    fn merge_last(&mut self, count: usize, tier: u32) -> io::Result<()> {
        let files = self
            .runs
            .split_off(self.runs.len() - count)
            .into_iter()
            .map(|(_, file)| file)
            .collect();
        let mut out = BufWriter::with_capacity(READ_BUFFER, tempfile::tempfile_in(&self.dir)?);
        for record in Merge::new(files)? {
            let (key, value) = record?;
            write_record(&mut out, &key, &value)?;
        }
        self.runs.push((tier, rewound(out)?));
        Ok(())
    }

    /// The records, sorted by key.
    pub fn finish(mut self) -> io::Result<Sorted> {
        if self.runs.is_empty() {
            self.sort_buffer();
            return Ok(Sorted(Inner::Memory {
                bytes: self.bytes,
                spans: self.spans.into_iter(),
            }));
        }
        if !self.spans.is_empty() {
            self.spill()?;
        }
        // Up to 15 runs a tier may be left: the smallest are merged first.
        while self.runs.len() > FAN_IN {
            let tier = self.runs[self.runs.len() - FAN_IN].0;
            self.merge_last(FAN_IN, tier)?;
        }
        let files = self.runs.into_iter().map(|(_, file)| file).collect();
        Ok(Sorted(Inner::Merge(Merge::new(files)?)))
    }
}

fn rewound(out: BufWriter<File>) -> io::Result<File> {
    let mut file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.rewind()?;
    Ok(file)
}

fn write_record(out: &mut impl Write, key: &[u8], value: &[u8]) -> io::Result<()> {
    // Lengths fit: push refused anything longer.
    out.write_all(&(key.len() as u32).to_le_bytes())?;
    out.write_all(&(value.len() as u32).to_le_bytes())?;
    out.write_all(key)?;
    out.write_all(value)
}

fn read_record(input: &mut impl Read) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut lengths = [0u8; 8];
    match input.read_exact(&mut lengths) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let key_len = u32::from_le_bytes([lengths[0], lengths[1], lengths[2], lengths[3]]) as usize;
    let value_len = u32::from_le_bytes([lengths[4], lengths[5], lengths[6], lengths[7]]) as usize;
    let mut key = vec![0; key_len];
    input.read_exact(&mut key)?;
    let mut value = vec![0; value_len];
    input.read_exact(&mut value)?;
    Ok(Some((key, value)))
}

/// The records of a [`Sorter`], in key order.
pub(crate) struct Sorted(Inner);

enum Inner {
    Memory {
        bytes: Vec<u8>,
        spans: std::vec::IntoIter<Span>,
    },
    Merge(Merge),
}

impl Iterator for Sorted {
    type Item = io::Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Inner::Memory { bytes, spans } => {
                let span = spans.next()?;
                Some(Ok((span.key(bytes).to_vec(), span.value(bytes).to_vec())))
            }
            Inner::Merge(merge) => merge.next(),
        }
    }
}

/// A k-way merge of sorted runs.
struct Merge {
    runs: Vec<BufReader<File>>,
    heads: BinaryHeap<Head>,
    failed: bool,
}

/// The next record of one run. The heap is a max-heap: the smallest key (and,
/// among equal keys, the earliest run) must compare greatest.
struct Head {
    key: Vec<u8>,
    value: Vec<u8>,
    run: usize,
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .key
            .cmp(&self.key)
            .then_with(|| other.run.cmp(&self.run))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

impl Merge {
    fn new(files: Vec<File>) -> io::Result<Merge> {
        let mut runs: Vec<BufReader<File>> = files
            .into_iter()
            .map(|file| BufReader::with_capacity(READ_BUFFER, file))
            .collect();
        let mut heads = BinaryHeap::with_capacity(runs.len());
        for (run, reader) in runs.iter_mut().enumerate() {
            if let Some((key, value)) = read_record(reader)? {
                heads.push(Head { key, value, run });
            }
        }
        Ok(Merge {
            runs,
            heads,
            failed: false,
        })
    }
}

impl Iterator for Merge {
    type Item = io::Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let Head { key, value, run } = self.heads.pop()?;
        match read_record(&mut self.runs[run]) {
            Ok(Some((key, value))) => self.heads.push(Head { key, value, run }),
            Ok(None) => {}
            Err(e) => {
                self.failed = true;
                return Some(Err(e));
            }
        }
        Some(Ok((key, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(buffer: usize, records: &[(u32, u32)]) -> Vec<(u32, u32)> {
        let dir = tempfile::tempdir().unwrap();
        let mut sorter = Sorter::with_buffer(dir.path(), buffer);
        for (key, value) in records {
            sorter
                .push(&key.to_be_bytes(), &value.to_be_bytes())
                .unwrap();
        }
        let out = sorter
            .finish()
            .unwrap()
            .map(|r| {
                let (k, v) = r.unwrap();
                (
                    u32::from_be_bytes(k.try_into().unwrap()),
                    u32::from_be_bytes(v.try_into().unwrap()),
                )
            })
            .collect();
        // The runs were unnamed: nothing is left in the folder.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        out
    }

    #[test]
    fn sorts_stably_in_memory_and_through_runs() {
        // Keys repeat, so that stability shows: values count up per key.
        let records: Vec<(u32, u32)> = (0..10_000u32).map(|i| ((i * 7919) % 101, i)).collect();
        let mut expected = records.clone();
        expected.sort_by_key(|r| r.0);
        assert_eq!(sorted(1 << 20, &records), expected, "one buffer");
        // 8-byte records, 64 bytes a run: 1,250 runs, so also the merge of
        // merges when runs exceed the fan-in.
        assert_eq!(sorted(64, &records), expected, "many runs");
        assert_eq!(sorted(64, &[]), []);
    }

    #[test]
    fn keys_of_any_length_and_empty_values() {
        let dir = tempfile::tempdir().unwrap();
        let mut sorter = Sorter::with_buffer(dir.path(), 16);
        for key in ["b", "", "abc", "ab", "b"] {
            sorter.push(key.as_bytes(), b"").unwrap();
        }
        let keys: Vec<Vec<u8>> = sorter.finish().unwrap().map(|r| r.unwrap().0).collect();
        assert_eq!(keys, [&b""[..], b"ab", b"abc", b"b", b"b"]);
    }
}
