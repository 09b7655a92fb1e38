//! The C side of RFC 2744 (GSS-API v2, C bindings): the few types and
//! functions HTTP Negotiate needs, resolved from the loaded library at run
//! time. Nothing here is public: `lib.rs` wraps every call.

use std::ffi::c_void;

use libloading::Library;

use crate::error::LoadError;

pub type OmUint32 = u32;
pub type GssName = *mut c_void;
pub type GssCred = *mut c_void;
pub type GssCtx = *mut c_void;
pub type GssCredUsage = i32;

// MIT's and Apple's headers pack these structs to 2 bytes on x86_64 macOS
// (binary compatibility with the old Kerberos for Macintosh); arm64 macOS and
// every other platform use the natural C layout.
macro_rules! gss_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $(pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[cfg_attr(all(target_vendor = "apple", target_arch = "x86_64"), repr(C, packed(2)))]
        #[cfg_attr(not(all(target_vendor = "apple", target_arch = "x86_64")), repr(C))]
        #[derive(Clone, Copy)]
        pub struct $name { $(pub $field: $ty,)* }
    };
}

gss_struct! {
    /// `gss_OID_desc`.
    pub struct OidDesc {
        pub length: OmUint32,
        pub elements: *mut c_void,
    }
}

gss_struct! {
    /// `gss_OID_set_desc`.
    pub struct OidSetDesc {
        pub count: usize,
        pub elements: *mut OidDesc,
    }
}

gss_struct! {
    /// `gss_buffer_desc`.
    pub struct BufferDesc {
        pub length: usize,
        pub value: *mut c_void,
    }
}

gss_struct! {
    /// `struct gss_channel_bindings_struct`.
    pub struct ChannelBindingsDesc {
        pub initiator_addrtype: OmUint32,
        pub initiator_address: BufferDesc,
        pub acceptor_addrtype: OmUint32,
        pub acceptor_address: BufferDesc,
        pub application_data: BufferDesc,
    }
}

impl BufferDesc {
    pub const EMPTY: BufferDesc = BufferDesc {
        length: 0,
        value: std::ptr::null_mut(),
    };

    /// A descriptor pointing into `bytes`, which the library only reads.
    pub fn borrowing(bytes: &[u8]) -> BufferDesc {
        BufferDesc {
            length: bytes.len(),
            value: bytes.as_ptr().cast_mut().cast(),
        }
    }
}

pub const GSS_S_CONTINUE_NEEDED: OmUint32 = 1;
pub const GSS_C_GSS_CODE: i32 = 1;
pub const GSS_C_MECH_CODE: i32 = 2;
pub const GSS_C_INITIATE: GssCredUsage = 1;
pub const GSS_C_INDEFINITE: OmUint32 = 0xffff_ffff;
pub const GSS_C_AF_UNSPEC: OmUint32 = 0;

/// True when the calling-error or routine-error field is set (`GSS_ERROR`).
pub fn is_error(major: OmUint32) -> bool {
    major & 0xffff_0000 != 0
}

/// The DER contents (no tag, no length) of the OIDs we pass. MIT, Heimdal and
/// Apple compare OIDs by value, so our own descriptors serve.
pub mod oid {
    /// 1.3.6.1.5.5.2: SPNEGO, the mechanism of HTTP `Negotiate` (RFC 4559).
    pub const SPNEGO: &[u8] = b"\x2b\x06\x01\x05\x05\x02";
    /// 1.2.840.113554.1.2.2: Kerberos 5 (RFC 1964).
    pub const KRB5: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02";
    /// 1.2.840.113554.1.2.1.4: GSS_C_NT_HOSTBASED_SERVICE (`service@host`).
    pub const NT_HOSTBASED_SERVICE: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x04";
    /// 1.2.840.113554.1.2.2.1: GSS_KRB5_NT_PRINCIPAL_NAME (`service/host@REALM`).
    pub const KRB5_NT_PRINCIPAL_NAME: &[u8] = b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01";
}

/// A descriptor for one of the [`oid`] constants. The library only reads it.
pub fn oid_desc(der: &'static [u8]) -> OidDesc {
    OidDesc {
        length: der.len() as OmUint32,
        elements: der.as_ptr().cast_mut().cast(),
    }
}

