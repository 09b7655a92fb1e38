//! The command line (clap derive). Only definitions: [`crate::app`] runs them.
//! The help texts that list the exit codes are generated from [`Exit::ALL`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};

use crate::error::Exit;
use crate::photo::Format;
use crate::{PhotoSize, Resolve};

/// Fetch user photos from Microsoft Exchange (EWS GetUserPhoto) or Microsoft Graph.
#[derive(Debug, Parser)]
#[command(
    name = "ews-photo",
    version,
    about = "Fetch user photos from Microsoft Exchange (EWS GetUserPhoto) or Microsoft Graph",
    long_about = "Fetch user photos from Microsoft Exchange through the EWS GetUserPhoto operation \
(SOAP or its REST form), or from Microsoft Graph, and write them to files or stdout.\n\n\
Works with Exchange 2013, 2016, 2019 and SE on premises (Kerberos or NTLMv2, both with \
Extended Protection; Basic or OAuth) and with Exchange Online (OAuth 2: the tool signs in with \
a client secret, a certificate or a device code, caches and renews its tokens; or takes a \
bearer token as is). Exchange Online is retiring EWS (blocked for apps not on the tenant's \
allow list since 1 October 2026, off on 1 April 2027): --backend graph gives the same commands, \
files, records and exit codes over Microsoft Graph.",
    after_long_help = after_help(),
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,

    /// Connection and authentication options.
    #[command(flatten)]
    pub connection: Connection,

    /// Show requests and responses on stderr (-vv adds bodies); secrets are redacted.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet", help_heading = "Messages")]
    pub verbose: u8,

    /// Print nothing but errors.
    #[arg(short, long, global = true, help_heading = "Messages")]
    pub quiet: bool,
}

/// Sizes, exit codes, environment and examples, shown by `--help` (not `-h`).
fn after_help() -> String {
    let codes: String = Exit::ALL
        .iter()
        .map(|exit| format!("  {:<4}{}\n", exit.code(), exit.meaning()))
        .collect();
    format!(
        concat!(
            "Sizes (-s): HR48x48 HR64x64 HR96x96 HR120x120 HR240x240 HR360x360 HR432x432 HR504x504\n",
            "HR648x648, and HR1024xN HR1920xN on Exchange 2016 and later. Just the width works too\n",
            "(-s 240). The server may send a smaller photo when the requested size is not stored.\n\n",
            "Exit codes:\n{codes}\n",
            "Environment:\n",
            "  EWS_URL, EWS_USER, EWS_DOMAIN, EWS_AUTH, EWS_SPN, EWS_PROTOCOL, EWS_SERVER_VERSION,\n",
            "  EWS_CA_CERT: defaults for --url, --user, --domain, --auth, --spn, --protocol,\n",
            "      --server-version, --ca-cert\n",
            "  EWS_BACKEND, EWS_GRAPH_URL: defaults for --backend, --graph-url\n",
            "  EWS_PASSWORD  the password (never pass it as an argument: other users can see those)\n",
            "  EWS_TOKEN     an OAuth 2 bearer token\n",
            "  KRB5CCNAME, KRB5_CLIENT_KTNAME, KRB5_CONFIG: the Kerberos ticket cache, client keytab\n",
            "      (for cron: no kinit needed) and krb5.conf, read by the system's GSS-API library\n",
            "  EWS_GSS_LIBRARY  the GSS-API library to load (default: libgssapi_krb5.so.2, then\n",
            "      Heimdal's libgssapi.so.3; GSS.framework on macOS)\n",
            "  EWS_TENANT, EWS_CLIENT_ID, EWS_CERTIFICATE, EWS_AUTHORITY, EWS_SCOPE, EWS_IMPERSONATE:\n",
            "      defaults for --tenant, --client-id, --certificate, --authority, --scope, --impersonate\n",
            "  EWS_CLIENT_SECRET         the app's client secret (or --client-secret-file)\n",
            "  EWS_CERTIFICATE_PASSWORD  the password of a .pfx certificate\n",
            "  XDG_CACHE_HOME  where tokens are cached (ews-photo/ in it; default ~/.cache)\n",
            "  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY: proxies, unless --proxy is given\n",
            "  NO_COLOR      no colour in messages\n\n",
            "Examples:\n",
            "  ews-photo get alice@contoso.com -s HR240x240 -o alice.jpg\n",
            "  kinit jdoe@CONTOSO.COM; ews-photo get alice@contoso.com -o alice.jpg   # Kerberos when offered\n",
            "  ews-photo get alice@contoso.com --user 'CONTOSO\\jdoe' -o alice.jpg   # NTLM when offered\n",
            "  ews-photo get alice@contoso.com --user jdoe@contoso.com --auth ntlm -o alice.jpg\n",
            "  EWS_PASSWORD=... ews-photo get alice@contoso.com -o - | convert - -resize 50% small.png\n",
            "  ews-photo get alice@contoso.com --protocol rest --json -o alice.jpg\n",
            "  ews-photo discover jdoe@contoso.com   # the EWS URL, found by Autodiscover\n",
            "  ews-photo get alice@contoso.com --auth oauth --tenant contoso.onmicrosoft.com \\\n",
            "      --client-id 11111111-2222-3333-4444-555555555555 --device-code\n",
            "  ews-photo export users.txt --dir photos --auth oauth --tenant contoso.onmicrosoft.com \\\n",
            "      --client-id 11111111-2222-3333-4444-555555555555 --client-secret-file secret.txt \\\n",
            "      --impersonate svc-photos@contoso.com\n",
            "  EWS_TOKEN=... ews-photo get alice@contoso.com --backend graph --auth bearer -o alice.jpg\n"
        ),
        codes = codes
    )
}

