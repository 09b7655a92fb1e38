//! Throughput of `ews-photo export` against the in-process stand-in.
//!
//! `cargo bench --bench export` (builds the release binary). Not run by CI.
//! Prints one line per figure, each with the tool's CPU per photo (user +
//! system time of the tool's process alone, from wait4: the stand-in runs in
//! this process) and its peak memory (VmHWM, sampled every millisecond):
//! (a) 2,000 addresses, 20 ms latency, --jobs 16: photos/s against the ideal 16/20 ms;
//! (b) 5,000 addresses, no latency: photos/s and the tool's CPU seconds per 1,000 photos;
//! (c) the tool's peak memory at 1,000 and 20,000 addresses;
//! (d) a --sync re-run of (a) with nothing changed: photos/s and files written (0).
//! Microsoft Graph, 2,000 addresses, 20 ms per item (a stand-in that runs at
//! most 4 parts of a $batch at a time, as Graph does), --jobs 16: photos/s,
//! requests sent, 429s, the tool's CPU, for
//! (e) one request per photo (--batch 1), (f) $batch of 20 (the default),
//! (g) curl --parallel fetching the same photos one request each over the same
//!     number of connections (skipped, with a note, when curl is missing),
//! (h) a --sync re-run of (f) with nothing changed (metadata checks in batches).
//! (i) scale (EWS): 10,000 and 300,000 addresses, no latency, --jobs 8, a
//!     first run and a --sync re-run with nothing changed
//!     (`EWS_BENCH_SCALE=10000,100000` picks other sizes), then a table of
//!     every EWS row.
//!
//! `EWS_BENCH_ONLY=graph` runs only (e) to (h), `EWS_BENCH_ONLY=scale` only
//! (i). `EWS_BENCH_TOOL=/path/to/ews-photo` measures another build (say,
//! main's) with the same rows.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ews_standin::{GraphOptions, GraphStandIn, Options, StandIn};

/// What one run of the tool cost.
#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    cpu: Duration,
    user: Duration,
    sys: Duration,
    maxrss_kib: i64,
}

