//! Terminal manners: colour only on a terminal and never with NO_COLOR, -q,
//! and nothing but data on stdout.

use crate::common::*;

#[test]
fn quiet_prints_nothing_but_errors() {
    let s = Setup::new();
    s.ews_photo("get alice@contoso.com -q -o a.jpg")
        .assert()
        .success()
        .stderr(is_empty())
        .stdout(is_empty());
    // Busy warnings are suppressed too, errors are not.
    s.ews_photo("get busyfault-1@contoso.com -q -o b.jpg")
        .assert()
        .success()
        .stderr(is_empty());
    let run = s
        .ews_photo("get nophoto@contoso.com -q")
        .assert()
        .code(3)
        .stderr(predicates::str::starts_with("ews-photo: error: "));
    assert_eq!(stderr(&run).lines().count(), 1, "{}", stderr(&run));
}

#[test]
fn stdout_carries_only_data() {
    let s = Setup::new();
    for line in [
        "get alice@contoso.com -o a.jpg",
        "get alice@contoso.com -o a.jpg -vv",
        "get nophoto@contoso.com -v",
        "get busyfault-1@contoso.com -o b.jpg",
    ] {
        // Whatever the exit code: messages go to stderr.
        s.ews_photo(line)
            .assert()
            .stdout(is_empty())
            .stderr(is_empty().not());
    }
    let run = s
        .ews_photo("get alice@contoso.com -o c.jpg --json -v")
        .assert();
    let text = stdout_of(run.get_output());
    assert_eq!(text.lines().count(), 1);
    serde_json::from_str::<serde_json::Value>(&text).expect("only the JSON record");
}

#[test]
fn no_colour_when_not_a_terminal() {
    Setup::new()
        .ews_photo("get fail@contoso.com")
        .assert()
        .stderr(contains("\u{1b}").not());
}

/// Whether util-linux `script` is there to give the tool a pseudo-terminal;
/// says so when it is not.
fn script_installed() -> bool {
    let found = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        eprintln!("SKIPPED: util-linux script is not installed");
    }
    found
}

/// Runs `ews-photo ARGS --url …` with a pseudo-terminal as stdout and stderr
/// (util-linux `script`); returns what the terminal showed and the exit code.
fn on_a_terminal(s: &Setup, no_color: bool, args: &str) -> Option<(String, i32)> {
    if !script_installed() {
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
    if !script_installed() {
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
    // The prompt is printed just before echo is switched off: wait for the
    // terminal itself to say so, or a fast typist would race the tool.
    wait_for_echo_off(&binary, s.dir.path());
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

/// Waits until the terminal of the `binary` running in `dir` has echo off.
fn wait_for_echo_off(binary: &std::path::Path, dir: &std::path::Path) {
    let ours = |pid: &str| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
        cmdline.starts_with(binary.as_os_str().as_encoded_bytes())
            && cwd.is_some_and(|c| c == dir.canonicalize().unwrap_or_default())
    };
    for _ in 0..1000 {
        let pid = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .find(|pid| pid.bytes().all(|b| b.is_ascii_digit()) && ours(pid));
        if let Some(pid) = pid {
            let settings = std::process::Command::new("stty")
                .args(["-a", "-F", &format!("/proc/{pid}/fd/0")])
                .output();
            if let Ok(out) = settings
                && String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .any(|flag| flag == "-echo")
            {
                return;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the password prompt never switched echo off");
}