/// The examples of `get --help`, and its exit codes on one line.
fn get_after_help() -> String {
    let codes: Vec<String> = Exit::ALL
        .iter()
        .map(|exit| format!("{} {}", exit.code(), exit.short()))
        .collect();
    format!(
        concat!(
            "Examples:\n",
            "  # one photo, prompting for the password on a terminal\n",
            "  export EWS_URL=https://mail.contoso.com/EWS/Exchange.asmx EWS_USER='CONTOSO\\jdoe'\n",
            "  ews-photo get alice@contoso.com -s HR240x240 -o alice.jpg\n\n",
            "  # to stdout, for a pipe\n",
            "  EWS_PASSWORD=... ews-photo get alice@contoso.com -o - | convert - -resize 50% small.png\n\n",
            "  # REST form, one JSON record on stdout; then only if it changed\n",
            "  ews-photo get alice@contoso.com --protocol rest --json -o alice.jpg\n",
            "  ews-photo get alice@contoso.com --if-none-match 8e2fe18e -o alice.jpg\n\n",
            "  # from Microsoft Graph (Exchange Online), with a token for Graph\n",
            "  ews-photo get alice@contoso.com --backend graph --auth bearer --token-file graph.token -o alice.jpg\n\n",
            "Exit codes: {}."
        ),
        codes.join(", ")
    )
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch one user's photo.
    #[command(after_long_help = get_after_help())]
    Get(GetArgs),

    /// Fetch the photos of many users: parallel, resumable, incremental.
    #[command(
        long_about = "Fetch the photos of a list of users into a folder, several at a time.\n\n\
The list is a file (or - for stdin) with one address a line (blank lines and # comments are \
ignored), or a CSV file with a header naming an email, mail, PrimarySmtpAddress or \
UserPrincipalName column (or --column NAME), such as PowerShell's Export-Csv writes. \
Addresses are de-duplicated; malformed ones are reported and skipped.\n\n\
Each photo is written atomically as --name in --dir. A manifest, .ews-photo-manifest.json, \
records each address's file and ETag, so that --sync fetches only what changed. --report \
writes one row per address (CSV or JSON lines).\n\n\
With --backend graph, the photos of 20 addresses go in one $batch request (--batch), and \
--sync compares each photo's @odata.mediaEtag before downloading it.",
        after_long_help = concat!(
            "Examples:\n",
            "  # one address a line\n",
            "  ews-photo export users.txt --dir photos/\n\n",
            "  # from Exchange PowerShell, 16 at a time, with a report\n",
            "  Get-Mailbox -ResultSize Unlimited | Export-Csv mbx.csv\n",
            "  ews-photo export mbx.csv --dir photos/ --jobs 16 --report run.csv\n\n",
            "  # from a pipe, every night: only changed photos are downloaded again\n",
            "  ldapsearch -LLL '(mail=*)' mail | sed -n 's/^mail: //p' \\\n",
            "      | ews-photo export - --dir photos/ --sync --prune --name '{local}.{ext}'\n\n",
            "  # from Microsoft Graph, 20 photos per $batch request (the default)\n",
            "  ews-photo export users.txt --dir photos/ --backend graph --auth bearer --sync --jobs 8\n\n",
            "Statuses in the report: fetched, unchanged, no-photo, skipped, failed.\n",
            "Exit codes: 0 every address fetched, unchanged, no-photo or skipped; 1 some failed,\n",
            "or the folder or report cannot be created; 2 usage or unreadable list; 4\n",
            "authentication failed (the run stops); 130 interrupted\n",
            "(the report and manifest are complete for what finished: run again with --sync)."
        )
    )]
    Export(ExportArgs),

    /// Find the EWS URL of an address by Autodiscover, and print it.
    #[command(
        long_about = "Find the EWS URL of a mailbox by Autodiscover and print it on stdout; \
stderr says how it was found (with -v: every candidate, and why it was passed over).\n\n\
The candidates, in order: Autodiscover v2 (GET https://autodiscover.DOMAIN/autodiscover/\
autodiscover.json/v1.0/EMAIL?Protocol=EWS), POX (POST https://DOMAIN/autodiscover/autodiscover.xml, \
then https://autodiscover.DOMAIN/…), the plain-http GET http://autodiscover.DOMAIN/autodiscover/\
autodiscover.xml that may only redirect to https, and the DNS SRV record _autodiscover._tcp.DOMAIN \
(port 443 targets, lowest priority value first). POX redirects (redirectAddr, redirectUrl, HTTP \
301/302/303/307 to https Autodiscover URLs) are followed, at most 10 in all.\n\n\
Credentials go only to https endpoints whose certificate was verified, and only after they ask \
(HTTP 401); never to a host outside the address's domain that only the plain-http redirect or \
the SRV record named. Results are cached per domain for 24 hours (--no-cache looks again); get \
and export use the same cache when --url is not given.",
        after_long_help = concat!(
            "Examples:\n",
            "  ews-photo discover jdoe@contoso.com\n",
            "  export EWS_URL=$(ews-photo discover jdoe@contoso.com -u jdoe@contoso.com)\n",
            "  ews-photo discover jdoe@contoso.com --json | jq -r .ews_url\n",
            "  ews-photo discover jdoe@contoso.com -v --no-cache   # every candidate, and why\n\n",
            "Exit codes: 0 found; 1 every candidate answered, but none gave an EWS URL (or the\n",
            "redirects went in circles); 2 usage; 4 only authentication stood in the way; 6 no\n",
            "Autodiscover server could be reached."
        )
    )]
    Discover(DiscoverArgs),

    /// Print a shell completion script.
    #[command(after_long_help = concat!(
        "Examples:\n",
        "  ews-photo completions bash > ~/.local/share/bash-completion/completions/ews-photo\n",
        "  ews-photo completions zsh > ~/.zfunc/_ews-photo\n",
        "  ews-photo completions fish > ~/.config/fish/completions/ews-photo.fish\n",
        "  ews-photo completions powershell >> $PROFILE"
    ))]
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff).
    #[command(after_long_help = concat!(
        "Examples:\n",
        "  ews-photo man > ~/.local/share/man/man1/ews-photo.1\n",
        "  ews-photo man | man -l -\n",
        "  ews-photo man | groff -man -Tutf8 | less"
    ))]
    Man,
}