type AcquireCred = unsafe extern "C" fn(
    minor: *mut OmUint32,
    desired_name: GssName,
    time_req: OmUint32,
    desired_mechs: *mut OidSetDesc,
    cred_usage: GssCredUsage,
    output_cred: *mut GssCred,
    actual_mechs: *mut *mut OidSetDesc,
    time_rec: *mut OmUint32,
) -> OmUint32;
type ReleaseCred = unsafe extern "C" fn(minor: *mut OmUint32, cred: *mut GssCred) -> OmUint32;
type InquireCred = unsafe extern "C" fn(
    minor: *mut OmUint32,
    cred: GssCred,
    name: *mut GssName,
    lifetime: *mut OmUint32,
    cred_usage: *mut GssCredUsage,
    mechanisms: *mut *mut OidSetDesc,
) -> OmUint32;
type ImportName = unsafe extern "C" fn(
    minor: *mut OmUint32,
    input_name: *mut BufferDesc,
    name_type: *mut OidDesc,
    output_name: *mut GssName,
) -> OmUint32;
type DisplayName = unsafe extern "C" fn(
    minor: *mut OmUint32,
    name: GssName,
    output: *mut BufferDesc,
    output_name_type: *mut *mut OidDesc,
) -> OmUint32;
type ReleaseName = unsafe extern "C" fn(minor: *mut OmUint32, name: *mut GssName) -> OmUint32;
type InitSecContext = unsafe extern "C" fn(
    minor: *mut OmUint32,
    claimant_cred: GssCred,
    context: *mut GssCtx,
    target_name: GssName,
    mech_type: *mut OidDesc,
    req_flags: OmUint32,
    time_req: OmUint32,
    input_chan_bindings: *mut ChannelBindingsDesc,
    input_token: *mut BufferDesc,
    actual_mech_type: *mut *mut OidDesc,
    output_token: *mut BufferDesc,
    ret_flags: *mut OmUint32,
    time_rec: *mut OmUint32,
) -> OmUint32;
type DeleteSecContext = unsafe extern "C" fn(
    minor: *mut OmUint32,
    context: *mut GssCtx,
    output_token: *mut BufferDesc,
) -> OmUint32;
type ReleaseBuffer =
    unsafe extern "C" fn(minor: *mut OmUint32, buffer: *mut BufferDesc) -> OmUint32;
type DisplayStatus = unsafe extern "C" fn(
    minor: *mut OmUint32,
    status_value: OmUint32,
    status_type: i32,
    mech_type: *mut OidDesc,
    message_context: *mut OmUint32,
    status_string: *mut BufferDesc,
) -> OmUint32;

/// The loaded library and the functions resolved from it. The function
/// pointers stay valid as long as `_library` is loaded, which is as long as
/// this struct lives (it is only ever shared behind an `Arc`).
pub struct Api {
    pub path: String,
    pub acquire_cred: AcquireCred,
    pub release_cred: ReleaseCred,
    pub inquire_cred: InquireCred,
    pub import_name: ImportName,
    pub display_name: DisplayName,
    pub release_name: ReleaseName,
    pub init_sec_context: InitSecContext,
    pub delete_sec_context: DeleteSecContext,
    pub release_buffer: ReleaseBuffer,
    pub display_status: DisplayStatus,
    _library: Library,
}

impl Api {
    /// Loads `path` and resolves every function, or says what is missing.
    pub fn load(path: &str) -> Result<Api, LoadError> {
        // SAFETY: loading runs the library's initialisers. The paths we are
        // given name the system's GSS-API library (MIT, Heimdal or Apple),
        // whose initialisers are safe to run in any process; this is the same
        // library curl and Python's gssapi load.
        let library = unsafe { Library::new(path) }.map_err(|e| LoadError::Open {
            library: path.to_string(),
            reason: describe(&e),
        })?;
        macro_rules! resolve {
            ($name:literal) => {{
                // SAFETY: the type we ask for is the RFC 2744 C prototype of
                // this function, which MIT, Heimdal and Apple all follow.
                let symbol = unsafe { library.get($name) }.map_err(|e| LoadError::Symbol {
                    library: path.to_string(),
                    symbol: $name,
                    reason: describe(&e),
                })?;
                *symbol
            }};
        }
        Ok(Api {
            path: path.to_string(),
            acquire_cred: resolve!("gss_acquire_cred"),
            release_cred: resolve!("gss_release_cred"),
            inquire_cred: resolve!("gss_inquire_cred"),
            import_name: resolve!("gss_import_name"),
            display_name: resolve!("gss_display_name"),
            release_name: resolve!("gss_release_name"),
            init_sec_context: resolve!("gss_init_sec_context"),
            delete_sec_context: resolve!("gss_delete_sec_context"),
            release_buffer: resolve!("gss_release_buffer"),
            display_status: resolve!("gss_display_status"),
            _library: library,
        })
    }

