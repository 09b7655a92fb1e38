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
            std::fs::write(&path, &out.stdout).unwrap();
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