/// `ews-photo export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The list of addresses: a text file (one a line) or a CSV file; - for stdin.
    #[arg(value_name = "FILE", default_value = "-", value_hint = ValueHint::FilePath)]
    pub input: PathBuf,

    /// The folder to write the photos into (created if missing).
    #[arg(short, long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub dir: PathBuf,

    /// File name template: {email}, {local}, {domain}, {size}, {ext} (the real format's
    /// extension). The result is made a safe file name in --dir.
    #[arg(long, value_name = "TEMPLATE", default_value = "{email}.{ext}")]
    pub name: String,

    /// The CSV column holding the addresses (default: email, mail, PrimarySmtpAddress or
    /// UserPrincipalName; case-insensitive).
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,

    /// Photo size: HR48x48 … HR648x648, HR1024xN, HR1920xN, or just the width.
    #[arg(short, long, value_name = "SIZE", default_value = "HR96x96", value_parser = SizeParser)]
    pub size: PhotoSize,

    /// Convert to this format (keep: write what the server sent).
    #[arg(long, value_enum, default_value_t = OutputFormat::Keep)]
    pub format: OutputFormat,

    /// Requests in parallel, each worker on its own connection (Exchange allows 27 per
    /// user by default: EWSMaxConcurrency).
    #[arg(short, long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,

    /// With --backend graph: photos per $batch request, 1 to 20 (Graph's limit); 1 sends one
    /// request per photo. EWS always sends one request per photo.
    #[arg(long, value_name = "N", default_value_t = crate::export::DEFAULT_BATCH as u32, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub batch: u32,

    /// Write one row per address to FILE: CSV (.csv) or JSON lines (.json, .jsonl, .ndjson).
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub report: Option<PathBuf>,

    /// Fetch only photos that changed since the last run (If-None-Match with the ETags in
    /// the folder's manifest; with Graph, the photos' @odata.mediaEtag): unchanged photos are
    /// not downloaded or written again.
    #[arg(long)]
    pub sync: bool,

    /// With --sync: delete the file of a user whose photo was removed on the server.
    #[arg(long, requires = "sync")]
    pub prune: bool,

    /// Skip addresses whose file already exists (no request at all).
    #[arg(long)]
    pub skip_existing: bool,

    /// Progress on stderr: a bar on a terminal, a line every few seconds otherwise
    /// (always: even with -q).
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    pub progress: ProgressArg,
}

