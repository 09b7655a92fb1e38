//! The system's GSS-API, loaded at run time, for Kerberos inside HTTP
//! `Negotiate` (RFC 4559): SPNEGO initiator contexts with mutual
//! authentication and TLS channel bindings.
//!
//! Nothing is linked at build time: [`Gss::load`] opens MIT Kerberos'
//! `libgssapi_krb5.so.2` (Linux and other Unix), Heimdal's `libgssapi.so.3`
//! as a fallback, or `GSS.framework` (macOS) when it is first needed, so
//! building needs no Kerberos headers, no libclang and no C compiler. The
//! library uses the user's own credentials and settings exactly as curl and
//! Python's gssapi do: the ticket cache (`kinit`, `KRB5CCNAME`), a client
//! keytab (`KRB5_CLIENT_KTNAME`) and `krb5.conf` (`KRB5_CONFIG`).
//!
//! All `unsafe` code of the project lives here. Contexts and names are
//! released when dropped; an [`Initiator`] may move between threads (it is
//! `Send`) but is used by one at a time (it is not `Sync`).
//!
//! ```no_run
//! use ews_gss::{ChannelBindings, Gss, Target};
//! # fn server_answer(_token: &[u8]) -> Vec<u8> { Vec::new() }
//! let gss = Gss::load()?;
//! let who = gss.credentials()?; // fails clearly without a ticket or keytab
//! println!("Kerberos as {}", who.principal);
//! let bindings = ChannelBindings::tls_server_end_point(&[0u8; 32]);
//! let mut context = gss.initiator(&Target::host_based("HTTP", "mail.contoso.com"), Some(bindings))?;
//! let first = context.step(None)?; // -> Authorization: Negotiate <base64 of first.token>
//! let last = context.step(Some(&server_answer(&first.token)))?; // the token of the 200's WWW-Authenticate
//! assert!(last.complete && context.mutual_authenticated());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod error;
mod ffi;

use std::fmt;
use std::mem::ManuallyDrop;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

pub use error::{Error, ErrorKind, GssError, LoadError, Operation, routine};

use ffi::{Api, BufferDesc, ChannelBindingsDesc, GssCtx, GssName, OidSetDesc, OmUint32, oid};

/// The libraries [`Gss::load`] tries, in order.
#[cfg(target_vendor = "apple")]
pub const DEFAULT_LIBRARIES: &[&str] = &[
    "/System/Library/Frameworks/GSS.framework/GSS",
    "libgssapi_krb5.2.dylib",
];
/// The libraries [`Gss::load`] tries, in order.
#[cfg(all(unix, not(target_vendor = "apple")))]
pub const DEFAULT_LIBRARIES: &[&str] =
    &["libgssapi_krb5.so.2", "libgssapi_krb5.so", "libgssapi.so.3"];
/// The libraries [`Gss::load`] tries, in order: none, Windows has SSPI instead.
#[cfg(not(unix))]
pub const DEFAULT_LIBRARIES: &[&str] = &[];

/// Context flags (RFC 2744 §5.19), as requested and as returned.
pub mod flags {
    /// GSS_C_DELEG_FLAG: delegate credentials (never requested here).
    pub const DELEG: u32 = 1;
    /// GSS_C_MUTUAL_FLAG: the server proves its identity too.
    pub const MUTUAL: u32 = 2;
    /// GSS_C_REPLAY_FLAG: replayed per-message tokens are detected.
    pub const REPLAY: u32 = 4;
    /// GSS_C_SEQUENCE_FLAG: out-of-sequence per-message tokens are detected.
    pub const SEQUENCE: u32 = 8;
    /// GSS_C_CONF_FLAG.
    pub const CONF: u32 = 16;
    /// GSS_C_INTEG_FLAG.
    pub const INTEG: u32 = 32;
    /// GSS_C_CHANNEL_BOUND_FLAG (MIT 1.19+, acceptor side): the initiator's
    /// token carried channel bindings that matched.
    pub const CHANNEL_BOUND: u32 = 0x800;
    /// What [`Initiator`](crate::Initiator) requests: mutual authentication,
    /// with replay and sequence detection as curl and browsers ask for.
    pub const REQUESTED: u32 = MUTUAL | REPLAY | SEQUENCE;
}

/// A loaded GSS-API library. Cheap to clone; `Send` and `Sync`.
#[derive(Clone)]
pub struct Gss {
    api: Arc<LoadedApi>,
}

/// The library is never unloaded: MIT registers thread-specific-data
/// destructors that must stay callable until every thread has ended.
struct LoadedApi(ManuallyDrop<Api>);

impl std::ops::Deref for LoadedApi {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.0
    }
}

