//! Local failures: where the photo cannot be written, the tool says why, exits
//! 1 and leaves no partial or temporary file.

use crate::common::*;

fn assert_clean(dir: &std::path::Path) {
    let leftovers: Vec<String> = files_in(dir)
        .into_iter()
        .filter(|f| f.contains(".part") || f.starts_with(".ews-photo"))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

#[test]
fn output_folder_missing() {
    Setup::new()
        .ews_photo("get alice@contoso.com -o nope/a.jpg")
        .assert()
        .code(1)
        .stderr(contains("the folder nope does not exist"));
}

#[test]
fn output_path_is_a_folder() {
    let s = Setup::new();
    std::fs::create_dir(s.path("photos")).unwrap();
    s.ews_photo("get alice@contoso.com -o photos")
        .assert()
        .code(1)
        .stderr(contains("it is a folder"));
    assert!(files_in(&s.path("photos")).is_empty());
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[cfg(unix)]
#[test]
fn output_folder_read_only() {
    use std::os::unix::fs::PermissionsExt;
    let s = Setup::new();
    let folder = s.path("ro");
    std::fs::create_dir(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).unwrap();
    // root ignores permissions: run the tool as nobody then (setpriv, util-linux).
    let binary = assert_cmd::cargo::cargo_bin("ews-photo");
    let mut command = if is_root() {
        std::fs::set_permissions(s.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&binary);
        c
    } else {
        std::process::Command::new(&binary)
    };
    clean_environment(&mut command)
        .args(["get", "alice@contoso.com", "-o"])
        .arg(folder.join("a.jpg"))
        .args(["--url", &s.server.url()])
        .current_dir("/")
        .assert()
        .code(1)
        .stderr(contains("Permission denied"))
        .stderr(contains("check that you may write to that folder"));
    assert!(files_in(&folder).is_empty());
}

#[cfg(unix)]
#[test]
fn disk_full_or_file_size_limit() {
    let s = Setup::new();
    let binary = assert_cmd::cargo::cargo_bin("ews-photo");
    // 4 blocks of 512 bytes: far less than a 648×648 photo.
    clean_environment(&mut std::process::Command::new("sh"))
        .arg("-c")
        .arg(format!(
            "ulimit -f 4; exec '{}' get alice@contoso.com -s 648 -o a.jpg --url '{}'",
            binary.display(),
            s.server.url()
        ))
        .current_dir(s.dir.path())
        .assert()
        .code(1)
        .stderr(contains("file-size limit"));
    assert!(s.files().is_empty(), "{:?}", s.files());
    assert_clean(s.dir.path());
}

#[test]
fn interrupted_get_leaves_no_partial_file() {
    // Ctrl-C while the answer is still arriving (the stall scenario).
    let s = Setup::new();
    let mut child = spawnable_tool()
        .args([
            "get",
            "stall@contoso.com",
            "-o",
            "x.jpg",
            "--url",
            &s.server.url(),
        ])
        .current_dir(s.dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the request reached the server (the deadline only bounds
    // a failure), then interrupt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while s.server.requests_for("stall@contoso.com") == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        s.server.requests_for("stall@contoso.com") > 0,
        "the request never reached the server: the interruption would not be mid-answer"
    );
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(s.files().is_empty(), "{:?}", s.files());
}
