//! The manifest kept in the output folder: for each address, its file, size
//! and ETag, so that `--sync` asks only for photos that changed.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::output::{self, OutputError};

/// The manifest's file name in the output folder.
pub const FILE_NAME: &str = ".ews-photo-manifest.json";

/// What was last written for one address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The address as it was given.
    pub email: String,
    /// The file name in the folder.
    pub file: String,
    /// The size code asked for.
    pub size: String,
    /// The `--name` template the file name came from (absent in manifests of
    /// version 0.1, which only ever used what `--name` said at the time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The server's ETag for that photo (Graph: its `@odata.mediaEtag`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The back end that wrote the entry, as `--backend` names it; absent
    /// means `ews` (the only one before Graph). An ETag means something only
    /// to the back end that sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// When it was fetched (UTC, RFC 3339).
    pub fetched: String,
}

/// Address (lower-cased) → entry.
///
/// Entries are held as their JSON text (about half the memory of the parsed
/// form) and parsed when looked up, once per address and run.
#[derive(Debug, Default, Deserialize)]
pub struct Manifest {
    /// Format version (1).
    pub version: u32,
    #[serde(deserialize_with = "compact_entries")]
    entries: BTreeMap<Box<str>, Box<str>>,
}

/// Reads the `entries` object one entry at a time, keeping each as compact JSON.
fn compact_entries<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<Box<str>, Box<str>>, D::Error> {
    struct Entries;
    impl<'de> Visitor<'de> for Entries {
        type Value = BTreeMap<Box<str>, Box<str>>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of address → entry")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries = BTreeMap::new();
            while let Some((key, entry)) = map.next_entry::<String, Entry>()? {
                let json = serde_json::to_string(&entry).map_err(de::Error::custom)?;
                entries.insert(key.to_lowercase().into(), json.into());
            }
            Ok(entries)
        }
    }
    deserializer.deserialize_map(Entries)
}

impl Entry {
    /// The back end that wrote it: `ews` when the entry does not say.
    pub fn backend(&self) -> &str {
        self.backend.as_deref().unwrap_or("ews")
    }
}

impl Manifest {
    /// The manifest's path in `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// Loads the folder's manifest. A missing one is empty; an unreadable or
    /// damaged one is empty too, with a warning to show.
    pub fn load(dir: &Path) -> (Manifest, Option<String>) {
        let path = Manifest::path(dir);
        let file = match std::fs::File::open(&path) {
            Ok(file) => io::BufReader::new(file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return (Manifest::new(), None);
            }
            Err(e) => {
                return (
                    Manifest::new(),
                    Some(format!(
                        "cannot read {} ({e}); every photo will be fetched again",
                        path.display()
                    )),
                );
            }
        };
        match serde_json::from_reader::<_, Manifest>(file) {
            Ok(manifest) => (manifest, None),
            Err(e) => (
                Manifest::new(),
                Some(format!(
                    "{} is damaged ({e}); every photo will be fetched again and the manifest rewritten",
                    path.display()
                )),
            ),
        }
    }

    fn new() -> Manifest {
        Manifest {
            version: 1,
            entries: BTreeMap::new(),
        }
    }

    /// The entry of an address.
    pub fn get(&self, email: &str) -> Option<Entry> {
        let json = self.entries.get(email.to_lowercase().as_str())?;
        serde_json::from_str(json).ok()
    }

    /// Records a fetched photo.
    pub fn set(&mut self, entry: &Entry) {
        let json = serde_json::to_string(entry).expect("an entry serialises");
        self.entries
            .insert(entry.email.to_lowercase().into(), json.into());
    }

    /// Forgets an address.
    pub fn remove(&mut self, email: &str) {
        self.entries.remove(email.to_lowercase().as_str());
    }

    /// True when it knows no address.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Serialises the manifest, one entry a line (for people and diffs).
    pub fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut out = BufWriter::with_capacity(64 * 1024, out);
        write!(out, "{{\"version\":{},\"entries\":{{", self.version)?;
        for (i, (key, json)) in self.entries.iter().enumerate() {
            out.write_all(if i > 0 { b",\n" } else { b"\n" })?;
            serde_json::to_writer(&mut out, key)?;
            out.write_all(b":")?;
            out.write_all(json.as_bytes())?;
        }
        out.write_all(b"\n}}\n")?;
        out.flush()
    }

    /// Writes the manifest atomically into `dir`, streamed.
    pub fn save(&self, dir: &Path) -> Result<(), OutputError> {
        output::write_atomic_with(&Manifest::path(dir), true, |out| self.write_to(out))
    }
}

/// Now, as `2026-11-27T13:40:05Z`.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_786_205), "2026-11-27T13:30:05Z");
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Manifest::load(dir.path()).0;
        m.set(&Entry {
            email: "Alice@Contoso.com".into(),
            file: "Alice@Contoso.com.jpg".into(),
            size: "HR96x96".into(),
            name: Some("{email}.{ext}".into()),
            etag: Some("abc".into()),
            backend: Some("graph".into()),
            fetched: now_rfc3339(),
        });
        m.save(dir.path()).unwrap();
        let (loaded, warning) = Manifest::load(dir.path());
        assert!(warning.is_none());
        assert_eq!(loaded.get("alice@contoso.com"), m.get("ALICE@contoso.com"));
        std::fs::write(Manifest::path(dir.path()), "{oops").unwrap();
        let (loaded, warning) = Manifest::load(dir.path());
        assert!(loaded.is_empty() && warning.unwrap().contains("damaged"));
    }
}