impl fmt::Debug for Gss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gss")
            .field("library", &self.api.path)
            .finish()
    }
}

/// The user's Kerberos credentials, as the library sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The client principal, e.g. `jdoe@CONTOSO.COM`.
    pub principal: String,
    /// How long they stay valid; `None` when the library reports no limit.
    /// With only a client keytab, MIT fetches a TGT for this check and
    /// reports that ticket's lifetime.
    pub lifetime: Option<Duration>,
}

/// Whom to authenticate to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A host-based service name, `service@host` (GSS_C_NT_HOSTBASED_SERVICE):
    /// the library makes the principal `service/host@REALM` itself, applying
    /// krb5.conf (`dns_canonicalize_hostname`, `rdns`, `qualify_shortname`,
    /// `[domain_realm]`), as curl and browsers do.
    HostBased {
        /// The service, `HTTP` for web servers.
        service: String,
        /// The server's host name, without port.
        host: String,
    },
    /// An explicit Kerberos principal, `HTTP/host` or `HTTP/host@REALM`
    /// (GSS_KRB5_NT_PRINCIPAL_NAME): used as given, no canonicalisation; the
    /// default realm applies when none is named.
    Principal(String),
}

impl Target {
    /// `service@host`, e.g. `Target::host_based("HTTP", "mail.contoso.com")`.
    pub fn host_based(service: &str, host: &str) -> Target {
        Target::HostBased {
            service: service.to_string(),
            host: host.to_string(),
        }
    }

    /// An explicit principal such as `HTTP/mail.contoso.com` (`--spn`).
    pub fn principal(name: &str) -> Target {
        Target::Principal(name.to_string())
    }

    fn name_and_type(&self) -> (String, &'static [u8]) {
        match self {
            Target::HostBased { service, host } => {
                (format!("{service}@{host}"), oid::NT_HOSTBASED_SERVICE)
            }
            Target::Principal(name) => (name.clone(), oid::KRB5_NT_PRINCIPAL_NAME),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name_and_type().0)
    }
}

/// Channel bindings (RFC 2744 §3.11) as Windows and Exchange's Extended
/// Protection expect them: both address types GSS_C_AF_UNSPEC with empty
/// addresses, and the application data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelBindings {
    application_data: Vec<u8>,
}

impl ChannelBindings {
    /// The RFC 5929 `tls-server-end-point` binding: `certificate_hash` is the
    /// hash of the server's leaf certificate (DER) with the hash function of
    /// its signature (SHA-256 for MD5 and SHA-1 signatures).
    ///
    /// ```
    /// let cb = ews_gss::ChannelBindings::tls_server_end_point(&[0xab; 32]);
    /// assert!(cb.application_data().starts_with(b"tls-server-end-point:"));
    /// assert_eq!(cb.application_data().len(), 21 + 32);
    /// ```
    pub fn tls_server_end_point(certificate_hash: &[u8]) -> ChannelBindings {
        let mut application_data = b"tls-server-end-point:".to_vec();
        application_data.extend_from_slice(certificate_hash);
        ChannelBindings { application_data }
    }

    /// Bindings with any application data (tests, other binding types).
    pub fn from_application_data(application_data: Vec<u8>) -> ChannelBindings {
        ChannelBindings { application_data }
    }

    /// The application data passed to the library.
    pub fn application_data(&self) -> &[u8] {
        &self.application_data
    }
}

impl Gss {
    /// Loads the first of [`DEFAULT_LIBRARIES`] that works. The error names
    /// every library tried and why each failed.
    pub fn load() -> Result<Gss, LoadError> {
        Gss::load_from(DEFAULT_LIBRARIES)
    }

    /// Loads the first of `candidates` (file names for the system's search
    /// path, or paths) that opens and has every function needed.
    pub fn load_from<S: AsRef<str>>(candidates: &[S]) -> Result<Gss, LoadError> {
        if candidates.is_empty() {
            return Err(LoadError::Unsupported);
        }
        let mut tried = Vec::new();
        for candidate in candidates {
            match Api::load(candidate.as_ref()) {
                Ok(api) => {
                    return Ok(Gss {
                        api: Arc::new(LoadedApi(ManuallyDrop::new(api))),
                    });
                }
                Err(e) => tried.push(e),
            }
        }
        Err(LoadError::NotFound { tried })
    }

    /// The library in use, as it was named to the loader.
    pub fn library(&self) -> &str {
        &self.api.path
    }

