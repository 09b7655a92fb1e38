//! Try `ews-photo` for real, without an Exchange server: `cargo run --example demo`.
//!
//! Starts the stand-in EWS server (`tests/standin`) on 127.0.0.1, runs the real
//! `ews-photo` binary against it to fetch `alice@contoso.com` at HR240x240 into
//! `demo-photos/alice@contoso.com.jpg`, prints the tool's JSON record and a few
//! more commands to try. On a terminal the server keeps running until Enter is
//! pressed; otherwise the demo exits at once.

use std::ffi::OsString;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use ews_standin::StandIn;

const EMAIL: &str = "alice@contoso.com";
const SIZE: &str = "HR240x240";
const DIR: &str = "demo-photos";
const PROXY_VARS: [&str; 6] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("demo: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let tool = locate_tool()?;

    let server = StandIn::start(Default::default())
        .map_err(|e| format!("could not start the stand-in EWS server on 127.0.0.1: {e}"))?;
    let url = server.url();
    eprintln!("demo: stand-in EWS server listening at {url}");

    std::fs::create_dir_all(DIR).map_err(|e| format!("could not create the folder {DIR}/: {e}"))?;
    let output = Path::new(DIR).join(format!("{EMAIL}.jpg"));

    let mut command = Command::new(&tool);
    command
        .arg("get")
        .arg(EMAIL)
        .args(["-s", SIZE])
        .arg("-o")
        .arg(&output)
        .arg("--json");
    // A clean environment for the tool: only the stand-in's URL, no settings
    // from the caller's shell (EWS_USER, EWS_PROTOCOL, …) and no proxy, so
    // that 127.0.0.1 is reached directly.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("EWS_") {
            command.env_remove(name);
        }
    }
    for name in PROXY_VARS {
        command.env_remove(name);
    }
    command
        .env("EWS_URL", &url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());

    eprintln!(
        "demo: running {} get {EMAIL} -s {SIZE} -o {} --json",
        tool.display(),
        output.display()
    );
    let result = command
        .output()
        .map_err(|e| format!("could not run {}: {e}", tool.display()))?;
    let stdout = String::from_utf8_lossy(&result.stdout);
    if !result.status.success() {
        if !stdout.trim().is_empty() {
            println!("{}", stdout.trim_end());
        }
        let code = result
            .status
            .code()
            .map_or_else(|| "a signal".to_string(), |c| format!("exit code {c}"));
        return Err(format!(
            "ews-photo failed ({code}) against the stand-in server at {url}; \
             its error message is above"
        ));
    }
    println!("{}", stdout.trim_end());

    let size = std::fs::metadata(&output)
        .map_err(|e| {
            format!(
                "ews-photo reported success but {} is not readable: {e}",
                output.display()
            )
        })?
        .len();
    let shown = std::fs::canonicalize(&output).unwrap_or_else(|_| output.clone());

    println!();
    println!(
        "The photo of {EMAIL} ({SIZE}) is in {} ({size} bytes).",
        shown.display()
    );
    println!("The JSON line above is what `--json` prints on stdout, one record per photo.");
    println!();
    // Inside the project `cargo run` finds the package; elsewhere name the binary.
    let in_project =
        std::env::current_dir().is_ok_and(|dir| dir.starts_with(env!("CARGO_MANIFEST_DIR")));
    let cmd = if in_project {
        "cargo run -q --".to_string()
    } else {
        tool.display().to_string()
    };
    println!("More to try against the same server (in another terminal, from this folder):");
    println!();
    if PROXY_VARS.iter().any(|v| std::env::var_os(v).is_some()) {
        println!("  unset {}", PROXY_VARS.join(" "));
    }
    println!("  export EWS_URL={url}");
    println!("  # the REST form (GET …/s/GetUserPhoto) instead of SOAP, at another size");
    println!("  {cmd} get {EMAIL} --protocol rest -s 648 -o {DIR}/alice-648.jpg");
    println!("  # to stdout, for a pipe");
    println!("  {cmd} get bob@contoso.com -s 96 -o - | file -");
    println!("  # a user without a photo: exit code 3");
    println!("  {cmd} get nophoto@contoso.com; echo \"exit code $?\"");
    println!();

    if io::stdin().is_terminal() {
        print!("The server keeps running at {url}: press Enter to stop it. ");
        let _ = io::stdout().flush();
        let mut line = String::new();
        let _ = io::stdin().lock().read_line(&mut line);
    } else {
        println!("(stdin is not a terminal, so the server stops now.)");
    }
    drop(server);
    Ok(ExitCode::SUCCESS)
}

/// Finds the `ews-photo` binary that cargo builds next to this example
/// (`target/<profile>/ews-photo`), asking cargo to build or refresh it first.
fn locate_tool() -> Result<PathBuf, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find the demo's own executable: {e}"))?;
    // target/<profile>/examples/demo -> target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("unexpected location of the demo: {}", exe.display()))?;
    let tool = profile_dir.join(format!("ews-photo{}", std::env::consts::EXE_SUFFIX));

    // `cargo run --example` does not build the package's binaries, so build it
    // here: a no-op when it is up to date, and never a stale binary.
    let cargo: OsString = option_env!("CARGO").unwrap_or("cargo").into();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let status = Command::new(&cargo)
        .arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--bin", "ews-photo", "--profile", profile])
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) if tool.is_file() => {
            eprintln!(
                "demo: warning: `cargo build --bin ews-photo` failed ({s}); using the existing binary"
            )
        }
        Ok(s) => return Err(format!("`cargo build --bin ews-photo` failed ({s})")),
        Err(e) if tool.is_file() => eprintln!(
            "demo: warning: could not run {}: {e}; using the existing binary",
            cargo.to_string_lossy()
        ),
        Err(e) => {
            return Err(format!(
                "{} is missing and cargo could not be run to build it ({}: {e})",
                tool.display(),
                cargo.to_string_lossy()
            ));
        }
    }
    if tool.is_file() {
        Ok(tool)
    } else {
        Err(format!(
            "{} is missing; build it with `cargo build --bin ews-photo`",
            tool.display()
        ))
    }
}
