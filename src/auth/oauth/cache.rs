//! The token cache: one file per authority + tenant + client + scope, so that
//! a second run in a row makes no token request.
//!
//! An entry keeps the access token with its absolute expiry, the refresh
//! token when there is one, and the signed-in user's address (for
//! `X-AnchorMailbox`). The access token is used as it is until
//! [`EXPIRY_MARGIN`] before it expires (MSAL's rule; a quarter of its life for
//! a token that lives less than 20 minutes); then it is due for renewal (with
//! the refresh token where there is one), and while one user of it renews it,
//! the others may go on sending it until [`LAST_USE`] before it expires.
//!
//! The files hold live credentials, so [`TokenCache`] keeps them private: a
//! 0700 folder, 0600 files written atomically (a temporary file renamed over
//! the old one), and a file that another user owns, that others can read, that
//! is a symbolic link, or that does not parse is ignored with a warning, never
//! trusted.

use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::response::TokenResponse;
use super::{Authority, scope};
use crate::Secret;

/// An access token is renewed in its last five minutes.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(300);

/// An access token is never sent in its last 30 seconds (an eighth of its
/// life if that is shorter): it could expire on the way, or by the server's
/// clock.
pub const LAST_USE: Duration = Duration::from_secs(30);

/// How long before its expiry a token of this lifetime (seconds) is renewed:
/// [`EXPIRY_MARGIN`], or a quarter of its life when that is shorter, so that
/// a short-lived token is still used for most of its life.
///
/// ```
/// use ews_photo::auth::oauth::cache::margin;
/// assert_eq!(margin(3599), 300);
/// assert_eq!(margin(8), 2);
/// ```
pub fn margin(lifetime: u64) -> u64 {
    (lifetime / 4).min(EXPIRY_MARGIN.as_secs())
}

/// The format version written; other versions are ignored (and overwritten).
const VERSION: u32 = 1;

/// A cache file larger than this is damaged, not read.
const MAX_FILE: u64 = 1 << 20;

/// What an entry is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    /// The authority URL.
    pub authority: String,
    /// The tenant as given.
    pub tenant: String,
    /// The app's client ID.
    pub client_id: String,
    /// The scopes, normalized ([`scope::normalized`]).
    pub scope: String,
}

impl CacheKey {
    /// The key of a token for `client_id` with `scope` from `authority`.
    pub fn new(authority: &Authority, client_id: &str, scope: &str) -> CacheKey {
        CacheKey {
            authority: authority.base().to_ascii_lowercase(),
            tenant: authority.tenant().to_ascii_lowercase(),
            client_id: client_id.trim().to_ascii_lowercase(),
            scope: scope::normalized(scope),
        }
    }

    /// The entry's file name: a digest of the key, so that no name is
    /// guessable from outside and none carries odd characters.
    ///
    /// ```
    /// use ews_photo::auth::oauth::{Authority, cache::CacheKey};
    /// let a = Authority::new("https://login.microsoftonline.com", "contoso.onmicrosoft.com").unwrap();
    /// let name = CacheKey::new(&a, "app", "https://outlook.office365.com/.default").file_name();
    /// assert!(name.starts_with("token-") && name.ends_with(".json"));
    /// assert_ne!(name, CacheKey::new(&a, "app2", "https://outlook.office365.com/.default").file_name());
    /// ```
    pub fn file_name(&self) -> String {
        let text = [
            self.authority.as_str(),
            &self.tenant,
            &self.client_id,
            &self.scope,
        ]
        .join("\n");
        let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
        let hex: String = digest.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("token-{hex}.json")
    }
}

/// One cached token. `Debug` shows no token.
#[derive(Clone, PartialEq, Eq)]
pub struct CacheEntry {
    key: CacheKey,
    access_token: Secret,
    expires_on: u64,
    lifetime: u64,
    refresh_on: Option<u64>,
    refresh_token: Option<Secret>,
    account: Option<String>,
}

