//! Runs every `sh` block of docs/guide.md against the stand-in, so the guide's
//! recipes cannot rot. Each block runs in a fresh folder holding `users.txt`
//! and `photos/`, with `EWS_URL` set and `ews-photo` first on PATH, under
//! `bash -euo pipefail`.

use std::path::Path;

use crate::common::{Setup, clean_environment, files_in};

fn sh_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_end() == "```sh" => current = Some((number + 1, String::new())),
            Some(_) if line.trim_end() == "```" => blocks.push(current.take().unwrap()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "unclosed code block");
    blocks
}

#[test]
fn every_recipe_in_the_guide_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = std::fs::read_to_string(root.join("docs/guide.md")).unwrap();
    let blocks = sh_blocks(&guide);
    assert!(blocks.len() >= 5, "the guide has {} recipes", blocks.len());
    let binary = assert_cmd::cargo::cargo_bin("ews-photo");
    let bin_dir = binary.parent().unwrap();
    // /usr/bin ahead of /usr/local/bin: some machines put a stand-in `convert` there.
    let path = format!(
        "{}:/usr/bin:/bin:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for tool in ["jq", "convert", "identify", "xargs"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            found.status.success(),
            "{tool} is needed by the guide's recipes (apt-get install jq imagemagick; .ci/run does)"
        );
    }
    for (line, script) in blocks {
        let s = Setup::new();
        std::fs::write(
            s.path("users.txt"),
            "alice@contoso.com\nbob@contoso.com\nnophoto-carol@contoso.com\n",
        )
        .unwrap();
        std::fs::create_dir(s.path("photos")).unwrap();
        let out = clean_environment(&mut std::process::Command::new("bash"))
            .arg("-c")
            .arg(format!("set -euo pipefail\n{script}"))
            .current_dir(s.dir.path())
            .env("PATH", &path)
            .env("EWS_URL", s.server.url())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docs/guide.md recipe at line {line} failed ({}):\n{script}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !files_in(&s.path("photos"))
                .iter()
                .any(|f| f.ends_with(".part")),
            "no partial files"
        );
    }
}
