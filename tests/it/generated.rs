//! The committed completions and man page must match what the binary generates
//! now. To refresh them after changing the CLI:
//!
//!     UPDATE_GENERATED=1 cargo test --test integration generated::

use std::path::Path;

use crate::common::tool;

const FILES: [(&[&str], &str); 6] = [
    (&["completions", "bash"], "completions/ews-photo.bash"),
    (&["completions", "zsh"], "completions/_ews-photo"),
    (&["completions", "fish"], "completions/ews-photo.fish"),
    (&["completions", "powershell"], "completions/_ews-photo.ps1"),
    (&["completions", "elvish"], "completions/ews-photo.elv"),
    (&["man"], "docs/ews-photo.1"),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn completions_and_man_page_are_fresh() {
    let update = std::env::var_os("UPDATE_GENERATED").is_some();
    let mut stale = Vec::new();
    for (args, file) in FILES {
        let out = tool().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(!out.stdout.is_empty());
        let path = root().join(file);
        if update {
            // Written beside and renamed over: the other tests of this module
            // read these files meanwhile (`bash -n`), and must never see one
            // half written.
            let partial = path.with_extension("updating");
            std::fs::write(&partial, &out.stdout).unwrap();
            std::fs::rename(&partial, &path).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&out.stdout[..]) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run `UPDATE_GENERATED=1 cargo test --test integration generated::` and commit them"
    );
}

#[test]
fn completions_offer_sizes_auth_and_protocol_values() {
    let bash = std::fs::read_to_string(root().join("completions/ews-photo.bash")).unwrap();
    for value in ["HR240x240", "HR1920xN", "bearer", "rest", "powershell"] {
        assert!(
            bash.contains(value),
            "{value} missing from the bash completion"
        );
    }
    let zsh = std::fs::read_to_string(root().join("completions/_ews-photo")).unwrap();
    assert!(zsh.contains("_files"), "file arguments complete as files");
}

fn syntax_check(shell: &str, file: &str) {
    let found = std::process::Command::new(shell)
        .arg("-c")
        .arg("true")
        .output();
    if found.is_err() {
        eprintln!("SKIPPED: {shell} is not installed (.ci/run installs it)");
        return;
    }
    let out = std::process::Command::new(shell)
        .arg("-n")
        .arg(root().join(file))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{shell} -n {file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bash_completion_is_valid_bash() {
    syntax_check("bash", "completions/ews-photo.bash");
}

#[test]
fn zsh_completion_is_valid_zsh() {
    syntax_check("zsh", "completions/_ews-photo");
}

#[test]
fn man_page_documents_every_subcommand_and_the_exit_codes() {
    let man = std::fs::read_to_string(root().join("docs/ews-photo.1")).unwrap();
    for needle in [
        "EWS-PHOTO GET",
        "EWS-PHOTO COMPLETIONS",
        "Exit codes",
        "EWS_PASSWORD",
    ] {
        assert!(man.contains(needle), "{needle} missing from the man page");
    }
}

/// The rows `| CODE | MEANING |` of the table under `heading` in a Markdown file.
fn exit_code_table(file: &str, heading: &str) -> Vec<(u8, String)> {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let section = text
        .split_once(heading)
        .unwrap_or_else(|| panic!("{file}: no heading {heading:?}"))
        .1;
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            Some((cells.get(1)?.parse().ok()?, cells.get(2)?.to_string()))
        })
        .collect()
}

/// README, guide, `--help` and the man page list the same exit codes with
/// the same meanings: the library's table, which generates the help.
#[test]
fn every_document_lists_the_same_exit_codes() {
    let table: Vec<(u8, String)> = crate::library::exit_codes()
        .into_iter()
        .map(|(code, meaning)| (code, meaning.to_string()))
        .collect();
    assert_eq!(
        exit_code_table("README.md", "## Exit codes"),
        table,
        "README.md"
    );
    assert_eq!(
        exit_code_table("docs/guide.md", "## 6. Exit codes"),
        table,
        "docs/guide.md"
    );
    let help = crate::common::tool().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let man = std::fs::read_to_string(root().join("docs/ews-photo.1"))
        .unwrap()
        .replace("\\-", "-");
    for (code, meaning) in &table {
        let line = format!("{code:<4}{meaning}");
        assert!(help.contains(&line), "--help lacks {line:?}");
        assert!(man.contains(&line), "the man page lacks {line:?}");
    }
}