    /// Copies a buffer the library allocated, then releases it.
    ///
    /// # Safety
    /// `buffer` must be empty or have been filled by this library.
    pub unsafe fn take_buffer(&self, buffer: &mut BufferDesc) -> Vec<u8> {
        let bytes = if buffer.length == 0 || buffer.value.is_null() {
            Vec::new()
        } else {
            // SAFETY: the library filled `value` with `length` readable bytes.
            unsafe { std::slice::from_raw_parts(buffer.value as *const u8, buffer.length) }.to_vec()
        };
        let mut minor = 0;
        // SAFETY: releasing a buffer this library allocated (or an empty one).
        unsafe { (self.release_buffer)(&mut minor, buffer) };
        *buffer = BufferDesc::EMPTY;
        bytes
    }

    /// The text of a status code: every message `gss_display_status` has for
    /// it, joined with "; ". Must run on the thread that got the status: MIT
    /// keeps the detailed minor message (with the principal's name) there.
    pub fn status_text(&self, code: OmUint32, kind: i32) -> String {
        let mut messages = Vec::new();
        let mut context: OmUint32 = 0;
        // A bound, in case a library never resets the message context.
        for _ in 0..8 {
            let mut minor = 0;
            let mut text = BufferDesc::EMPTY;
            // SAFETY: all pointers are to live locals; GSS_C_NO_OID lets the
            // mechanism glue find the mechanism that produced a minor code.
            let major = unsafe {
                (self.display_status)(
                    &mut minor,
                    code,
                    kind,
                    std::ptr::null_mut(),
                    &mut context,
                    &mut text,
                )
            };
            // SAFETY: `text` is empty or was filled by this library.
            let bytes = unsafe { self.take_buffer(&mut text) };
            if is_error(major) {
                break;
            }
            // MIT counts a trailing NUL in some messages' length.
            let message = String::from_utf8_lossy(&bytes)
                .trim_end_matches('\0')
                .trim()
                .to_string();
            if !message.is_empty() {
                messages.push(message);
            }
            if context == 0 {
                break;
            }
        }
        messages.join("; ")
    }
}

/// libloading's error with its source (the dlerror text).
fn describe(error: &libloading::Error) -> String {
    use std::error::Error as _;
    match error.source() {
        Some(source) => source.to_string(),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields() {
        assert!(!is_error(0));
        assert!(!is_error(GSS_S_CONTINUE_NEEDED));
        assert!(is_error(13 << 16)); // GSS_S_FAILURE
        assert!(is_error(1 << 24)); // GSS_S_CALL_INACCESSIBLE_READ
    }

    #[test]
    fn struct_layout_matches_the_c_headers() {
        let pointer = std::mem::size_of::<usize>();
        assert_eq!(std::mem::size_of::<BufferDesc>(), 2 * pointer);
        if cfg!(all(target_vendor = "apple", target_arch = "x86_64")) {
            assert_eq!(std::mem::size_of::<OidDesc>(), 4 + pointer);
            assert_eq!(
                std::mem::size_of::<ChannelBindingsDesc>(),
                4 + 4 + 6 * pointer
            );
        } else if pointer == 8 {
            assert_eq!(std::mem::size_of::<OidDesc>(), 16);
            assert_eq!(
                std::mem::size_of::<ChannelBindingsDesc>(),
                8 + 16 + 8 + 16 + 16
            );
        }
    }
}
