//! `ews-standin`: runs the stand-in EWS server until killed.
//!
//! Usage: `ews-standin [--port N] [--latency-ms N] [--backoff-ms N]
//! [--basic USER:PASS] [--bearer TOKEN] [--exit-on-eof]`
//!
//! Prints the EWS URL on one line of stdout, then serves.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use ews_standin::{Auth, Options, StandIn};

const USAGE: &str = "usage: ews-standin [--port N] [--latency-ms N] [--backoff-ms N] \
[--basic USER:PASS] [--bearer TOKEN] [--exit-on-eof]";

fn parse(args: &[String]) -> Result<(Options, bool), String> {
    let mut options = Options::default();
    let mut port = 0u16;
    let mut exit_on_eof = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag {
            "--port" => {
                let v = value()?;
                port = v.parse().map_err(|_| format!("--port: not a port: {v}"))?;
            }
            "--latency-ms" => options.latency = Duration::from_millis(number(value()?)?),
            "--backoff-ms" => options.backoff_ms = number(value()?)?,
            "--basic" => {
                let v = value()?;
                let (user, password) = v.split_once(':').ok_or("--basic needs USER:PASS")?;
                options.auth = Auth::Basic {
                    user: user.to_string(),
                    password: password.to_string(),
                };
            }
            "--bearer" => options.auth = Auth::Bearer { token: value()? },
            "--exit-on-eof" => exit_on_eof = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    options.bind = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port);
    Ok((options, exit_on_eof))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (options, exit_on_eof) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("ews-standin: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let server = match StandIn::start(options) {
        Ok(server) => server,
        Err(err) => {
            eprintln!("ews-standin: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "{}", server.url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    if exit_on_eof {
        let mut sink = [0u8; 4096];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        drop(server);
        return ExitCode::SUCCESS;
    }
    loop {
        std::thread::park();
    }
}
