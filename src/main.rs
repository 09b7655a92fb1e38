use std::process::ExitCode;

fn main() -> ExitCode {
    // A file-size limit (ulimit -f) must fail the write with EFBIG, which is
    // reported and cleaned up, rather than kill the process and leave a
    // partial file behind.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    ews_photo::run_cli()
}
