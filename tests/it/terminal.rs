//! Terminal manners: colour only on a terminal and never with NO_COLOR, -q,
//! and nothing but data on stdout.

use crate::common::*;

#[test]
fn quiet_prints_nothing_but_errors() {
    let s = Setup::new();
    let out = s
        .cmd()
        .args(["get", "alice@contoso.com", "-q", "-o", "a.jpg"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty());
    // Busy warnings are suppressed too, errors are not.
    let out = s
        .cmd()
        .args(["get", "busyfault-1@contoso.com", "-q", "-o", "b.jpg"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{}", stderr_of(&out));
    let out = s
        .cmd()
        .args(["get", "nophoto@contoso.com", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stderr_of(&out).lines().count(), 1, "{}", stderr_of(&out));
    assert!(stderr_of(&out).starts_with("ews-photo: error: "));
}

#[test]
fn stdout_carries_only_data() {
    let s = Setup::new();
    for args in [
        vec!["get", "alice@contoso.com", "-o", "a.jpg"],
        vec!["get", "alice@contoso.com", "-o", "a.jpg", "-vv"],
        vec!["get", "nophoto@contoso.com", "-v"],
        vec!["get", "busyfault-1@contoso.com", "-o", "b.jpg"],
    ] {
        let out = s.cmd().args(&args).output().unwrap();
        assert!(
            out.stdout.is_empty(),
            "{args:?} wrote to stdout: {}",
            stdout_of(&out)
        );
        assert!(!out.stderr.is_empty(), "{args:?}: messages go to stderr");
    }
    let out = s
        .cmd()
        .args(["get", "alice@contoso.com", "-o", "c.jpg", "--json", "-v"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert_eq!(text.lines().count(), 1);
    serde_json::from_str::<serde_json::Value>(&text).expect("only the JSON record");
}

#[test]
fn no_colour_when_not_a_terminal() {
    let s = Setup::new();
    let out = s.cmd().args(["get", "fail@contoso.com"]).output().unwrap();
    assert!(!out.stderr.contains(&0x1b), "{}", stderr_of(&out));
}

/// Runs `ews-photo ARGS --url …` with a pseudo-terminal as stdout and stderr
/// (util-linux `script`); returns what the terminal showed and the exit code.
fn on_a_terminal(s: &Setup, no_color: bool, args: &str) -> Option<(String, i32)> {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: util-linux script is not installed");
        return None;
    }
    let binary = assert_cmd::cargo::cargo_bin("ews-photo");
    let command = format!("{} {args} --url {}", binary.display(), s.server.url());
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .current_dir(s.dir.path());
    for var in [
        "NO_COLOR",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        script.env_remove(var);
    }
    if no_color {
        script.env("NO_COLOR", "1");
    }
    let out = script.output().unwrap();
    Some((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    ))
}

#[test]
fn image_bytes_never_go_to_a_terminal() {
    let s = Setup::new();
    if let Some((text, code)) = on_a_terminal(&s, true, "get alice@contoso.com -o -") {
        assert_eq!(code, 2, "{text}");
        assert!(
            text.contains("refusing to write image bytes to a terminal"),
            "{text}"
        );
        assert!(s.server.requests().is_empty(), "refused before any request");
    }
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let s = Setup::new();
    if let Some((text, _)) = on_a_terminal(&s, false, "get fail@contoso.com -o /dev/null") {
        assert!(text.contains("\u{1b}[1;31merror:\u{1b}[0m"), "{text:?}");
    }
    if let Some((text, _)) = on_a_terminal(&s, true, "get fail@contoso.com -o /dev/null") {
        assert!(
            text.contains("error:") && !text.contains('\u{1b}'),
            "{text:?}"
        );
    }
}

#[test]
fn password_prompt_on_a_terminal_does_not_echo() {
    let s = Setup::with(Options {
        auth: Auth::Basic {
            user: "CONTOSO\\jdoe".into(),
            password: "Pr0mpt-pw-777".into(),
        },
        ..Default::default()
    });
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: util-linux script is not installed");
        return;
    }
    let binary = assert_cmd::cargo::cargo_bin("ews-photo");
    let command = format!(
        "{} get alice@contoso.com -o a.jpg --auth basic -u 'CONTOSO\\jdoe' --allow-insecure-auth --url {}",
        binary.display(),
        s.server.url()
    );
    // script hands its stdin to the pseudo-terminal: the tool reads the
    // password from there, as from a person typing.
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(s.dir.path())
        .env_remove("EWS_PASSWORD")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Type the password only once the prompt is on the screen, as a person would.
    let mut stdout = child.stdout.take().unwrap();
    let screen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let screen = screen.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 256];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                screen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let prompted = || String::from_utf8_lossy(&screen.lock().unwrap()).contains("Password for");
    for _ in 0..1000 {
        if prompted() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"Pr0mpt-pw-777\n").unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let screen = String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    assert!(status.success(), "{screen}");
    assert!(screen.contains("Password for CONTOSO\\jdoe:"), "{screen}");
    assert!(
        !screen.contains("Pr0mpt-pw-777"),
        "the password was echoed: {screen}"
    );
    assert_eq!(s.files(), ["a.jpg"]);
}