/// `--progress` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProgressArg {
    /// A bar on a terminal, periodic lines otherwise; nothing with -q.
    Auto,
    /// As auto, even with -q.
    Always,
    /// No progress (the summary is still printed, unless -q).
    Never,
}

/// `ews-photo discover`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// The SMTP address of the mailbox whose EWS URL to find.
    #[arg(value_name = "EMAIL")]
    pub email: String,

    /// Print one JSON record on stdout (email, status, ews_url, method, autodiscover_url,
    /// address, trusted, cached, candidates, error, exit_code).
    #[arg(long)]
    pub json: bool,
}

/// `ews-photo get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The SMTP address of the user whose photo to fetch.
    #[arg(value_name = "EMAIL")]
    pub email: String,

    /// Photo size: HR48x48 … HR648x648, HR1024xN, HR1920xN, or just the width.
    #[arg(short, long, value_name = "SIZE", default_value = "HR96x96", value_parser = SizeParser)]
    pub size: PhotoSize,

    /// Where to write: a file, or - for stdout. Default: EMAIL.EXT in the current folder,
    /// the extension from the real image format.
    #[arg(short, long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub output: Option<PathBuf>,

    /// Keep an existing output file instead of replacing it.
    #[arg(short = 'n', long)]
    pub no_clobber: bool,

    /// Convert to this format (keep: write what the server sent).
    #[arg(long, value_enum, default_value_t = OutputFormat::Keep)]
    pub format: OutputFormat,

    /// Send If-None-Match (Graph: compare the photo's @odata.mediaEtag): an unchanged photo is
    /// not downloaded again (exit 0, nothing written).
    #[arg(long, value_name = "ETAG")]
    pub if_none_match: Option<String>,

    /// Print one JSON record on stdout (email, status, path, bytes, content_type, width,
    /// height, etag, expires).
    #[arg(long)]
    pub json: bool,
}

