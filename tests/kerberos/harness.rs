//! The process side of the Kerberos tests, shared by the main crate's
//! end-to-end tests (tests/it/kerberos.rs) and ews-gss's own
//! (crates/gss/tests/common): whether a realm can run here, and starting
//! realm.py. Each includes this file with `#[path]`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

fn find_tool(name: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .any(|dir| dir.join(name).is_file())
}

/// A Python 3 that can `import gssapi`: EWS_KRB_PYTHON, else Debian's
/// /usr/bin/python3 (where python3-gssapi lives), else `python3`.
pub fn gssapi_python() -> Option<String> {
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os("EWS_KRB_PYTHON").filter(|p| !p.is_empty()) {
        candidates.push(p.to_string_lossy().into_owned());
    }
    candidates.extend(["/usr/bin/python3".to_string(), "python3".to_string()]);
    candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import gssapi"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Why a realm cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    let tools: Vec<&str> = ["krb5kdc", "kdb5_util", "kadmin.local", "kinit"]
        .into_iter()
        .filter(|t| !find_tool(t))
        .collect();
    if !tools.is_empty() {
        return Some(format!(
            "the MIT Kerberos tools {} are missing (apt-get install krb5-kdc krb5-admin-server krb5-user)",
            tools.join(", ")
        ));
    }
    if gssapi_python().is_none() {
        return Some(
            "no python3 can `import gssapi` (apt-get install python3-gssapi, or set EWS_KRB_PYTHON)"
                .into(),
        );
    }
    None
}

/// A started realm.py: the process, its command pipe, and what it printed
/// before READY (KRB5_CONFIG, KRB5_KTNAME, EWS_KRB_DIR, …).
pub struct Started {
    pub child: Child,
    pub stdin: ChildStdin,
    pub stdout: BufReader<ChildStdout>,
    pub env: BTreeMap<String, String>,
}

/// Starts `realm_py` with `python`; with `kinit`, jdoe's TGT goes into the
/// realm's ticket cache. Waits for READY.
pub fn start_realm(python: &str, realm_py: &Path, kinit: bool) -> Started {
    let mut command = Command::new(python);
    command.arg(realm_py);
    if kinit {
        command.arg("--kinit");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tests/kerberos/realm.py");
    let stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut env = BTreeMap::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            panic!("realm.py ended before READY (its error is above)");
        }
        let line = line.trim();
        if line == "READY" {
            break;
        }
        if let Some((name, value)) = line.split_once('=') {
            env.insert(name.to_string(), value.to_string());
        }
    }
    Started {
        child,
        stdin,
        stdout,
        env,
    }
}