fn tool() -> PathBuf {
    // Another build to compare with, e.g. main's.
    if let Some(other) = std::env::var_os("EWS_BENCH_TOOL") {
        return PathBuf::from(other);
    }
    let built = PathBuf::from(env!("CARGO_BIN_EXE_ews-photo"));
    if built.is_file() {
        return built;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--bin", "ews-photo"])
        .current_dir(root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build --release failed");
    root.join("target/release/ews-photo")
}

fn write_list(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join(format!("users-{n}.txt"));
    let mut text = String::with_capacity(n * 24);
    for i in 0..n {
        text.push_str(&format!("user{i}@contoso.com\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the tool and collects its own resource use with wait4.
fn run(url: &str, args: &[&str], cwd: &Path) -> Run {
    let mut command = Command::new(tool());
    // None of the developer's settings: only the bench's own, set below.
    ews_standin::env::clean(&mut command);
    command
        .args(args)
        .args(["-q", "--progress", "never"])
        .env("EWS_URL", url);
    measure(command, cwd)
}

/// Runs the tool against a Graph stand-in (`--backend graph`, a bearer token).
fn run_graph(graph: &GraphStandIn, args: &[&str], cwd: &Path) -> Run {
    let mut command = Command::new(tool());
    // None of the developer's settings: only the bench's own, set below.
    ews_standin::env::clean(&mut command);
    command
        .args(args)
        .args(["-q", "--progress", "never", "--allow-insecure-auth"])
        .env("EWS_BACKEND", "graph")
        .env("EWS_GRAPH_URL", graph.url())
        .env("EWS_AUTH", "bearer")
        .env("EWS_TOKEN", GRAPH_TOKEN);
    measure(command, cwd)
}

const GRAPH_TOKEN: &str = "bench-token-0f3a";

/// Runs a command and collects its own resource use with wait4.
fn measure(mut command: Command, cwd: &Path) -> Run {
    let started = Instant::now();
    let child = command
        .current_dir(cwd)
        .stdin(Stdio::null())
        .spawn()
        .expect("the command starts");
    let pid = child.id() as libc::pid_t;
    // ru_maxrss would include this (bench) process's RSS, which the child
    // inherits up to its exec; the child's own peak is VmHWM of its new
    // address space, sampled until it exits.
    let hwm = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let sampler = {
        let hwm = std::sync::Arc::clone(&hwm);
        std::thread::spawn(move || {
            let path = format!("/proc/{pid}/status");
            while let Ok(text) = std::fs::read_to_string(&path) {
                let Some(kib) = text
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
                else {
                    break; // exited (a zombie has no memory lines)
                };
                hwm.fetch_max(kib, std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not yet waited for; the pointers are valid.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(waited, pid, "wait4 failed");
    std::mem::forget(child);
    let _ = sampler.join();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{command:?} failed: status {status}"
    );
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Run {
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        user: tv(usage.ru_utime),
        sys: tv(usage.ru_stime),
        maxrss_kib: hwm.load(std::sync::atomic::Ordering::SeqCst),
    }
}

fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cores} cores")
}

fn per_sec(n: usize, wall: Duration) -> f64 {
    n as f64 / wall.as_secs_f64()
}

impl Run {
    /// The tool's CPU per photo, in microseconds.
    fn cpu_per_photo(&self, n: usize) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / n as f64
    }

    fn peak_mib(&self) -> f64 {
        self.maxrss_kib as f64 / 1024.0
    }

    /// "CPU 45.1 µs/photo (user 20.3, sys 24.8), peak 11.2 MiB"
    fn costs(&self, n: usize) -> String {
        let micros = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        format!(
            "CPU {:.1} µs/photo (user {:.1}, sys {:.1}), peak memory {:.1} MiB",
            self.cpu_per_photo(n),
            micros(self.user),
            micros(self.sys),
            self.peak_mib()
        )
    }
}

/// One line of the closing table.
struct Row {
    run: String,
    addresses: usize,
    result: Run,
}

fn main() {
    // `cargo bench` passes --bench; nothing else is understood.
    println!("machine: {}", cpu_model());
    // Where the photos go: EWS_BENCH_DIR, else /dev/shm (tmpfs: measures the
    // tool, not the disk; on this VM creating a file on ext4 costs from 30 to
    // 600 µs of system time depending on the folder), else target/tmp.
    let base = std::env::var_os("EWS_BENCH_DIR")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| p.is_dir()))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    let work = tempfile::tempdir_in(&base).expect("temp dir");
    println!("photos written under {}", base.display());
    let dir = work.path();
    let bin = tool();
    println!("tool: {}", bin.display());
    let only = std::env::var("EWS_BENCH_ONLY").unwrap_or_default();
    if only != "scale" {
        graph_rows(dir);
    }
    if only == "graph" {
        return;
    }
    let fast = StandIn::start(Options::default()).expect("stand-in");
    let mut rows = Vec::new();
    if only != "scale" {
        ews_rows(dir, &fast, &mut rows);
    }
    scale_rows(dir, &fast, &mut rows);

    println!();
    println!("| run | addresses | photos/s | CPU per photo (user + sys) | peak memory |");
    println!("|---|---:|---:|---:|---:|");
    for row in &rows {
        let r = &row.result;
        let micros = |d: Duration| d.as_secs_f64() * 1e6 / row.addresses as f64;
        println!(
            "| {} | {} | {:.0} | {:.1} µs ({:.1} + {:.1}) | {:.1} MiB |",
            row.run,
            row.addresses,
            per_sec(row.addresses, r.wall),
            r.cpu_per_photo(row.addresses),
            micros(r.user),
            micros(r.sys),
            r.peak_mib()
        );
    }
}

/// (a) to (d): EWS, latency, throughput, memory, --sync.
fn ews_rows(dir: &Path, fast: &StandIn, rows: &mut Vec<Row>) {
    // (a) 2,000 addresses, 20 ms latency, 16 workers.
    let latency = Duration::from_millis(20);
    let slow = StandIn::start(Options {
        latency,
        ..Default::default()
    })
    .expect("stand-in");
    let list = write_list(dir, 2000);
    let list = list.to_str().unwrap();
    let a = run(
        &slow.url(),
        &["export", list, "--dir", "a", "--jobs", "16"],
        dir,
    );
    let ideal = 16.0 / latency.as_secs_f64();
    let rate = per_sec(2000, a.wall);
    println!(
        "(a) 2000 addresses, 20 ms latency, --jobs 16: {rate:.0} photos/s in {:.2}s = {:.1}% of the ideal {ideal:.0}/s ({}; {} connections)",
        a.wall.as_secs_f64(),
        rate / ideal * 100.0,
        a.costs(2000),
        slow.connections()
    );
    rows.push(Row {
        run: "(a) 20 ms latency, --jobs 16".into(),
        addresses: 2000,
        result: a,
    });

    // (d) the same again with --sync: nothing changed.
    let before = mtimes(&dir.join("a"));
    let report = dir.join("d.csv");
    let d = run(
        &slow.url(),
        &[
            "export",
            list,
            "--dir",
            "a",
            "--jobs",
            "16",
            "--sync",
            "--report",
            report.to_str().unwrap(),
        ],
        dir,
    );
    let after = mtimes(&dir.join("a"));
    let rewritten = before
        .iter()
        .zip(after.iter())
        .filter(|(x, y)| x != y)
        .count()
        + before.len().abs_diff(after.len());
    let text = std::fs::read_to_string(&report).unwrap();
    let unchanged = text.lines().filter(|l| l.contains(",unchanged,")).count();
    let fetched = text.lines().filter(|l| l.contains(",fetched,")).count();
    let rate_d = per_sec(2000, d.wall);
    println!(
        "(d) --sync re-run of (a), nothing changed: {rate_d:.0} photos/s in {:.2}s ({:.0}% of (a)); {unchanged} unchanged, {fetched} fetched, {rewritten} files written; {}",
        d.wall.as_secs_f64(),
        rate_d / rate * 100.0,
        d.costs(2000)
    );
    rows.push(Row {
        run: "(d) --sync re-run of (a)".into(),
        addresses: 2000,
        result: d,
    });
    drop(slow);

    // (b) 5,000 addresses, no latency.
    let list = write_list(dir, 5000);
    let b = run(
        &fast.url(),
        &[
            "export",
            list.to_str().unwrap(),
            "--dir",
            "b",
            "--jobs",
            "4",
        ],
        dir,
    );
    println!(
        "(b) 5000 addresses, no latency, --jobs 4: {:.0} photos/s in {:.2}s; tool CPU {:.3}s (user {:.3}s, sys {:.3}s) = {:.3} CPU-s per 1000 photos ({:.0}% of one core while running flat out); {}",
        per_sec(5000, b.wall),
        b.wall.as_secs_f64(),
        b.cpu.as_secs_f64(),
        b.user.as_secs_f64(),
        b.sys.as_secs_f64(),
        b.cpu.as_secs_f64() / 5.0,
        b.cpu.as_secs_f64() / b.wall.as_secs_f64() * 100.0,
        b.costs(5000)
    );
    rows.push(Row {
        run: "(b) no latency, --jobs 4".into(),
        addresses: 5000,
        result: b,
    });

    // (c) peak memory at 1,000 and 20,000 addresses.
    for n in [1000, 20_000] {
        let list = write_list(dir, n);
        let out = format!("c{n}");
        let c = run(
            &fast.url(),
            &[
                "export",
                list.to_str().unwrap(),
                "--dir",
                &out,
                "--jobs",
                "4",
            ],
            dir,
        );
        println!(
            "(c) {n} addresses: peak memory (VmHWM) {:.1} MiB ({:.0} photos/s; {})",
            c.peak_mib(),
            per_sec(n, c.wall),
            c.costs(n)
        );
        rows.push(Row {
            run: "(c) no latency, --jobs 4".into(),
            addresses: n,
            result: c,
        });
    }
}

/// (i): EWS at scale, a first run and a --sync re-run.
fn scale_rows(dir: &Path, fast: &StandIn, rows: &mut Vec<Row>) {
    // (i) scale: a first run and a --sync re-run, --jobs 8, photos written
    // where the others are.
    let sizes: Vec<usize> = std::env::var("EWS_BENCH_SCALE")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 300_000]);
    for n in sizes {
        let list = write_list(dir, n);
        let out = format!("i{n}");
        for (label, sync) in [
            ("first run", false),
            ("--sync re-run, nothing changed", true),
        ] {
            let mut args = vec![
                "export",
                list.to_str().unwrap(),
                "--dir",
                &out,
                "--jobs",
                "8",
            ];
            if sync {
                args.push("--sync");
            }
            let i = run(&fast.url(), &args, dir);
            println!(
                "(i) {n} addresses, no latency, --jobs 8, {label}: {:.0} photos/s in {:.2}s; {}",
                per_sec(n, i.wall),
                i.wall.as_secs_f64(),
                i.costs(n)
            );
            rows.push(Row {
                run: format!("(i) --jobs 8, {label}"),
                addresses: n,
                result: i,
            });
        }
        // The next size's files would share the folder's page cache otherwise.
        let _ = std::fs::remove_dir_all(dir.join(&out));
    }
}

/// (e) to (h): Graph, single requests against $batch against curl.
fn graph_rows(dir: &Path) {
    const N: usize = 2000;
    const JOBS: usize = 16;
    let item = Duration::from_millis(20);
    let list = write_list(dir, N);
    let list = list.to_str().unwrap();
    let jobs = JOBS.to_string();
    let start = || {
        GraphStandIn::start(GraphOptions {
            token: Some(GRAPH_TOKEN.into()),
            item_latency: item,
            ..Default::default()
        })
        .expect("Graph stand-in")
    };
    let line = |label: &str, run: &Run, graph: &GraphStandIn, ideal: f64| {
        let rate = per_sec(N, run.wall);
        println!(
            "{label}: {rate:.0} photos/s in {:.2}s ({:.0}% of the ideal {ideal:.0}/s); {} requests sent over {} connections, {} answered 429; tool CPU {:.2}s",
            run.wall.as_secs_f64(),
            rate / ideal * 100.0,
            graph.requests().len(),
            graph.connections(),
            graph.throttled(),
            run.cpu.as_secs_f64(),
        );
        rate
    };
    // One request per photo: JOBS requests of 20 ms at a time.
    let single_ideal = JOBS as f64 / item.as_secs_f64();
    // A batch of 20 runs 4 parts at a time: 5 × 20 ms for 20 photos.
    let batch_ideal = JOBS as f64 * 20.0 / (5.0 * item.as_secs_f64());

    let graph = start();
    let e = run_graph(
        &graph,
        &[
            "export", list, "--dir", "e", "--jobs", &jobs, "--batch", "1",
        ],
        dir,
    );
    let single = line(
        &format!(
            "(e) Graph, {N} addresses, 20 ms per item, --jobs {JOBS}, --batch 1 (one request per photo)"
        ),
        &e,
        &graph,
        single_ideal,
    );
    drop(graph);

    let graph = start();
    let f = run_graph(
        &graph,
        &["export", list, "--dir", "f", "--jobs", &jobs],
        dir,
    );
    let batched = line(
        &format!(
            "(f) Graph, {N} addresses, 20 ms per item, --jobs {JOBS}, $batch of 20 (the default)"
        ),
        &f,
        &graph,
        batch_ideal,
    );
    println!(
        "    most parts of one batch running at once: {} (Graph's rule: 4); $batch of 20 = {:.1}× one request per photo",
        graph.most_parts_running(),
        batched / single
    );

    // (h) the same again with --sync: nothing changed.
    let requests_before = graph.requests().len();
    let before = mtimes(&dir.join("f"));
    let h = run_graph(
        &graph,
        &["export", list, "--dir", "f", "--jobs", &jobs, "--sync"],
        dir,
    );
    let rewritten = before
        .iter()
        .zip(mtimes(&dir.join("f")).iter())
        .filter(|(x, y)| x != y)
        .count();
    println!(
        "(h) --sync re-run of (f), nothing changed: {:.0} photos/s in {:.2}s; {} requests for {N} metadata checks, {rewritten} files written; tool CPU {:.2}s",
        per_sec(N, h.wall),
        h.wall.as_secs_f64(),
        graph.requests().len() - requests_before,
        h.cpu.as_secs_f64()
    );
    drop(graph);

    // (g) curl, one request per photo, JOBS connections.
    let graph = start();
    let config = dir.join("curl.conf");
    let out = dir.join("g");
    std::fs::create_dir_all(&out).unwrap();
    let mut text =
        format!("header = \"Authorization: Bearer {GRAPH_TOKEN}\"\nsilent\nshow-error\nfail\n");
    for i in 0..N {
        text.push_str(&format!(
            "url = \"{}/v1.0/users/user{i}@contoso.com/photos/96x96/$value\"\noutput = \"{}/user{i}@contoso.com.jpg\"\n",
            graph.url(),
            out.display()
        ));
    }
    std::fs::write(&config, text).unwrap();
    let found = Command::new("curl").arg("--version").output();
    if found.is_err() {
        println!("(g) curl --parallel: SKIPPED, curl is not installed (apt-get install curl)");
        return;
    }
    let mut command = Command::new("curl");
    // Straight to the stand-in, never through the developer's proxy.
    ews_standin::env::clean(&mut command);
    command
        .args([
            "--parallel",
            "--parallel-immediate",
            "--parallel-max",
            &jobs,
            "-K",
        ])
        .arg(&config);
    let g = measure(command, dir);
    let written = std::fs::read_dir(&out).unwrap().count();
    let curl = line(
        &format!("(g) curl --parallel --parallel-max {JOBS}, the same {N} photos one request each"),
        &g,
        &graph,
        single_ideal,
    );
    println!(
        "    {written} files; the default ($batch) = {:.1}× curl, one request per photo = {:.1}× curl (CPU above is curl's)",
        batched / curl,
        single / curl
    );
}

fn mtimes(dir: &Path) -> Vec<(String, std::time::SystemTime)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().modified().unwrap(),
            )
        })
        .filter(|(n, _)| !n.starts_with('.'))
        .collect();
    v.sort();
    v
}
