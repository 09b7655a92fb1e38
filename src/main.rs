use clap::Parser;

use ews_photo::app::{self, Console};
use ews_photo::cli::Cli;
use ews_photo::error::{Error, exit};

fn main() {
    // A file-size limit (ulimit -f) must fail the write with EFBIG, which is
    // reported and cleaned up, rather than kill the process and leave a
    // partial file behind.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = Cli::parse();
    let console = Console::new(cli.quiet);
    // Ctrl-C: a running export stops taking addresses, flushes its report and
    // manifest and leaves with 130. Otherwise (or on a second Ctrl-C) remove
    // any file still being written, then leave with 130 at once.
    let _ = ctrlc::set_handler(|| {
        if ews_photo::export::request_stop() {
            return;
        }
        ews_photo::output::remove_temporary_files();
        std::process::exit(exit::INTERRUPTED);
    });
    let code = match app::run(cli, console) {
        Ok(()) => exit::OK,
        Err(Error::Output(err)) if err.is_broken_pipe() => exit::OK,
        Err(err) => {
            console.error(&err.to_string());
            err.exit_code()
        }
    };
    std::process::exit(code);
}