    /// Checks that Kerberos initiator credentials exist (`gss_acquire_cred`
    /// with the Kerberos mechanism), without contacting any server. Without
    /// them MIT says e.g. "No Kerberos credentials available (default cache:
    /// FILE:/tmp/krb5cc_1000)", which SPNEGO alone would hide behind
    /// "SPNEGO cannot find mechanisms to negotiate".
    pub fn credentials(&self) -> Result<Credentials, GssError> {
        let api = &*self.api;
        let mut krb5 = ffi::oid_desc(oid::KRB5);
        let mut mechs = OidSetDesc {
            count: 1,
            elements: &mut krb5,
        };
        let mut minor: OmUint32 = 0;
        let mut cred: ffi::GssCred = ptr::null_mut();
        // SAFETY: every pointer is to a live local; the library only reads
        // `mechs` and writes `minor` and `cred`.
        let major = unsafe {
            (api.acquire_cred)(
                &mut minor,
                ptr::null_mut(),
                ffi::GSS_C_INDEFINITE,
                &mut mechs,
                ffi::GSS_C_INITIATE,
                &mut cred,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if ffi::is_error(major) {
            return Err(self.error(Operation::AcquireCredentials, major, minor));
        }
        let cred = Cred {
            api: &self.api,
            handle: cred,
        };
        let mut name: GssName = ptr::null_mut();
        let mut lifetime: OmUint32 = 0;
        // SAFETY: `cred.handle` came from gss_acquire_cred; outputs are locals.
        let major = unsafe {
            (api.inquire_cred)(
                &mut minor,
                cred.handle,
                &mut name,
                &mut lifetime,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if ffi::is_error(major) {
            return Err(self.error(Operation::InquireCredentials, major, minor));
        }
        let name = Name {
            api: &self.api,
            handle: name,
        };
        Ok(Credentials {
            principal: name.display(),
            lifetime: match lifetime {
                ffi::GSS_C_INDEFINITE => None,
                seconds => Some(Duration::from_secs(u64::from(seconds))),
            },
        })
    }

    /// A new SPNEGO initiator context for `target`, requesting
    /// [`flags::REQUESTED`]. `bindings`, when given, go with every step.
    /// Nothing is sent anywhere until [`Initiator::step`].
    pub fn initiator(
        &self,
        target: &Target,
        bindings: Option<ChannelBindings>,
    ) -> Result<Initiator, GssError> {
        self.initiator_for(oid::SPNEGO, target, bindings)
    }

    /// A raw Kerberos (RFC 4121) initiator context, not wrapped in SPNEGO, for
    /// diagnosis only: HTTP Negotiate needs SPNEGO tokens, but Heimdal's
    /// SPNEGO (also macOS's) reports every Kerberos failure as "An
    /// unsupported mechanism was requested", while this context's first step
    /// says what went wrong ("Server not found in Kerberos database", a clock
    /// skew…).
    pub fn kerberos_initiator(
        &self,
        target: &Target,
        bindings: Option<ChannelBindings>,
    ) -> Result<Initiator, GssError> {
        self.initiator_for(oid::KRB5, target, bindings)
    }

    fn initiator_for(
        &self,
        mechanism: &'static [u8],
        target: &Target,
        bindings: Option<ChannelBindings>,
    ) -> Result<Initiator, GssError> {
        let (text, name_type) = target.name_and_type();
        let mut buffer = BufferDesc::borrowing(text.as_bytes());
        let mut name_type = ffi::oid_desc(name_type);
        let mut minor: OmUint32 = 0;
        let mut name: GssName = ptr::null_mut();
        // SAFETY: the buffer points into `text`, alive for the call; the
        // library copies what it keeps.
        let major =
            unsafe { (self.api.import_name)(&mut minor, &mut buffer, &mut name_type, &mut name) };
        if ffi::is_error(major) {
            return Err(self.error(Operation::ImportName, major, minor));
        }
        Ok(Initiator {
            api: self.api.clone(),
            mechanism,
            context: ptr::null_mut(),
            target: name,
            target_text: text,
            bindings,
            state: State::Fresh,
            flags: 0,
        })
    }

    fn error(&self, operation: Operation, major: OmUint32, minor: OmUint32) -> GssError {
        error_from(&self.api, operation, major, minor)
    }
}

fn error_from(api: &Api, operation: Operation, major: OmUint32, minor: OmUint32) -> GssError {
    GssError {
        operation,
        major,
        minor,
        major_text: api.status_text(major, ffi::GSS_C_GSS_CODE),
        minor_text: match minor {
            0 => String::new(),
            _ => match api.status_text(minor, ffi::GSS_C_MECH_CODE) {
                // MIT's text for a mapped minor status of 0: it says nothing.
                text if text.eq_ignore_ascii_case("success") => String::new(),
                text => text,
            },
        },
    }
}

/// A credential handle, released on drop.
struct Cred<'a> {
    api: &'a Api,
    handle: ffi::GssCred,
}

impl Drop for Cred<'_> {
    fn drop(&mut self) {
        if !self.handle.is_null() {
            let mut minor = 0;
            // SAFETY: the handle came from gss_acquire_cred and is released once.
            unsafe { (self.api.release_cred)(&mut minor, &mut self.handle) };
        }
    }
}

/// A name handle, released on drop.
struct Name<'a> {
    api: &'a Api,
    handle: GssName,
}

impl Name<'_> {
    fn display(&self) -> String {
        let mut minor = 0;
        let mut text = BufferDesc::EMPTY;
        // SAFETY: a valid name handle; the output buffer is a local.
        let major =
            unsafe { (self.api.display_name)(&mut minor, self.handle, &mut text, ptr::null_mut()) };
        // SAFETY: `text` is empty or filled by this library.
        let bytes = unsafe { self.api.take_buffer(&mut text) };
        if ffi::is_error(major) {
            return String::new();
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Drop for Name<'_> {
    fn drop(&mut self) {
        if !self.handle.is_null() {
            let mut minor = 0;
            // SAFETY: the handle came from this library and is released once.
            unsafe { (self.api.release_name)(&mut minor, &mut self.handle) };
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Fresh,
    Continue,
    Complete,
    Failed,
}

/// The result of one [`Initiator::step`].
#[derive(Clone, PartialEq, Eq)]
pub struct Step {
    /// The token for the server (`Authorization: Negotiate <base64>`); empty
    /// when there is nothing to send (the usual case once complete).
    pub token: Vec<u8>,
    /// True when the context is established (for mutual authentication: the
    /// server's final token was verified).
    pub complete: bool,
}

// A token can be replayed within the Kerberos replay window: show no bytes.
impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Step")
            .field("token", &format_args!("<{} bytes>", self.token.len()))
            .field("complete", &self.complete)
            .finish()
    }
}

/// An SPNEGO initiator security context (one HTTP Negotiate handshake).
/// Deleted when dropped.
pub struct Initiator {
    api: Arc<LoadedApi>,
    /// The mechanism's OID (SPNEGO, or Kerberos for diagnosis).
    mechanism: &'static [u8],
    context: GssCtx,
    target: GssName,
    target_text: String,
    bindings: Option<ChannelBindings>,
    state: State,
    flags: OmUint32,
}

// SAFETY: GSS-API context and name handles are not tied to the thread that
// made them (MIT, Heimdal and Apple keep no thread affinity for them); every
// call through them takes `&mut self`, so one thread at a time uses them.
// `Initiator` is deliberately not `Sync`.
unsafe impl Send for Initiator {}

impl fmt::Debug for Initiator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Initiator")
            .field("target", &self.target_text)
            .field("channel_bindings", &self.bindings.is_some())
            .field("state", &self.state)
            .field("flags", &format_args!("{:#x}", self.flags))
            .finish()
    }
}