impl fmt::Debug for CacheEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheEntry")
            .field("key", &self.key)
            .field("access_token", &self.access_token)
            .field("expires_on", &self.expires_on)
            .field("lifetime", &self.lifetime)
            .field("refresh_on", &self.refresh_on)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("account", &self.account)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct StoredEntry {
    version: u32,
    #[serde(flatten)]
    key: CacheKey,
    access_token: String,
    expires_on: u64,
    lifetime: u64,
    refresh_on: Option<u64>,
    refresh_token: Option<String>,
    account: Option<String>,
}

fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl CacheEntry {
    /// The entry for a token answer received at `now`. A renewal keeps what
    /// the new answer does not repeat from the `previous` entry: the refresh
    /// token (Entra may not rotate it) and the signed-in user.
    pub fn new(
        key: CacheKey,
        token: &TokenResponse,
        previous: Option<&CacheEntry>,
        now: SystemTime,
    ) -> CacheEntry {
        let now = seconds(now);
        CacheEntry {
            key,
            access_token: token.access_token.clone(),
            expires_on: now.saturating_add(token.expires_in),
            lifetime: token.expires_in,
            refresh_on: token.refresh_in.map(|r| now.saturating_add(r)),
            refresh_token: token
                .refresh_token
                .clone()
                .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
            account: token
                .account
                .clone()
                .or_else(|| previous.and_then(|p| p.account.clone())),
        }
    }

    /// What the entry is for.
    pub fn key(&self) -> &CacheKey {
        &self.key
    }

    /// The access token, while it may still be sent: until [`LAST_USE`]
    /// before it expires. Whether it is due for renewal is
    /// [`CacheEntry::should_renew`].
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use ews_photo::auth::oauth::{Authority, TokenResponse, cache::{CacheEntry, CacheKey}};
    /// use ews_photo::Secret;
    /// let a = Authority::new("https://login.microsoftonline.com", "contoso").unwrap();
    /// let token = TokenResponse { access_token: Secret::new("at"), expires_in: 3600,
    ///     refresh_in: None, refresh_token: None, scope: None, account: None };
    /// let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
    /// let entry = CacheEntry::new(CacheKey::new(&a, "app", "s/.default"), &token, None, t0);
    /// assert!(!entry.should_renew(t0 + Duration::from_secs(3299)));
    /// assert!(entry.should_renew(t0 + Duration::from_secs(3300)));
    /// assert!(entry.access_token(t0 + Duration::from_secs(3569)).is_some());
    /// assert!(entry.access_token(t0 + Duration::from_secs(3570)).is_none());
    /// ```
    pub fn access_token(&self, now: SystemTime) -> Option<&Secret> {
        let last_use = (self.lifetime / 8).min(LAST_USE.as_secs());
        let usable_until = self.expires_on.saturating_sub(last_use);
        (seconds(now) < usable_until).then_some(&self.access_token)
    }

    /// True once the token should be renewed: within its [`margin`] of
    /// expiry, or past Entra's `refresh_in` hint (the token still works then,
    /// so a failed renewal can fall back on it).
    pub fn should_renew(&self, now: SystemTime) -> bool {
        let renew_at = self.expires_on.saturating_sub(margin(self.lifetime));
        seconds(now) >= renew_at || self.refresh_on.is_some_and(|at| seconds(now) >= at)
    }

    /// When the access token expires, in seconds since the epoch.
    pub fn expires_on(&self) -> u64 {
        self.expires_on
    }

    /// The refresh token, if the sign-in gave one.
    pub fn refresh_token(&self) -> Option<&Secret> {
        self.refresh_token.as_ref()
    }

    /// The signed-in user's address, from the sign-in's ID token.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// The access token whatever its age (for a token just received).
    pub fn current_token(&self) -> &Secret {
        &self.access_token
    }

    /// The entry as the cache file's JSON.
    pub fn to_json(&self) -> Secret {
        let stored = StoredEntry {
            version: VERSION,
            key: self.key.clone(),
            access_token: self.access_token.expose().to_string(),
            expires_on: self.expires_on,
            lifetime: self.lifetime,
            refresh_on: self.refresh_on,
            refresh_token: self.refresh_token.as_ref().map(|t| t.expose().to_string()),
            account: self.account.clone(),
        };
        Secret::new(serde_json::to_string_pretty(&stored).unwrap_or_default())
    }

    /// Reads a cache file's JSON, which must be for `key`.
    pub fn from_json(text: &[u8], key: &CacheKey) -> Result<CacheEntry, String> {
        let stored: StoredEntry = serde_json::from_slice(text)
            .map_err(|e| format!("it is not a token cache entry ({})", e.classify_name()))?;
        if stored.version != VERSION {
            return Err(format!(
                "it has format version {}, not {VERSION}",
                stored.version
            ));
        }
        if &stored.key != key {
            return Err("it is for another authority, tenant, client or scope".into());
        }
        if stored.access_token.is_empty() {
            return Err("its access token is empty".into());
        }
        Ok(CacheEntry {
            key: stored.key,
            access_token: Secret::new(stored.access_token),
            expires_on: stored.expires_on,
            lifetime: stored.lifetime,
            refresh_on: stored.refresh_on,
            refresh_token: stored
                .refresh_token
                .filter(|t| !t.is_empty())
                .map(Secret::new),
            account: stored.account,
        })
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "fields missing or wrong",
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

/// Why a cache file was not used or not written. The caller warns and goes on
/// without the cache: a token request instead of a trusted bad file.
#[derive(Debug, thiserror::Error)]
pub enum CacheWarning {
    /// Another user owns the file or folder: someone may have planted it.
    #[error("ignoring the token cache {}: it belongs to another user (uid {owner}); remove it, or run with --no-token-cache", path.display())]
    Foreign {
        /// The file or folder.
        path: PathBuf,
        /// Its owner.
        owner: u32,
    },
    /// Other users may read the file: the tokens in it may have leaked.
    #[error("ignoring the token cache file {}: other users can read it (mode {mode:o}); it will be rewritten private (0600)", path.display())]
    NotPrivate {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file does not parse, or is not a regular file.
    #[error("ignoring the token cache file {}: {why}; it will be rewritten", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// Reading or writing failed.
    #[error("the token cache {} cannot be used: {error}; going on without it (pass --no-token-cache to stop trying)", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The system's error.
        error: std::io::Error,
    },
}

/// The cache folder on disk.
#[derive(Clone, Debug)]
pub struct TokenCache {
    dir: PathBuf,
}

impl TokenCache {
    /// A cache in `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> TokenCache {
        TokenCache { dir: dir.into() }
    }

    /// The tool's cache folder ([`crate::output::cache_dir`]).
    pub fn default_dir() -> Option<PathBuf> {
        crate::output::cache_dir()
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(key.file_name())
    }

    /// The entry for `key`: `Ok(None)` when there is none, `Err` when the
    /// file is there but must not be trusted (warn, then go on without it).
    pub fn load(&self, key: &CacheKey) -> Result<Option<CacheEntry>, CacheWarning> {
        let path = self.path(key);
        if let Err(warning) = self.check_dir(false) {
            return match warning {
                CacheWarning::Io { error, .. } if error.kind() == std::io::ErrorKind::NotFound => {
                    Ok(None)
                }
                other => Err(other),
            };
        }
        let file = match open_no_follow(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(refused_open(path, error)),
        };
        let meta = file.metadata().map_err(|error| CacheWarning::Io {
            path: path.clone(),
            error,
        })?;
        if !meta.is_file() {
            return Err(CacheWarning::Damaged {
                path,
                why: "it is not a regular file".into(),
            });
        }
        check_private_file(&path, &meta)?;
        if meta.len() > MAX_FILE {
            return Err(CacheWarning::Damaged {
                path,
                why: format!("it is {} bytes, far too large", meta.len()),
            });
        }
        let mut text = Vec::new();
        file.take(MAX_FILE)
            .read_to_end(&mut text)
            .map_err(|error| CacheWarning::Io {
                path: path.clone(),
                error,
            })?;
        CacheEntry::from_json(&text, key)
            .map(Some)
            .map_err(|why| CacheWarning::Damaged { path, why })
    }

    /// Writes the entry atomically, readable by this user only.
    pub fn store(&self, entry: &CacheEntry) -> Result<(), CacheWarning> {
        self.check_dir(true)?;
        let path = self.path(entry.key());
        let io = |error| CacheWarning::Io {
            path: path.clone(),
            error,
        };
        // tempfile creates the file 0600 on Unix, with a random name, O_EXCL.
        let mut file = tempfile::NamedTempFile::new_in(&self.dir).map_err(io)?;
        file.write_all(entry.to_json().expose().as_bytes())
            .map_err(io)?;
        file.as_file().sync_all().map_err(io)?;
        file.persist(&path).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// Removes the entry (after its refresh token was refused).
    pub fn remove(&self, key: &CacheKey) -> Result<(), CacheWarning> {
        let path = self.path(key);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(CacheWarning::Io { path, error }),
        }
    }

    /// The folder must be ours and private; `create` makes it (0700).
    fn check_dir(&self, create: bool) -> Result<(), CacheWarning> {
        let io = |error| CacheWarning::Io {
            path: self.dir.clone(),
            error,
        };
        if create {
            if let Some(parent) = self.dir.parent() {
                fs::create_dir_all(parent).map_err(io)?;
            }
            let mut builder = fs::DirBuilder::new();
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            match builder.create(&self.dir) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(io(error)),
            }
        }
        let meta = fs::symlink_metadata(&self.dir).map_err(io)?;
        if !meta.is_dir() {
            return Err(CacheWarning::Damaged {
                path: self.dir.clone(),
                why: "it is not a folder (or is a symbolic link)".into(),
            });
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::{MetadataExt, PermissionsExt};
            let me = rustix::process::geteuid().as_raw();
            if meta.uid() != me {
                return Err(CacheWarning::Foreign {
                    path: self.dir.clone(),
                    owner: meta.uid(),
                });
            }
            if meta.mode() & 0o077 != 0 {
                // Our own folder, too open (made by hand): close it.
                fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
            }
        }
        Ok(())
    }
}

