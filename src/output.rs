//! Writing results: atomic files, stdout, and safe file names.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

/// Writing failed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// `--no-clobber` and the file exists.
    #[error("{} exists; kept it (--no-clobber)", .0.display())]
    Exists(PathBuf),
    /// The folder to write into does not exist.
    #[error("cannot write {}: the folder {} does not exist; create it first", path.display(), folder.display())]
    NoFolder {
        /// The file that was to be written.
        path: PathBuf,
        /// Its folder.
        folder: PathBuf,
    },
    /// The output path is a folder.
    #[error("cannot write {}: it is a folder; give a file name", .0.display())]
    IsFolder(PathBuf),
    /// Binary data would go to a terminal.
    #[error(
        "refusing to write image bytes to a terminal; redirect stdout (-o - > file) or give -o FILE"
    )]
    Terminal,
    /// Any other I/O failure.
    #[error("cannot write {}: {source}{}", path.display(), advice(source))]
    Io {
        /// The file (or `-` for stdout).
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
}

/// What to check for common write failures.
fn advice(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::PermissionDenied => "; check that you may write to that folder",
        io::ErrorKind::ReadOnlyFilesystem => "; the file system is read-only",
        io::ErrorKind::StorageFull => "; the disk is full",
        io::ErrorKind::FileTooLarge => {
            "; the disk is full or a file-size limit (ulimit -f) applies"
        }
        io::ErrorKind::QuotaExceeded => "; the disk quota is used up",
        _ => "",
    }
}

impl OutputError {
    /// True when stdout was closed by the reader (`| head`): not worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, OutputError::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Temporary files being written, so that Ctrl-C never leaves a partial file
/// behind: a file is registered while the creation lock is held (shared, so
/// that workers creating files at once do not wait for each other), and
/// [`remove_temporary_files`] takes that lock exclusively, removes them all
/// and closes the registry, so no file can appear between the clean-up and
/// the exit, and none is missed.
struct TempFiles {
    /// True once closed.
    creating: RwLock<bool>,
    files: Mutex<Vec<PathBuf>>,
}

impl TempFiles {
    const fn new() -> TempFiles {
        TempFiles {
            creating: RwLock::new(false),
            files: Mutex::new(Vec::new()),
        }
    }

    fn files(&self) -> std::sync::MutexGuard<'_, Vec<PathBuf>> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a temporary file in `folder`, registered before anyone can see it.
    fn create_in(
        &self,
        builder: &tempfile::Builder,
        folder: &Path,
    ) -> io::Result<tempfile::NamedTempFile> {
        let closed = self.creating.read().unwrap_or_else(|e| e.into_inner());
        if *closed {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "interrupted: the tool is leaving",
            ));
        }
        let temp = builder.tempfile_in(folder)?;
        self.files().push(temp.path().to_path_buf());
        drop(closed);
        Ok(temp)
    }

    fn forget(&self, path: &Path) {
        self.files().retain(|p| p != path);
    }

    fn remove_all_and_close(&self) {
        let mut closed = self.creating.write().unwrap_or_else(|e| e.into_inner());
        *closed = true;
        for file in self.files().drain(..) {
            let _ = fs::remove_file(file);
        }
    }
}

static IN_PROGRESS: TempFiles = TempFiles::new();

/// Removes every temporary file still being written and refuses new ones:
/// for the Ctrl-C handler, just before the process exits.
pub fn remove_temporary_files() {
    IN_PROGRESS.remove_all_and_close();
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder,
/// then a rename, so the file appears complete or not at all. With
/// `overwrite == false` an existing file is kept and [`OutputError::Exists`] returned.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("a.jpg");
/// ews_photo::output::write_atomic(&path, b"one", true).unwrap();
/// assert!(ews_photo::output::write_atomic(&path, b"two", false).is_err());
/// assert_eq!(std::fs::read(&path).unwrap(), b"one");
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8], overwrite: bool) -> Result<(), OutputError> {
    write_atomic_with(path, overwrite, |file| file.write_all(bytes))
}

/// The tool's per-user cache folder (tokens, Autodiscover answers):
/// `$XDG_CACHE_HOME/ews-photo` when that is set to an absolute path, on every
/// platform; else `~/.cache/ews-photo` (Linux and other Unixes),
/// `~/Library/Caches/ews-photo` (macOS), `%LOCALAPPDATA%\ews-photo` (Windows).
///
/// ```
/// if let Some(dir) = ews_photo::output::cache_dir() {
///     assert!(dir.ends_with("ews-photo"));
/// }
/// ```
pub fn cache_dir() -> Option<PathBuf> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = if let Some(dir) = absolute("XDG_CACHE_HOME") {
        dir
    } else if cfg!(windows) {
        absolute("LOCALAPPDATA")?
    } else if cfg!(target_os = "macos") {
        absolute("HOME")?.join("Library").join("Caches")
    } else {
        absolute("HOME")?.join(".cache")
    };
    Some(base.join("ews-photo"))
}

