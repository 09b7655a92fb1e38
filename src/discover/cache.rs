//! Autodiscover results kept on disk, one small JSON file per address domain,
//! so that a bulk run or a second call does not discover again.
//!
//! The folder is `ews-photo/autodiscover` in the platform's cache folder:
//! `$XDG_CACHE_HOME` when set (on every platform, so tests and users can move
//! it), else `~/.cache` on Linux and other Unixes, `~/Library/Caches` on
//! macOS, `%LOCALAPPDATA%` on Windows. A result is good for [`TTL`]; a file
//! that is older, damaged or from the future counts as absent. Files are
//! written whole to a temporary file beside them and renamed into place, so
//! a reader never sees half a file, even with two runs at once.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::HttpUrl;
use crate::autodiscover::{Found, Source};

/// How long a result is used before Autodiscover runs again.
pub const TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The version of the file format.
const FORMAT: u32 = 1;

/// A cache folder.
///
/// ```
/// use ews_photo::discover::Cache;
/// let cache = Cache::at(std::env::temp_dir().join("ews-photo-doc-cache"));
/// assert!(cache.path("contoso.com").ends_with("contoso.com.json"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cache {
    dir: PathBuf,
}

/// A result read from the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cached {
    /// What was found.
    pub found: Found,
    /// How long ago.
    pub age: Duration,
}

/// The file's content.
#[derive(Serialize, Deserialize)]
struct Entry {
    format: u32,
    domain: String,
    /// Seconds since 1970.
    discovered_at: u64,
    ews_url: String,
    method: Source,
    autodiscover_url: String,
    address: String,
    trusted: bool,
}

impl Cache {
    /// `ews-photo/autodiscover` in the platform's cache folder:
    /// `$XDG_CACHE_HOME` when set (on every platform), else `~/.cache` on
    /// Linux and other Unixes, `~/Library/Caches` on macOS, `%LOCALAPPDATA%`
    /// on Windows; `None` when the environment names none (no home folder).
    pub fn platform() -> Option<Cache> {
        crate::output::cache_dir().map(|dir| Cache::at(dir.join("autodiscover")))
    }

    /// A cache in this folder.
    pub fn at(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file for a domain (checked by Autodiscover to be a DNS name, so it
    /// is a plain file name).
    pub fn path(&self, domain: &str) -> PathBuf {
        self.dir.join(format!("{domain}.json"))
    }

    /// The result for a domain, if there is one younger than [`TTL`].
    pub fn get(&self, domain: &str) -> Option<Cached> {
        self.get_at(domain, SystemTime::now())
    }

    fn get_at(&self, domain: &str, now: SystemTime) -> Option<Cached> {
        let text = std::fs::read(self.path(domain)).ok()?;
        let entry: Entry = serde_json::from_slice(&text).ok()?;
        if entry.format != FORMAT || entry.domain != domain {
            return None;
        }
        let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
        let age = Duration::from_secs(now.checked_sub(entry.discovered_at)?);
        if age >= TTL {
            return None;
        }
        let ews_url = HttpUrl::parse(&entry.ews_url).ok()?;
        // Only an https URL was ever stored: anything else was edited in.
        if !ews_url.is_https() {
            return None;
        }
        Some(Cached {
            found: Found {
                ews_url,
                method: entry.method,
                autodiscover_url: HttpUrl::parse(&entry.autodiscover_url).ok()?,
                address: entry.address,
                trusted: entry.trusted,
            },
            age,
        })
    }

    /// Stores the result for a domain, atomically; the error says why not.
    pub fn put(&self, domain: &str, found: &Found) -> Result<(), String> {
        self.put_at(domain, found, SystemTime::now())
    }

    fn put_at(&self, domain: &str, found: &Found, now: SystemTime) -> Result<(), String> {
        let entry = Entry {
            format: FORMAT,
            domain: domain.to_string(),
            discovered_at: now
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            ews_url: found.ews_url.as_str().to_string(),
            method: found.method,
            autodiscover_url: found.autodiscover_url.as_str().to_string(),
            address: found.address.clone(),
            trusted: found.trusted,
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        let mut text = serde_json::to_vec_pretty(&entry).map_err(|e| e.to_string())?;
        text.push(b'\n');
        crate::output::write_atomic(&self.path(domain), &text, true).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(ews: &str) -> Found {
        Found {
            ews_url: HttpUrl::parse(ews).unwrap(),
            method: Source::V2,
            autodiscover_url: HttpUrl::parse(
                "https://autodiscover.contoso.com/autodiscover/autodiscover.json/v1.0/jdoe@contoso.com?Protocol=EWS",
            )
            .unwrap(),
            address: "jdoe@contoso.com".into(),
            trusted: true,
        }
    }

    #[test]
    fn a_result_lives_for_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().join("nested"));
        let then = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let result = found("https://mail.contoso.com/EWS/Exchange.asmx");
        cache.put_at("contoso.com", &result, then).unwrap();
        let hour = Duration::from_secs(3600);
        let hit = cache.get_at("contoso.com", then + hour).unwrap();
        assert_eq!(hit.found, result);
        assert_eq!(hit.age, hour);
        assert!(cache.get_at("contoso.com", then + TTL - hour).is_some());
        assert!(cache.get_at("contoso.com", then + TTL).is_none());
        // A clock set back: the file is from the future, not trusted.
        assert!(cache.get_at("contoso.com", then - hour).is_none());
        assert!(cache.get_at("fabrikam.com", then + hour).is_none());
        // Replaced whole; no temporary file is left behind.
        let newer = found("https://mail2.contoso.com/EWS/Exchange.asmx");
        cache.put_at("contoso.com", &newer, then + hour).unwrap();
        assert_eq!(
            cache.get_at("contoso.com", then + hour).unwrap().found,
            newer
        );
        let names: Vec<_> = std::fs::read_dir(cache.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["contoso.com.json"]);
    }

    #[test]
    fn damaged_or_edited_files_count_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path());
        let now = SystemTime::now();
        cache
            .put_at("contoso.com", &found("https://mail.contoso.com/EWS"), now)
            .unwrap();
        let path = cache.path("contoso.com");
        let text = std::fs::read_to_string(&path).unwrap();
        for damaged in [
            String::new(),
            text[..text.len() / 2].to_string(),
            text.replace(
                "https://mail.contoso.com/EWS",
                "http://mail.contoso.com/EWS",
            ),
            text.replace("\"format\": 1", "\"format\": 99"),
            text.replace(
                "\"domain\": \"contoso.com\"",
                "\"domain\": \"fabrikam.com\"",
            ),
        ] {
            std::fs::write(&path, &damaged).unwrap();
            assert!(cache.get_at("contoso.com", now).is_none(), "{damaged}");
        }
    }

    #[test]
    fn an_unwritable_folder_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "").unwrap();
        let err = Cache::at(file.join("below"))
            .put("contoso.com", &found("https://mail.contoso.com/EWS"))
            .unwrap_err();
        assert!(err.contains("a-file"), "{err}");
    }
}