impl Initiator {
    /// One call of `gss_init_sec_context`. The first step takes `None` and
    /// gives the first token; each later one takes the server's token (from
    /// `WWW-Authenticate: Negotiate <token>`), including the final one that
    /// arrives with the 200, which completes mutual authentication.
    ///
    /// After a failure, or once complete, every step is [`Error::Finished`].
    pub fn step(&mut self, input: Option<&[u8]>) -> Result<Step, Error> {
        match self.state {
            State::Complete => return Err(Error::Finished { complete: true }),
            State::Failed => return Err(Error::Finished { complete: false }),
            State::Fresh | State::Continue => {}
        }
        let api = &*self.api;
        let mut input_buffer = input.map(BufferDesc::borrowing);
        let input_ptr = input_buffer
            .as_mut()
            .map_or(ptr::null_mut(), |b| b as *mut BufferDesc);
        let mut bindings = self.bindings.as_ref().map(|b| ChannelBindingsDesc {
            initiator_addrtype: ffi::GSS_C_AF_UNSPEC,
            initiator_address: BufferDesc::EMPTY,
            acceptor_addrtype: ffi::GSS_C_AF_UNSPEC,
            acceptor_address: BufferDesc::EMPTY,
            application_data: BufferDesc::borrowing(&b.application_data),
        });
        let bindings_ptr = bindings
            .as_mut()
            .map_or(ptr::null_mut(), |b| b as *mut ChannelBindingsDesc);
        let mut mechanism = ffi::oid_desc(self.mechanism);
        let mut minor: OmUint32 = 0;
        let mut output = BufferDesc::EMPTY;
        let mut ret_flags: OmUint32 = 0;
        // SAFETY: `self.context` is null or a context this library made for
        // this target; `self.target` is a valid name; the input token and the
        // bindings point into memory that outlives the call and is only read;
        // every output is a local.
        let major = unsafe {
            (api.init_sec_context)(
                &mut minor,
                ptr::null_mut(),
                &mut self.context,
                self.target,
                &mut mechanism,
                flags::REQUESTED,
                0,
                bindings_ptr,
                input_ptr,
                ptr::null_mut(),
                &mut output,
                &mut ret_flags,
                ptr::null_mut(),
            )
        };
        // SAFETY: `output` is empty or filled by this library.
        let token = unsafe { api.take_buffer(&mut output) };
        if ffi::is_error(major) {
            self.state = State::Failed;
            return Err(error_from(api, Operation::InitSecContext, major, minor).into());
        }
        self.flags = ret_flags;
        let complete = major & ffi::GSS_S_CONTINUE_NEEDED == 0;
        self.state = if complete {
            State::Complete
        } else {
            State::Continue
        };
        Ok(Step { token, complete })
    }