/// [`write_atomic`] for content produced by `write` (e.g. streamed
/// serialisation), without holding it all in memory first.
pub fn write_atomic_with(
    path: &Path,
    overwrite: bool,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    let io_error = |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        return Err(OutputError::IsFolder(path.to_path_buf()));
    }
    if !overwrite && path.symlink_metadata().is_ok() {
        return Err(OutputError::Exists(path.to_path_buf()));
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Whether the folder exists is looked into only when something failed:
    // an export writes hundreds of thousands of files into a folder it made,
    // and every look is a system call.
    let explain = |error: OutputError| {
        if !folder.is_dir() {
            OutputError::NoFolder {
                path: path.to_path_buf(),
                folder: folder.clone(),
            }
        } else {
            error
        }
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".ews-photo-").suffix(".part");
    // tempfile creates private (0600) files; a photo should get the usual
    // permissions, i.e. 0666 less the umask, like any file a tool writes.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temp = IN_PROGRESS
        .create_in(&builder, &folder)
        .map_err(|e| explain(io_error(e)))?;
    let temp_path = temp.path().to_path_buf();
    let result = (|| {
        write(&mut temp).map_err(io_error)?;
        temp.flush().map_err(io_error)?;
        if overwrite {
            temp.persist(path).map_err(|e| explain(io_error(e.error)))?;
        } else {
            temp.persist_noclobber(path).map_err(|e| {
                if e.error.kind() == io::ErrorKind::AlreadyExists {
                    OutputError::Exists(path.to_path_buf())
                } else {
                    explain(io_error(e.error))
                }
            })?;
        }
        Ok(())
    })();
    IN_PROGRESS.forget(&temp_path);
    result
}

/// Writes one line of text (a URL, a JSON record) to stdout.
pub fn print_line(line: &str) -> Result<(), OutputError> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(|source| OutputError::Io {
            path: PathBuf::from("-"),
            source,
        })
}

/// Writes image bytes to stdout, refusing a terminal.
pub fn write_stdout(bytes: &[u8]) -> Result<(), OutputError> {
    use std::io::IsTerminal;
    let stdout = io::stdout();
    if stdout.is_terminal() {
        return Err(OutputError::Terminal);
    }
    let mut lock = stdout.lock();
    lock.write_all(bytes)
        .and_then(|()| lock.flush())
        .map_err(|source| OutputError::Io {
            path: PathBuf::from("-"),
            source,
        })
}

/// Makes one safe file-name component out of arbitrary text: no path
/// separators, no `..`, no control or reserved characters, no leading dot or
/// trailing dot/space (Windows), not a reserved device name, at most 200 bytes.
///
/// ```
/// use ews_photo::output::sanitize_file_name;
/// assert_eq!(sanitize_file_name("alice@contoso.com.jpg"), "alice@contoso.com.jpg");
/// assert_eq!(sanitize_file_name("../../etc/passwd"), "___.._etc_passwd");
/// assert_eq!(sanitize_file_name("a\\b:c*?\"<>|\u{7}.jpg"), "a_b_c_______.jpg");
/// ```
pub fn sanitize_file_name(text: &str) -> String {
    // Nearly every address is already a safe name: checked in one pass.
    if plainly_safe(text) {
        return text.to_string();
    }
    sanitize_slowly(text)
}

/// [`sanitize_file_name`] of a name the caller owns: handed back as it is
/// when already safe, without a copy.
pub(crate) fn sanitize_owned_file_name(name: String) -> String {
    if plainly_safe(&name) {
        name
    } else {
        sanitize_slowly(&name)
    }
}

/// True when [`sanitize_file_name`] leaves `text` as it is.
pub(crate) fn is_safe_file_name(text: &str) -> bool {
    plainly_safe(text) || sanitize_slowly(text) == text
}

fn sanitize_slowly(text: &str) -> String {
    const RESERVED: [&str; 22] = [
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
        "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ];
    let mut name: String = text
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let stem = name
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    if RESERVED.contains(&stem.trim_end()) {
        name.insert(0, '_');
    }
    // Cut first, so that what follows also holds for the end of a cut name.
    truncate_bytes(&mut name, 200);
    // A leading dot would hide the file (and ".." is the parent folder);
    // Windows drops trailing dots and spaces. Replace them, keeping the length.
    let rest = name.trim_start_matches('.');
    let leading = name.len() - rest.len();
    let middle = rest.trim_end_matches(['.', ' ']);
    let trailing = rest.len() - middle.len();
    let safe = format!("{}{middle}{}", "_".repeat(leading), "_".repeat(trailing));
    if safe.is_empty() {
        "_".to_string()
    } else {
        safe
    }
}

/// True when [`sanitize_file_name`] would return `text` unchanged, seen
/// without building anything: short, only letters, digits and `@._-+`, no
/// dot at either end, and not a reserved device name before its first dot.
fn plainly_safe(text: &str) -> bool {
    const DEVICES: [&str; 4] = ["CON", "PRN", "AUX", "NUL"];
    let bytes = text.as_bytes();
    if bytes.is_empty()
        || bytes.len() > 200
        || bytes[0] == b'.'
        || bytes[bytes.len() - 1] == b'.'
        || !bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'_' | b'-' | b'+'))
    {
        return false;
    }
    let stem = text.split('.').next().unwrap_or_default();
    let numbered = stem.len() == 4
        && (stem[..3].eq_ignore_ascii_case("COM") || stem[..3].eq_ignore_ascii_case("LPT"))
        && matches!(stem.as_bytes()[3], b'1'..=b'9');
    !numbered && !DEVICES.iter().any(|d| stem.eq_ignore_ascii_case(d))
}

