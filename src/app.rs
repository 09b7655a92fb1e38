//! Runs a parsed command line: builds the client, fetches, writes, reports.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::auth::{AuthMethod, Credentials, PasswordSource, read_secret, read_secret_file};
use crate::cli::{AuthArg, Cli, Command, Connection, GetArgs, OutputFormat, ProtocolArg};
use crate::client::{BusyWait, Client, ClientConfig, PhotoRequest, human_duration};
use crate::error::{Error, TransportError};
use crate::exchange::{Outcome, Protocol, RawPhoto};
use crate::output::{self, OutputError};
use crate::photo::{self, Format};
use crate::transport::TransportOptions;
use crate::{Secret, validate_email};

/// How messages for people are printed on stderr.
#[derive(Clone, Copy, Debug)]
pub struct Console {
    /// `-q`: errors only.
    pub quiet: bool,
    /// Colour allowed (stderr is a terminal and NO_COLOR is unset).
    pub color: bool,
}

impl Console {
    /// From `-q` and the environment.
    pub fn new(quiet: bool) -> Console {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Console {
            quiet,
            color: !no_color && std::io::stderr().is_terminal(),
        }
    }

    /// A progress or result message (suppressed by `-q`).
    pub fn info(&self, message: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{message}");
        }
    }

    /// A warning (suppressed by `-q`).
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            let label = self.paint("warning:", "33");
            let _ = writeln!(std::io::stderr(), "ews-photo: {label} {message}");
        }
    }

    /// An error (always shown).
    pub fn error(&self, message: &str) {
        let label = self.paint("error:", "31");
        let _ = writeln!(std::io::stderr(), "ews-photo: {label} {message}");
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[1;{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Runs the command line; the error carries the exit code.
pub fn run(cli: Cli, console: Console) -> Result<(), Error> {
    match cli.command {
        Command::Get(args) => get(&cli.connection, cli.verbose, &args, console),
        Command::Completions { shell } => {
            print_generated(&completion(shell));
            Ok(())
        }
        Command::Man => {
            print_generated(&man_page());
            Ok(())
        }
        Command::Export(args) => crate::export::run(&cli.connection, cli.verbose, &args, console),
    }
}

/// The completion script for a shell.
pub fn completion(shell: clap_complete::Shell) -> Vec<u8> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ews-photo", &mut out);
    out
}

/// The man page, in roff: the tool, then a section per subcommand with its
/// synopsis, options and examples.
pub fn man_page() -> Vec<u8> {
    use clap::CommandFactory;
    let command = Cli::command();
    let mut out = Vec::new();
    let render = |man: clap_mangen::Man, out: &mut Vec<u8>, whole: bool| {
        let result = if whole {
            man.render(out)
        } else {
            let mut part = Vec::new();
            man.render_synopsis_section(&mut part)
                .and_then(|()| man.render_description_section(&mut part))
                .and_then(|()| man.render_options_section(&mut part))
                .and_then(|()| man.render_extra_section(&mut part))
                .map(|()| {
                    // Subsections under the command's own heading.
                    let text = String::from_utf8_lossy(&part)
                        .replace(".SH SYNOPSIS", ".SS Synopsis")
                        .replace(".SH DESCRIPTION", ".SS Description")
                        .replace(".SH OPTIONS", ".SS Options")
                        .replace(".SH EXTRA", ".SS More");
                    out.extend_from_slice(text.as_bytes());
                })
        };
        result.expect("rendering to memory cannot fail");
    };
    render(clap_mangen::Man::new(command.clone()), &mut out, true);
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("ews-photo {}", sub.get_name());
        out.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
        let sub = sub.clone().bin_name(name);
        render(clap_mangen::Man::new(sub), &mut out, false);
    }
    out
}

fn print_generated(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (| head) is not an error worth reporting.
    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
}

/// Builds the client configuration from the connection options and the environment.
pub fn client_config(
    connection: &Connection,
    verbosity: u8,
    stdin_is_data: bool,
) -> Result<ClientConfig, Error> {
    let url = connection.url.clone().unwrap_or_default();
    let password = if let Some(path) = &connection.password_file {
        PasswordSource::Given(read_secret_file(path).map_err(|source| {
            TransportError::ReadFile {
                path: path.clone(),
                source,
            }
        })?)
    } else if connection.password_stdin {
        if stdin_is_data {
            return Err(Error::Usage(
                "--password-stdin cannot be used when the address list comes from stdin; use EWS_PASSWORD or --password-file".into(),
            ));
        }
        let secret = read_secret(&mut std::io::stdin().lock())
            .map_err(|e| Error::Usage(format!("cannot read the password from stdin: {e}")))?;
        PasswordSource::Given(secret)
    } else if let Some(value) = std::env::var_os("EWS_PASSWORD") {
        PasswordSource::Given(Secret::new(value.to_string_lossy()))
    } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        PasswordSource::Prompt
    } else {
        PasswordSource::Missing
    };
    let token = if let Some(path) = &connection.token_file {
        Some(
            read_secret_file(path).map_err(|source| TransportError::ReadFile {
                path: path.clone(),
                source,
            })?,
        )
    } else {
        std::env::var("EWS_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(Secret::new)
    };
    if connection.insecure {
        // Loud on purpose, even with -q: this disables the protection TLS gives.
        let _ = writeln!(
            std::io::stderr(),
            "ews-photo: WARNING: --insecure: the server's certificate is NOT verified; credentials and photos can be intercepted"
        );
    }
    Ok(ClientConfig {
        url,
        protocol: match connection.protocol {
            ProtocolArg::Soap => Protocol::Soap,
            ProtocolArg::Rest => Protocol::Rest,
        },
        server_version: connection.server_version.clone(),
        auth: match connection.auth {
            AuthArg::Auto => AuthMethod::Auto,
            AuthArg::Basic => AuthMethod::Basic,
            AuthArg::Ntlm => AuthMethod::Ntlm,
            AuthArg::Bearer => AuthMethod::Bearer,
        },
        credentials: Credentials {
            user: connection.user.clone().filter(|u| !u.is_empty()),
            password,
            token,
            domain: connection.domain.clone().filter(|d| !d.is_empty()),
        },
        allow_insecure_auth: connection.allow_insecure_auth,
        retries: connection.retries,
        max_backoff: Duration::from_secs(connection.max_backoff),
        base_backoff: Duration::from_secs(1),
        transport: TransportOptions {
            ca_cert: connection.ca_cert.clone(),
            insecure: connection.insecure,
            proxy: connection.proxy.clone(),
            timeout: Duration::from_secs(connection.timeout),
            idle_connections: 1,
            verbosity,
        },
    })
}

/// A `--json` record.
#[derive(Debug, Default, Serialize)]
pub struct Record {
    /// The address.
    pub email: String,
    /// fetched, unchanged, no-photo, skipped, failed.
    pub status: &'static str,
    /// Where the photo was written (`-` for stdout).
    pub path: Option<String>,
    /// Bytes written.
    pub bytes: Option<usize>,
    /// The type written.
    pub content_type: Option<String>,
    /// Real width in pixels.
    pub width: Option<u32>,
    /// Real height in pixels.
    pub height: Option<u32>,
    /// The ETag, to pass to --if-none-match next time.
    pub etag: Option<String>,
    /// The server's Expires header.
    pub expires: Option<String>,
    /// What went wrong (status failed or no-photo).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The exit code for this record.
    pub exit_code: i32,
}

fn print_json(record: &Record) -> Result<(), Error> {
    let line = serde_json::to_string(record).expect("a record always serialises");
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(|source| {
            OutputError::Io {
                path: PathBuf::from("-"),
                source,
            }
            .into()
        })
}

fn get(
    connection: &Connection,
    verbosity: u8,
    args: &GetArgs,
    console: Console,
) -> Result<(), Error> {
    let mut record = Record {
        email: args.email.trim().to_string(),
        ..Default::default()
    };
    let result = get_inner(connection, verbosity, args, console, &mut record);
    if args.json {
        if let Err(err) = &result {
            record.status = match err {
                Error::NoPhoto { .. } => "no-photo",
                _ => "failed",
            };
            record.error = Some(err.to_string());
            record.exit_code = err.exit_code();
        }
        print_json(&record)?;
    }
    result
}

fn get_inner(
    connection: &Connection,
    verbosity: u8,
    args: &GetArgs,
    console: Console,
    record: &mut Record,
) -> Result<(), Error> {
    let email = validate_email(&record.email)
        .map_err(Error::Usage)?
        .to_string();
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    if to_stdout && std::io::stdout().is_terminal() {
        return Err(OutputError::Terminal.into());
    }
    if to_stdout && args.json {
        return Err(Error::Usage(
            "--json prints its record on stdout, so the photo cannot go there too; give -o FILE"
                .into(),
        ));
    }
    if let Some(path) = args.output.as_ref().filter(|_| !to_stdout)
        && args.no_clobber
        && path.symlink_metadata().is_ok()
    {
        console.info(&format!(
            "{} exists; kept it (--no-clobber)",
            path.display()
        ));
        record.status = "skipped";
        record.path = Some(path.display().to_string());
        return Ok(());
    }
    let config = client_config(connection, verbosity, false)?;
    let mut client = Client::new(config)?.on_wait(move |wait: &BusyWait| {
        console.warn(&busy_message(wait));
    });
    let outcome = client.fetch(&PhotoRequest {
        email: email.clone(),
        size: args.size,
        if_none_match: args.if_none_match.clone(),
    })?;
    match outcome {
        Outcome::NoPhoto { detail } => Err(Error::NoPhoto { email, detail }),
        Outcome::Unchanged { etag, expires } => {
            record.status = "unchanged";
            record.etag = etag.or_else(|| {
                args.if_none_match
                    .as_deref()
                    .map(crate::exchange::normalize_etag)
            });
            record.expires = expires;
            console.info(&format!(
                "{email}: unchanged since ETag {}; nothing written",
                record.etag.as_deref().unwrap_or("?")
            ));
            Ok(())
        }
        Outcome::Photo(raw) => {
            let prepared = prepare_photo(&email, raw, target_format(args.format))?;
            if let Some(warning) = &prepared.warning {
                console.warn(warning);
            }
            let Prepared {
                bytes,
                format,
                info,
                etag,
                expires,
                ..
            } = prepared;
            let path = match &args.output {
                Some(_) if to_stdout => {
                    output::write_stdout(&bytes)?;
                    PathBuf::from("-")
                }
                Some(path) => {
                    output::write_atomic(path, &bytes, !args.no_clobber)?;
                    path.clone()
                }
                None => {
                    let name =
                        output::sanitize_file_name(&format!("{email}.{}", format.extension()));
                    let path = PathBuf::from(name);
                    output::write_atomic(&path, &bytes, !args.no_clobber)?;
                    path
                }
            };
            *record = Record {
                email: email.clone(),
                status: "fetched",
                path: Some(path.display().to_string()),
                bytes: Some(bytes.len()),
                content_type: Some(format.mime().to_string()),
                width: Some(info.width),
                height: Some(info.height),
                etag,
                expires,
                error: None,
                exit_code: 0,
            };
            if !to_stdout {
                console.info(&format!(
                    "{email}: wrote {} ({}×{} {}, {} bytes)",
                    path.display(),
                    info.width,
                    info.height,
                    format.name(),
                    bytes.len()
                ));
            }
            Ok(())
        }
    }
}

/// A photo checked and ready to write.
#[derive(Debug)]
pub struct Prepared {
    /// The bytes to write (converted when asked).
    pub bytes: Vec<u8>,
    /// Their format.
    pub format: Format,
    /// The real format and dimensions of what the server sent.
    pub info: photo::ImageInfo,
    /// The server's ETag.
    pub etag: Option<String>,
    /// The server's Expires header.
    pub expires: Option<String>,
    /// Something worth telling (the server mislabelled the image).
    pub warning: Option<String>,
}

/// Checks a photo from the server and converts it when asked: the one
/// per-photo step shared by `get` and `export`. The 1×1 "clear image" is
/// [`Error::NoPhoto`]; a damaged or non-image answer is an error.
pub fn prepare_photo(email: &str, raw: RawPhoto, to: Option<Format>) -> Result<Prepared, Error> {
    let info = photo::inspect(&raw.bytes)?;
    if info.is_clear_image() {
        return Err(Error::NoPhoto {
            email: email.to_string(),
            detail: Some("the server sent the 1×1 placeholder image".into()),
        });
    }
    let warning = raw
        .content_type
        .as_deref()
        .filter(|claimed| !info.matches_content_type(claimed))
        .map(|claimed| {
            format!(
                "{email}: the server said {claimed} but sent {}; writing it as {}",
                info.format.mime(),
                info.format.extension()
            )
        });
    let (bytes, format) = match to {
        Some(to) if to != info.format => (photo::convert(&raw.bytes, info.format, to)?, to),
        _ => (raw.bytes, info.format),
    };
    Ok(Prepared {
        bytes,
        format,
        info,
        etag: raw.etag,
        expires: raw.expires,
        warning,
    })
}

/// The format `--format` asks for (`None`: keep what the server sent).
pub fn target_format(format: OutputFormat) -> Option<Format> {
    match format {
        OutputFormat::Keep => None,
        OutputFormat::Jpeg => Some(Format::Jpeg),
        OutputFormat::Png => Some(Format::Png),
        OutputFormat::Webp => Some(Format::Webp),
    }
}

/// "server busy (ErrorServerBusy): waiting 1.5s as it asked (retry 1 of 3)".
pub fn busy_message(wait: &BusyWait) -> String {
    format!(
        "server busy ({}); waiting {}{} (retry {} of {})",
        wait.reason,
        human_duration(wait.wait),
        if wait.hinted { " as it asked" } else { "" },
        wait.retry,
        wait.retries
    )
}