/// Output formats for `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Whatever the server sent (normally JPEG).
    Keep,
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// WebP (lossless).
    Webp,
}

impl OutputFormat {
    /// The format to convert to (`None`: keep what the server sent).
    pub fn target(self) -> Option<Format> {
        match self {
            OutputFormat::Keep => None,
            OutputFormat::Jpeg => Some(Format::Jpeg),
            OutputFormat::Png => Some(Format::Png),
            OutputFormat::Webp => Some(Format::Webp),
        }
    }
}

/// Connection options shared by every subcommand.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection options")]
pub struct Connection {
    /// Where the photos come from: ews (Exchange Web Services, --url) or graph (Microsoft
    /// Graph, --graph-url; for Exchange Online, where EWS is being retired).
    #[arg(long, env = "EWS_BACKEND", global = true, value_enum, default_value_t = BackendArg::Ews)]
    pub backend: BackendArg,

    /// The EWS URL, e.g. https://mail.contoso.com/EWS/Exchange.asmx. Without it, Autodiscover
    /// finds it from --user when that is an address, else from the photo's address (export:
    /// the list's first address), and caches it for a day. Not used with --backend graph.
    #[arg(long, env = "EWS_URL", global = true, value_name = "URL", value_hint = ValueHint::Url)]
    pub url: Option<String>,

    /// The Microsoft Graph service, for --backend graph; national clouds:
    /// https://graph.microsoft.us (US Government L4), https://dod-graph.microsoft.us (L5, DoD),
    /// https://microsoftgraph.chinacloudapi.cn (21Vianet).
    #[arg(long, env = "EWS_GRAPH_URL", global = true, value_name = "URL", value_hint = ValueHint::Url, default_value = crate::backend::graph::GLOBAL)]
    pub graph_url: String,

    /// The user: DOMAIN\user, user@domain or user.
    #[arg(short, long, env = "EWS_USER", global = true, value_name = "USER")]
    pub user: Option<String>,

    /// The NTLM domain for a plain user name (not needed with DOMAIN\user or user@domain).
    #[arg(long, env = "EWS_DOMAIN", global = true, value_name = "DOMAIN")]
    pub domain: Option<String>,

    /// Read the password from the first line of FILE (or use EWS_PASSWORD, or --password-stdin;
    /// on a terminal the password is asked for).
    #[arg(long, global = true, value_name = "FILE", value_hint = ValueHint::FilePath, conflicts_with = "password_stdin")]
    pub password_file: Option<PathBuf>,

    /// Read the password from the first line of stdin.
    #[arg(long, global = true)]
    pub password_stdin: bool,

    /// Read an OAuth 2 bearer token from FILE (or use EWS_TOKEN).
    #[arg(long, global = true, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub token_file: Option<PathBuf>,

    /// Authentication scheme; auto picks from the server's 401 challenge, oauth signs in
    /// with --tenant and --client-id.
    #[arg(long, env = "EWS_AUTH", global = true, value_enum, default_value_t = AuthArg::Auto)]
    pub auth: AuthArg,

    /// The Kerberos service principal, e.g. HTTP/mail.contoso.com or
    /// HTTP/mail.contoso.com@CONTOSO.COM (default: HTTP/ and the URL's host, as krb5.conf maps
    /// it to a realm).
    #[arg(long, env = "EWS_SPN", global = true, value_name = "SPN")]
    pub spn: Option<String>,