fn truncate_bytes(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_never_escape_the_folder() {
        for hostile in [
            "..",
            ".",
            "../x",
            "a/../../b",
            "/etc/passwd",
            "C:\\Windows",
            "\u{0}",
            "",
            " ",
            "...",
            "con.jpg",
            "LPT1",
        ] {
            let name = sanitize_file_name(hostile);
            assert!(!name.is_empty());
            assert!(
                !name.contains('/') && !name.contains('\\') && !name.contains('\0'),
                "{name}"
            );
            assert!(
                name != "." && name != ".." && !name.starts_with('.'),
                "{hostile:?} -> {name}"
            );
            assert!(
                !name.ends_with('.') && !name.ends_with(' '),
                "{hostile:?} -> {name}"
            );
            assert_ne!(name.to_ascii_uppercase().split('.').next(), Some("CON"));
        }
    }

    #[test]
    fn dots_and_spaces_only() {
        // Found by the file_name fuzz target: a leading dot followed by trailing
        // dots and spaces overlapped and panicked.
        for text in [". ", ". .", "..  ", " .", ".", " "] {
            let name = sanitize_file_name(text);
            assert!(
                name.chars().all(|c| c == '_' || c == ' '),
                "{text:?} -> {name:?}"
            );
            assert!(
                !name.ends_with(' ') && !name.starts_with('.'),
                "{text:?} -> {name:?}"
            );
        }
    }

    #[test]
    fn long_names_are_cut_on_a_char_boundary() {
        let name = sanitize_file_name(&"é".repeat(300));
        assert!(name.len() <= 200);
    }

    #[test]
    fn atomic_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.jpg");
        write_atomic(&path, b"data", false).unwrap();
        assert!(matches!(
            write_atomic(&path, b"other", false),
            Err(OutputError::Exists(_))
        ));
        write_atomic(&path, b"new", true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["x.jpg"]);
    }

    #[test]
    fn temporary_files_are_registered_as_they_are_created_and_cannot_outlive_the_clean_up() {
        let dir = tempfile::tempdir().unwrap();
        let registry = TempFiles::new();
        let mut builder = tempfile::Builder::new();
        builder.prefix(".ews-photo-").suffix(".part");
        let temp = registry.create_in(&builder, dir.path()).unwrap();
        // Registered by the very call that created it: no window for Ctrl-C.
        assert_eq!(*registry.files(), [temp.path().to_path_buf()]);
        registry.remove_all_and_close();
        assert!(!temp.path().exists());
        // After the clean-up, nothing new can appear.
        let err = registry.create_in(&builder, dir.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Interrupted);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn missing_folder_and_folder_as_file_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(&dir.path().join("nope/x.jpg"), b"d", true).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let err = write_atomic(dir.path(), b"d", true).unwrap_err();
        assert!(matches!(err, OutputError::IsFolder(_)));
    }

    #[test]
    fn the_quick_check_agrees_with_the_full_sanitizer() {
        let mut names = vec![
            "alice@contoso.com.jpg".to_string(),
            "a".into(),
            ".hidden@x.jpg".into(),
            "x@y.".into(),
            "con.jpg".into(),
            "CON".into(),
            "com1.jpg".into(),
            "Com9@x.png".into(),
            "com0.jpg".into(),
            "lpt10.jpg".into(),
            "nul.x".into(),
            "con@x.jpg".into(),
            "a b.jpg".into(),
            "a:b.jpg".into(),
            "é@x.jpg".into(),
            "x".repeat(200),
            "x".repeat(201),
            "a..b".into(),
            "-_+@.x".into(),
        ];
        for c in 0u8..128 {
            names.push(format!("a{}b.jpg", c as char));
        }
        for name in &names {
            assert_eq!(sanitize_file_name(name), sanitize_slowly(name), "{name:?}");
            if plainly_safe(name) {
                assert_eq!(&sanitize_slowly(name), name, "{name:?}");
            }
        }
    }
}
