//! `ews-standin`: runs the stand-in EWS server (or, with `--graph`, the
//! Microsoft Graph one) until killed.
//!
//! Usage: `ews-standin [--port N] [--latency-ms N] [--backoff-ms N]
//! [--basic USER:PASS] [--bearer TOKEN] [--exit-on-eof]
//! [--graph [--item-latency-ms N]]`
//!
//! Prints the EWS URL (or the Graph root) on one line of stdout, then serves.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use ews_standin::{Auth, GraphOptions, GraphStandIn, Options, StandIn};

const USAGE: &str = "usage: ews-standin [--port N] [--latency-ms N] [--backoff-ms N] \
[--basic USER:PASS] [--bearer TOKEN] [--exit-on-eof] [--graph [--item-latency-ms N]]";

struct Parsed {
    options: Options,
    exit_on_eof: bool,
    graph: Option<GraphOptions>,
}

fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut options = Options::default();
    let mut port = 0u16;
    let mut exit_on_eof = false;
    let mut graph: Option<GraphOptions> = None;
    let mut item_latency = Duration::ZERO;
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
            "--graph" => graph = Some(GraphOptions::default()),
            "--item-latency-ms" => item_latency = Duration::from_millis(number(value()?)?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    options.bind = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port);
    if let Some(graph) = graph.as_mut() {
        graph.bind = options.bind;
        graph.item_latency = item_latency;
        if let Auth::Bearer { token } = &options.auth {
            graph.token = Some(token.clone());
        }
    }
    Ok(Parsed {
        options,
        exit_on_eof,
        graph,
    })
}

/// Either server, kept alive while it serves.
enum Running {
    Ews(StandIn),
    Graph(GraphStandIn),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Parsed {
        options,
        exit_on_eof,
        graph,
    } = match parse(&args) {
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
    let started = match graph {
        Some(graph) => GraphStandIn::start(graph).map(Running::Graph),
        None => StandIn::start(options).map(Running::Ews),
    };
    let server = match started {
        Ok(server) => server,
        Err(err) => {
            eprintln!("ews-standin: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let url = match &server {
        Running::Ews(ews) => ews.url(),
        Running::Graph(graph) => graph.url(),
    };
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "{url}")
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