    /// The tenant: its ID or a domain such as contoso.onmicrosoft.com (organizations or
    /// common only with --device-code).
    #[arg(
        long,
        env = "EWS_TENANT",
        global = true,
        value_name = "TENANT",
        help_heading = "OAuth sign-in (--auth oauth)"
    )]
    pub tenant: Option<String>,

    /// The app registration's Application (client) ID.
    #[arg(
        long,
        env = "EWS_CLIENT_ID",
        global = true,
        value_name = "ID",
        help_heading = "OAuth sign-in (--auth oauth)"
    )]
    pub client_id: Option<String>,

    /// Read the client secret from the first line of FILE (or use EWS_CLIENT_SECRET; never
    /// as an argument).
    #[arg(long, global = true, value_name = "FILE", value_hint = ValueHint::FilePath, conflicts_with_all = ["certificate", "device_code"], help_heading = "OAuth sign-in (--auth oauth)")]
    pub client_secret_file: Option<PathBuf>,

    /// The app's certificate: PEM with the certificate and its RSA key (PKCS#8 or PKCS#1),
    /// or a PKCS#12 .pfx (password from EWS_CERTIFICATE_PASSWORD, or asked for).
    #[arg(long, env = "EWS_CERTIFICATE", global = true, value_name = "FILE", value_hint = ValueHint::FilePath, conflicts_with = "device_code", help_heading = "OAuth sign-in (--auth oauth)")]
    pub certificate: Option<PathBuf>,

    /// Sign in as a user with the device-code flow (the code and URL are shown on stderr).
    #[arg(long, global = true, help_heading = "OAuth sign-in (--auth oauth)")]
    pub device_code: bool,

    /// The sign-in server.
    #[arg(long, env = "EWS_AUTHORITY", global = true, value_name = "URL", value_hint = ValueHint::Url, default_value = crate::auth::oauth::DEFAULT_AUTHORITY, help_heading = "OAuth sign-in (--auth oauth)")]
    pub authority: String,

    /// The scope to ask for. Default: https://outlook.office365.com/.default for an app,
    /// …/EWS.AccessAsUser.All offline_access for --device-code; on premises (Hybrid Modern
    /// Auth) the EWS URL's https://host instead of https://outlook.office365.com; with
    /// --backend graph, the --graph-url's /.default, or …/ProfilePhoto.Read.All offline_access.
    #[arg(
        long,
        env = "EWS_SCOPE",
        global = true,
        value_name = "SCOPE",
        help_heading = "OAuth sign-in (--auth oauth)"
    )]
    pub scope: Option<String>,

    /// The mailbox EWS requests act as (ExchangeImpersonation and X-AnchorMailbox): needed
    /// by an app's own token over EWS (not used with --backend graph).
    #[arg(
        long,
        env = "EWS_IMPERSONATE",
        global = true,
        value_name = "SMTP",
        help_heading = "OAuth sign-in (--auth oauth)"
    )]
    pub impersonate: Option<String>,

    /// Neither read nor write the token cache.
    #[arg(long, global = true, help_heading = "OAuth sign-in (--auth oauth)")]
    pub no_token_cache: bool,

    /// EWS: the operation's form, soap (POST) or rest (GET …/s/GetUserPhoto).
    #[arg(long, env = "EWS_PROTOCOL", global = true, value_enum, default_value_t = ProtocolArg::Soap)]
    pub protocol: ProtocolArg,

    /// EWS: the RequestServerVersion sent with SOAP requests.
    #[arg(
        long,
        env = "EWS_SERVER_VERSION",
        global = true,
        value_name = "VERSION",
        default_value = crate::backend::ews::soap::DEFAULT_SERVER_VERSION
    )]
    pub server_version: String,

    /// Also trust the CA certificates in this PEM file (added to the system's).
    #[arg(long, env = "EWS_CA_CERT", global = true, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub ca_cert: Option<PathBuf>,

    /// Do not verify the server's TLS certificate (unsafe: anyone on the path can read
    /// the credentials).
    #[arg(long, global = true)]
    pub insecure: bool,

    /// Allow credentials over plain http://: Basic and Bearer can then be read by anyone on
    /// the path, an NTLM exchange captured, cracked offline or relayed, and a connection
    /// authenticated with Kerberos taken over.
    #[arg(long, global = true)]
    pub allow_insecure_auth: bool,

    /// Proxy URL (http://, https:// or socks5://); default: the *_PROXY variables.
    #[arg(long, global = true, value_name = "URL", value_hint = ValueHint::Url)]
    pub proxy: Option<String>,

    /// Connect to ADDR for HOST:PORT, as curl's --resolve (repeatable; several ADDRs separated
    /// by commas, IPv6 in [brackets]); ADDR:PORT also moves the port, as curl's --connect-to.
    /// For every request: EWS, Autodiscover, tokens.
    #[arg(long, global = true, value_name = "HOST:PORT:ADDR", value_parser = parse_resolve)]
    pub resolve: Vec<Resolve>,

    /// DNS servers for Autodiscover's SRV lookup, as ADDR[:PORT],… (default: the system's,
    /// from /etc/resolv.conf). Host names are resolved by the system (or --resolve).
    #[arg(long, global = true, value_name = "ADDR[:PORT],…")]
    pub dns_servers: Option<String>,

    /// Run Autodiscover even when the cache has a result for the domain (the new result is
    /// cached).
    #[arg(long, global = true)]
    pub no_cache: bool,

    /// Give up on a request after SECS seconds.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Retries when the server is busy or throttling.
    #[arg(long, global = true, value_name = "N", default_value_t = 3)]
    pub retries: u32,

    /// The longest wait between retries, whatever the server asks, in seconds.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 300)]
    pub max_backoff: u64,
}

