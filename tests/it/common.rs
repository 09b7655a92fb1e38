//! Shared helpers for the end-to-end tests: run the built binary against the
//! stand-in server, with a clean environment and a private working folder, and
//! check what it did with assert_cmd's assertions.

use std::path::{Path, PathBuf};

pub use assert_cmd::Command;
pub use assert_cmd::assert::Assert;
pub use assert_cmd::prelude::OutputAssertExt;
pub use ews_standin::graph::{Op, OpKind};
pub use ews_standin::{Auth, GraphOptions, GraphStandIn, Options, StandIn};
pub use predicates::prelude::PredicateBooleanExt;
pub use predicates::str::{contains, is_empty};

/// A stand-in server and a scratch folder to run the tool in.
pub struct Setup {
    pub server: StandIn,
    pub dir: tempfile::TempDir,
}

impl Setup {
    pub fn new() -> Setup {
        Setup::with(Options::default())
    }

    pub fn with(options: Options) -> Setup {
        Setup {
            server: StandIn::start(options).expect("stand-in starts"),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A stand-in that wants Basic `CONTOSO\\jdoe` / `S3cr3t-pw-xyz`.
    pub fn basic() -> Setup {
        Setup::with(Options {
            auth: Auth::Basic {
                user: "CONTOSO\\jdoe".into(),
                password: "S3cr3t-pw-xyz".into(),
            },
            ..Default::default()
        })
    }

    /// `ews-photo` with EWS_URL pointing at the stand-in, run in the scratch
    /// folder, with its token cache in `.cache/ews-photo` there.
    pub fn cmd(&self) -> Command {
        let mut cmd = tool();
        cmd.env("EWS_URL", self.server.url())
            .env("XDG_CACHE_HOME", self.path(".cache"))
            .current_dir(self.dir.path());
        cmd
    }

    /// [`Setup::cmd`] with the arguments of a command line, split at spaces
    /// (so no argument may hold one): `s.ews_photo("get a@b.c -o a.jpg")`.
    pub fn ews_photo(&self, line: &str) -> Command {
        let mut cmd = self.cmd();
        cmd.args(line.split_whitespace());
        cmd
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// File names in the scratch folder, sorted (hidden ones included).
    pub fn files(&self) -> Vec<String> {
        files_in(self.dir.path())
    }
}

/// The token the Graph stand-in of [`GraphSetup`] wants.
pub const GRAPH_TOKEN: &str = "graph-tok-5f0c1d8e77a2";

/// A Graph stand-in that wants [`GRAPH_TOKEN`], and a scratch folder.
pub struct GraphSetup {
    pub server: GraphStandIn,
    pub dir: tempfile::TempDir,
}

impl GraphSetup {
    pub fn new() -> GraphSetup {
        GraphSetup::with(GraphOptions::default())
    }

    /// With `options`, the token set to [`GRAPH_TOKEN`].
    pub fn with(options: GraphOptions) -> GraphSetup {
        GraphSetup {
            server: GraphStandIn::start(GraphOptions {
                token: Some(GRAPH_TOKEN.into()),
                ..options
            })
            .expect("Graph stand-in starts"),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// `ews-photo` against the stand-in (`--backend graph`, its URL, the
    /// token as EWS_TOKEN, `--auth bearer`, plain http allowed), in the
    /// scratch folder, with the arguments of `line` split at spaces.
    pub fn ews_photo(&self, line: &str) -> Command {
        let mut cmd = tool();
        cmd.env("EWS_BACKEND", "graph")
            .env("EWS_GRAPH_URL", self.server.url())
            .env("EWS_TOKEN", GRAPH_TOKEN)
            .env("EWS_AUTH", "bearer")
            .current_dir(self.dir.path())
            .args(line.split_whitespace())
            .arg("--allow-insecure-auth");
        cmd
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// File names in the scratch folder, sorted (hidden ones included).
    pub fn files(&self) -> Vec<String> {
        files_in(self.dir.path())
    }

    /// The operations on one user (by UPN, or the address looked up).
    pub fn ops_for(&self, user: &str) -> Vec<Op> {
        self.server
            .ops()
            .into_iter()
            .filter(|op| op.user.eq_ignore_ascii_case(user))
            .collect()
    }
}

/// The tool with a scrubbed environment and a 60 s timeout. Its cache
/// folder is one of the tests' own (not the user's), shared by every test
/// that does not set another: none but the Autodiscover tests uses it.
/// The clean environment every run of the tool gets: none of the tool's
/// variables or proxies from the developer's shell, and no Kerberos
/// credentials unless a test gives some (a ticket of the developer's own would
/// change what --auth auto picks). Also for a command that runs the tool
/// through another program (`setpriv`, `sh -c`).
pub fn clean_environment(cmd: &mut std::process::Command) -> &mut std::process::Command {
    ews_standin::env::clean(cmd).env(
        "XDG_CACHE_HOME",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("shared-cache"),
    )
}

/// The tool as a plain process, for tests that signal or kill it while it
/// runs: the environment of [`tool`], without its time limit.
pub fn spawnable_tool() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ews-photo"));
    clean_environment(&mut cmd);
    cmd
}

pub fn tool() -> Command {
    let mut cmd = Command::from_std(spawnable_tool());
    cmd.timeout(std::time::Duration::from_secs(60));
    cmd
}

pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("readable")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What a run wrote to stderr.
pub fn stderr(run: &Assert) -> String {
    stderr_of(run.get_output())
}

/// stdout of a run, parsed as one JSON value.
pub fn json(run: &Assert) -> serde_json::Value {
    serde_json::from_slice(&run.get_output().stdout).expect("stdout is one JSON value")
}

/// A URL on 127.0.0.1 where nothing listens: port 1 (tcpmux), which no
/// test binds and which needs root to bind, so a refused connection is
/// certain (a released ephemeral port could be taken by a parallel test).
pub fn closed_port_url() -> String {
    "http://127.0.0.1:1/EWS/Exchange.asmx".into()
}

/// A report's rows: column → value.
pub type Rows = Vec<std::collections::HashMap<String, String>>;

/// The rows of a CSV report, each a column → value map; every line must parse.
pub fn csv_report(path: &Path) -> Rows {
    let mut reader = csv::Reader::from_path(path).expect("report exists");
    let headers = reader.headers().expect("header").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "line", "email", "status", "path", "bytes", "width", "height", "etag", "error"
        ]
    );
    reader
        .records()
        .map(|r| {
            let r = r.expect("every report line parses");
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

pub fn row<'a>(rows: &'a Rows, email: &str) -> &'a std::collections::HashMap<String, String> {
    rows.iter()
        .find(|r| r["email"] == email)
        .unwrap_or_else(|| panic!("no row for {email}: {rows:?}"))
}

pub fn manifest(dir: &Path) -> serde_json::Value {
    let text = std::fs::read(dir.join(".ews-photo-manifest.json")).expect("manifest exists");
    serde_json::from_slice(&text).expect("manifest is valid JSON")
}

/// (inode, mtime) of every file in a folder: a rewrite changes the inode.
pub fn identities(dir: &Path) -> std::collections::HashMap<String, (u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                (meta.ino(), meta.modified().unwrap()),
            )
        })
        .filter(|(name, _)| !name.starts_with('.'))
        .collect()
}