    /// True once a step completed the context.
    pub fn is_complete(&self) -> bool {
        self.state == State::Complete
    }

    /// True once complete with GSS_C_MUTUAL_FLAG granted: the server proved
    /// it holds the service key.
    pub fn mutual_authenticated(&self) -> bool {
        self.is_complete() && self.flags & flags::MUTUAL != 0
    }

    /// The flags the library reported at the last step (see [`flags`]).
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// The target as given (`HTTP@host` or the principal).
    pub fn target(&self) -> &str {
        &self.target_text
    }
}

impl Drop for Initiator {
    fn drop(&mut self) {
        let mut minor = 0;
        if !self.context.is_null() {
            // SAFETY: a context this library made, deleted once; no output
            // token is wanted (GSS_C_NO_BUFFER).
            unsafe {
                (self.api.delete_sec_context)(&mut minor, &mut self.context, ptr::null_mut())
            };
        }
        if !self.target.is_null() {
            // SAFETY: the name came from gss_import_name and is released once.
            unsafe { (self.api.release_name)(&mut minor, &mut self.target) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}

    #[test]
    fn thread_safety_is_what_the_docs_say() {
        assert_send_sync::<Gss>();
        assert_send::<Initiator>();
    }

    #[test]
    fn a_missing_library_is_an_error_naming_it() {
        let err = Gss::load_from(&["/nonexistent/libgssapi_krb5.so.2", "libnot-a-gssapi.so.9"])
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(
                "no GSS-API (Kerberos) library could be loaded: /nonexistent/libgssapi_krb5.so.2: "
            ),
            "{text}"
        );
        assert!(text.contains("; libnot-a-gssapi.so.9: "), "{text}");
        let LoadError::NotFound { tried } = err else {
            panic!("{err:?}")
        };
        assert_eq!(tried.len(), 2);
        assert_eq!(
            Gss::load_from::<&str>(&[]).unwrap_err(),
            LoadError::Unsupported
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_library_without_gss_functions_is_refused() {
        // The C library is loaded in every process and has no gss_* functions.
        let err = Gss::load_from(&["libc.so.6"]).unwrap_err();
        let LoadError::NotFound { tried } = &err else {
            panic!("{err:?}")
        };
        assert!(
            matches!(
                &tried[0],
                LoadError::Symbol {
                    symbol: "gss_acquire_cred",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("libc.so.6 has no gss_acquire_cred"),
            "{err}"
        );
    }

    #[test]
    fn targets_and_bindings() {
        let t = Target::host_based("HTTP", "mail.contoso.com");
        assert_eq!(t.to_string(), "HTTP@mail.contoso.com");
        assert_eq!(t.name_and_type().1, oid::NT_HOSTBASED_SERVICE);
        let p = Target::principal("HTTP/mail.contoso.com@CONTOSO.COM");
        assert_eq!(p.to_string(), "HTTP/mail.contoso.com@CONTOSO.COM");
        assert_eq!(p.name_and_type().1, oid::KRB5_NT_PRINCIPAL_NAME);
        let cb = ChannelBindings::tls_server_end_point(b"\x01\x02");
        assert_eq!(cb.application_data(), b"tls-server-end-point:\x01\x02");
    }

    #[test]
    fn step_debug_shows_no_token_bytes() {
        let step = Step {
            token: vec![0x60, 0x82, 0x01, 0x02],
            complete: false,
        };
        assert_eq!(
            format!("{step:?}"),
            "Step { token: <4 bytes>, complete: false }"
        );
    }
}