fn parse_resolve(text: &str) -> Result<Resolve, String> {
    Resolve::parse(text)
}

/// `--auth` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// Pick from the server's challenge: Kerberos when Negotiate is offered and a ticket or
    /// client keytab is there, else NTLM (with --user), else Basic over https (with --user),
    /// else Bearer (with a token).
    Auto,
    /// HTTP Basic: --user and a password.
    Basic,
    /// NTLMv2 (also inside Negotiate), with channel binding over https: --user and a password.
    Ntlm,
    /// Kerberos inside Negotiate, with channel binding over https: the ticket from kinit, or a
    /// client keytab (KRB5_CLIENT_KTNAME); no password.
    Kerberos,
    /// OAuth 2 bearer token: EWS_TOKEN or --token-file.
    Bearer,
    /// OAuth 2 sign-in: the tool gets and renews its own tokens (--tenant, --client-id,
    /// and a client secret, a certificate or --device-code).
    Oauth,
}

/// `--backend` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// Exchange Web Services GetUserPhoto, at --url or where Autodiscover finds it (on
    /// premises; Exchange Online until EWS is retired there).
    Ews,
    /// Microsoft Graph, at --graph-url (Exchange Online); OAuth tokens only.
    Graph,
}

/// `--protocol` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    /// POST a SOAP envelope to the EWS URL.
    Soap,
    /// GET {EWS URL}/s/GetUserPhoto?email=…&size=….
    Rest,
}

/// Parses sizes forgivingly (`240`, `hr240x240`) but offers the exact codes to
/// shell completion.
#[derive(Clone, Copy, Debug)]
struct SizeParser;

impl clap::builder::TypedValueParser for SizeParser {
    type Value = PhotoSize;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<PhotoSize, clap::Error> {
        value
            .to_string_lossy()
            .parse()
            .map_err(|e: crate::UnknownSize| {
                clap::Error::raw(
                    clap::error::ErrorKind::InvalidValue,
                    format!("invalid value for '--size <SIZE>': {e}\n"),
                )
                .with_cmd(cmd)
            })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            PhotoSize::ALL
                .into_iter()
                .map(|size| clap::builder::PossibleValue::new(size.code())),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