fn open_no_follow(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW);
    options.open(path)
}

fn refused_open(path: PathBuf, error: std::io::Error) -> CacheWarning {
    // O_NOFOLLOW on a symbolic link fails with ELOOP.
    #[cfg(unix)]
    if error.raw_os_error() == Some(libc::ELOOP) {
        return CacheWarning::Damaged {
            path,
            why: "it is a symbolic link".into(),
        };
    }
    CacheWarning::Io { path, error }
}

#[cfg(unix)]
fn check_private_file(path: &Path, meta: &fs::Metadata) -> Result<(), CacheWarning> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(CacheWarning::Foreign {
            path: path.to_path_buf(),
            owner: meta.uid(),
        });
    }
    if meta.mode() & 0o077 != 0 {
        return Err(CacheWarning::NotPrivate {
            path: path.to_path_buf(),
            mode: meta.mode() & 0o7777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_file(_path: &Path, _meta: &fs::Metadata) -> Result<(), CacheWarning> {
    // %LOCALAPPDATA% is the user's own by its ACL.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(client: &str) -> CacheKey {
        let a = Authority::new(
            "https://login.microsoftonline.com",
            "contoso.onmicrosoft.com",
        )
        .unwrap();
        CacheKey::new(
            &a,
            client,
            "offline_access https://outlook.office365.com/EWS.AccessAsUser.All",
        )
    }

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_796_000_000 + s)
    }

    fn token(access: &str, refresh: Option<&str>) -> TokenResponse {
        TokenResponse {
            access_token: Secret::new(access),
            expires_in: 3600,
            refresh_in: None,
            refresh_token: refresh.map(Secret::new),
            scope: None,
            account: None,
        }
    }

    #[test]
    fn usable_until_five_minutes_before_expiry_then_renew() {
        let entry = CacheEntry::new(key("app"), &token("at-1", Some("rt-1")), None, at(0));
        assert_eq!(entry.expires_on(), 1_796_003_600);
        assert_eq!(entry.access_token(at(3299)).unwrap().expose(), "at-1");
        assert!(!entry.should_renew(at(3299)));
        assert!(entry.should_renew(at(3300)) && entry.access_token(at(3300)).is_some());
        assert!(entry.access_token(at(3570)).is_none());
        // A short-lived token: renewed after three quarters of its life, sent
        // until its last eighth.
        let mut short = token("at-s", None);
        short.expires_in = 8;
        let entry = CacheEntry::new(key("app"), &short, None, at(0));
        assert!(!entry.should_renew(at(5)) && entry.should_renew(at(6)));
        assert!(entry.access_token(at(6)).is_some() && entry.access_token(at(7)).is_none());
        // refresh_in asks for an early renewal while the token still works.
        let mut hinted = token("at-2", None);
        hinted.refresh_in = Some(1800);
        let first = CacheEntry::new(key("app"), &token("at-1", Some("rt-1")), None, at(0));
        let entry = CacheEntry::new(key("app"), &hinted, Some(&first), at(0));
        assert!(entry.should_renew(at(1800)) && entry.access_token(at(1800)).is_some());
        // A renewal without a new refresh token keeps the old one.
        assert_eq!(entry.refresh_token().unwrap().expose(), "rt-1");
    }

    #[test]
    fn same_scopes_in_another_order_are_the_same_key() {
        let a = Authority::new(
            "https://login.microsoftonline.com/",
            "Contoso.onmicrosoft.com",
        )
        .unwrap();
        let other = CacheKey::new(
            &a,
            "APP",
            "https://outlook.office365.com/EWS.AccessAsUser.All  offline_access",
        );
        assert_eq!(other.file_name(), key("app").file_name());
        assert_ne!(key("app").file_name(), key("app2").file_name());
    }

    #[test]
    fn json_round_trip_and_checks() {
        let entry = CacheEntry::new(key("app"), &token("at-1", Some("rt-1")), None, at(0));
        let json = entry.to_json();
        let back = CacheEntry::from_json(json.expose().as_bytes(), &key("app")).unwrap();
        assert_eq!(back, entry);
        let e = CacheEntry::from_json(json.expose().as_bytes(), &key("other")).unwrap_err();
        assert!(e.contains("another"), "{e}");
        assert!(
            CacheEntry::from_json(b"{", &key("app"))
                .unwrap_err()
                .contains("cut short")
        );
        let v2 = json.expose().replace("\"version\": 1", "\"version\": 2");
        assert!(
            CacheEntry::from_json(v2.as_bytes(), &key("app"))
                .unwrap_err()
                .contains("version 2")
        );
        let shown = format!("{entry:?}");
        assert!(
            !shown.contains("at-1") && !shown.contains("rt-1"),
            "{shown}"
        );
    }

    #[test]
    fn files_are_private_and_written_atomically() {
        let home = tempfile::tempdir().unwrap();
        let cache = TokenCache::new(home.path().join("cache").join("ews-photo"));
        let k = key("app");
        assert!(cache.load(&k).unwrap().is_none(), "no folder yet: no entry");
        let entry = CacheEntry::new(k.clone(), &token("at-1", Some("rt-1")), None, at(0));
        cache.store(&entry).unwrap();
        assert_eq!(cache.load(&k).unwrap().unwrap(), entry);
        let second = CacheEntry::new(k.clone(), &token("at-2", None), Some(&entry), at(10));
        cache.store(&second).unwrap();
        assert_eq!(cache.load(&k).unwrap().unwrap(), second);
        let names: Vec<_> = fs::read_dir(cache.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            [std::ffi::OsString::from(k.file_name())],
            "no temporary file left"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(cache.dir()), 0o700);
            assert_eq!(mode(&cache.dir().join(k.file_name())), 0o600);
        }
        cache.remove(&k).unwrap();
        assert!(cache.load(&k).unwrap().is_none());
    }

    #[test]
    fn damaged_files_are_ignored_with_a_reason() {
        let home = tempfile::tempdir().unwrap();
        let cache = TokenCache::new(home.path().join("ews-photo"));
        let k = key("app");
        cache
            .store(&CacheEntry::new(k.clone(), &token("at", None), None, at(0)))
            .unwrap();
        let path = cache.dir().join(k.file_name());
        fs::write(&path, b"{\"version\":1,").unwrap();
        let warning = cache.load(&k).unwrap_err();
        assert!(
            matches!(warning, CacheWarning::Damaged { .. }),
            "{warning:?}"
        );
        assert!(warning.to_string().contains("rewritten"), "{warning}");
    }

    #[cfg(unix)]
    #[test]
    fn open_files_links_and_open_folders() {
        use std::os::unix::fs::PermissionsExt;
        let home = tempfile::tempdir().unwrap();
        let cache = TokenCache::new(home.path().join("ews-photo"));
        let k = key("app");
        cache
            .store(&CacheEntry::new(k.clone(), &token("at", None), None, at(0)))
            .unwrap();
        let path = cache.dir().join(k.file_name());

        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let warning = cache.load(&k).unwrap_err();
        assert!(
            matches!(warning, CacheWarning::NotPrivate { mode: 0o644, .. }),
            "{warning:?}"
        );

        let elsewhere = home.path().join("planted.json");
        fs::rename(&path, &elsewhere).unwrap();
        fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        let warning = cache.load(&k).unwrap_err();
        assert!(warning.to_string().contains("symbolic link"), "{warning}");
        fs::remove_file(&path).unwrap();

        // A folder made too open by hand is closed again on use.
        fs::set_permissions(cache.dir(), fs::Permissions::from_mode(0o755)).unwrap();
        cache
            .store(&CacheEntry::new(k.clone(), &token("at", None), None, at(0)))
            .unwrap();
        assert_eq!(
            fs::metadata(cache.dir()).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    #[cfg(unix)]
    #[test]
    fn another_users_file_or_folder_is_not_trusted() {
        let home = tempfile::tempdir().unwrap();
        let cache = TokenCache::new(home.path().join("ews-photo"));
        let k = key("app");
        cache
            .store(&CacheEntry::new(k.clone(), &token("at", None), None, at(0)))
            .unwrap();
        let path = cache.dir().join(k.file_name());
        if rustix::process::geteuid().is_root() {
            // As root (CI), make the file and then the folder someone else's.
            std::os::unix::fs::chown(&path, Some(4242), None).unwrap();
            let warning = cache.load(&k).unwrap_err();
            assert!(
                matches!(warning, CacheWarning::Foreign { owner: 4242, .. }),
                "{warning:?}"
            );
            std::os::unix::fs::chown(cache.dir(), Some(4243), None).unwrap();
            let warning = cache.load(&k).unwrap_err();
            assert!(
                matches!(warning, CacheWarning::Foreign { owner: 4243, .. }),
                "{warning:?}"
            );
            assert!(
                cache
                    .store(&CacheEntry::new(k, &token("at", None), None, at(0)))
                    .is_err()
            );
        } else {
            // Without root no file can be given away: check root's own "/".
            let warning =
                check_private_file(Path::new("/"), &fs::metadata("/").unwrap()).unwrap_err();
            assert!(
                matches!(warning, CacheWarning::Foreign { owner: 0, .. }),
                "{warning:?}"
            );
            assert!(warning.to_string().contains("another user"), "{warning}");
        }
    }
}
