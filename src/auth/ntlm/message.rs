//! NTLMv2 messages (MS-NLMP), pure: NEGOTIATE, CHALLENGE parsing, the v2
//! response and the AUTHENTICATE message. All randomness and time are inputs
//! ([`Nonces`]), so the MS-NLMP §4.2.4 vectors pin every byte.

use hmac::{Hmac, Mac};
use md4::Md4;
use md5::{Digest, Md5};

use crate::Secret;

/// NTLMSSP_NEGOTIATE_UNICODE.
pub const UNICODE: u32 = 0x0000_0001;
/// NTLM_NEGOTIATE_OEM.
pub const OEM: u32 = 0x0000_0002;
/// NTLMSSP_REQUEST_TARGET.
pub const REQUEST_TARGET: u32 = 0x0000_0004;
/// NTLMSSP_NEGOTIATE_SIGN.
pub const SIGN: u32 = 0x0000_0010;
/// NTLMSSP_NEGOTIATE_SEAL.
pub const SEAL: u32 = 0x0000_0020;
/// NTLMSSP_NEGOTIATE_NTLM.
pub const NTLM: u32 = 0x0000_0200;
/// NTLMSSP_NEGOTIATE_ALWAYS_SIGN.
pub const ALWAYS_SIGN: u32 = 0x0000_8000;
/// NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY.
pub const EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
/// NTLMSSP_NEGOTIATE_TARGET_INFO.
pub const TARGET_INFO: u32 = 0x0080_0000;
/// NTLMSSP_NEGOTIATE_VERSION.
pub const VERSION: u32 = 0x0200_0000;
/// NTLMSSP_NEGOTIATE_128.
pub const NEGOTIATE_128: u32 = 0x2000_0000;
/// NTLMSSP_NEGOTIATE_KEY_EXCH.
pub const KEY_EXCH: u32 = 0x4000_0000;
/// NTLMSSP_NEGOTIATE_56.
pub const NEGOTIATE_56: u32 = 0x8000_0000;

/// The flags of our NEGOTIATE message (as Windows HTTP clients send them,
/// without SEAL: HTTP needs no sealing).
pub const NEGOTIATE_FLAGS: u32 = UNICODE
    | OEM
    | REQUEST_TARGET
    | SIGN
    | NTLM
    | ALWAYS_SIGN
    | EXTENDED_SESSIONSECURITY
    | VERSION
    | NEGOTIATE_128
    | KEY_EXCH
    | NEGOTIATE_56;

/// Flags the AUTHENTICATE message may keep from the CHALLENGE.
const AUTHENTICATE_MASK: u32 = UNICODE
    | SIGN
    | SEAL
    | NTLM
    | ALWAYS_SIGN
    | EXTENDED_SESSIONSECURITY
    | TARGET_INFO
    | VERSION
    | NEGOTIATE_128
    | KEY_EXCH
    | NEGOTIATE_56;

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// AV pair ids (MS-NLMP 2.2.2.1).
const AV_EOL: u16 = 0x0000;
const AV_FLAGS: u16 = 0x0006;
const AV_TIMESTAMP: u16 = 0x0007;
const AV_TARGET_NAME: u16 = 0x0009;
const AV_CHANNEL_BINDINGS: u16 = 0x000a;
/// MsvAvFlags bit: the message carries a MIC.
const AV_FLAG_MIC: u32 = 0x0000_0002;

/// The Version field we send: Windows 10.0 build 19041, NTLMSSP revision 15.
pub const CLIENT_VERSION: [u8; 8] = [10, 0, 0x61, 0x4a, 0, 0, 0, 0x0f];

type HmacMd5 = Hmac<Md5>;

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = HmacMd5::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// NTOWFv2 (MS-NLMP 3.3.2): HMAC-MD5(MD4(UTF-16LE(password)), UTF-16LE(UPPER(user) ‖ domain)).
pub fn ntowfv2(user: &str, domain: &str, password: &str) -> [u8; 16] {
    let nt_hash: [u8; 16] = Md4::digest(utf16le(password)).into();
    let who = utf16le(&(user.to_uppercase() + domain));
    hmac_md5(&nt_hash, &[&who])
}

/// RC4, for the encrypted random session key (16 bytes, once per handshake).
fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut s: [u8; 256] = std::array::from_fn(|i| i as u8);
    let mut j: u8 = 0;
    for i in 0..256 {
        j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
        s.swap(i, j as usize);
    }
    let (mut i, mut j) = (0u8, 0u8);
    data.iter()
        .map(|byte| {
            i = i.wrapping_add(1);
            j = j.wrapping_add(s[i as usize]);
            s.swap(i as usize, j as usize);
            byte ^ s[(s[i as usize].wrapping_add(s[j as usize])) as usize]
        })
        .collect()
}

/// The NEGOTIATE_MESSAGE (type 1): no domain or workstation, with Version.
pub fn negotiate_message() -> Vec<u8> {
    let mut msg = Vec::with_capacity(40);
    msg.extend_from_slice(SIGNATURE);
    msg.extend_from_slice(&1u32.to_le_bytes());
    msg.extend_from_slice(&NEGOTIATE_FLAGS.to_le_bytes());
    // DomainNameFields and WorkstationFields: empty, offset at the payload.
    for _ in 0..2 {
        msg.extend_from_slice(&0u16.to_le_bytes());
        msg.extend_from_slice(&0u16.to_le_bytes());
        msg.extend_from_slice(&40u32.to_le_bytes());
    }
    msg.extend_from_slice(&CLIENT_VERSION);
    msg
}

/// A parsed CHALLENGE_MESSAGE (type 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeMessage {
    /// NegotiateFlags.
    pub flags: u32,
    /// The 8-byte server challenge.
    pub server_challenge: [u8; 8],
    /// TargetInfo: the AV pairs as sent (ending with MsvAvEOL).
    pub target_info: Vec<u8>,
    /// The whole message, for the MIC.
    pub raw: Vec<u8>,
}

fn field(msg: &[u8], at: usize, what: &str) -> Result<Vec<u8>, String> {
    let len = u16::from_le_bytes([msg[at], msg[at + 1]]) as usize;
    let offset = u32::from_le_bytes(msg[at + 4..at + 8].try_into().expect("4 bytes")) as usize;
    if len == 0 {
        return Ok(Vec::new());
    }
    msg.get(offset..offset.saturating_add(len))
        .map(<[u8]>::to_vec)
        .ok_or_else(|| format!("its {what} points outside the message"))
}

impl ChallengeMessage {
    /// Parses a type-2 message; the error says what is wrong with it.
    pub fn parse(msg: &[u8]) -> Result<ChallengeMessage, String> {
        if msg.len() < 32 || &msg[..8] != SIGNATURE {
            return Err("it is not an NTLMSSP message".into());
        }
        let kind = u32::from_le_bytes(msg[8..12].try_into().expect("4 bytes"));
        if kind != 2 {
            return Err(format!(
                "it is an NTLM type-{kind} message, not a CHALLENGE (type 2)"
            ));
        }
        let flags = u32::from_le_bytes(msg[20..24].try_into().expect("4 bytes"));
        let server_challenge: [u8; 8] = msg[24..32].try_into().expect("8 bytes");
        let target_info = if msg.len() >= 48 && flags & TARGET_INFO != 0 {
            field(msg, 40, "TargetInfo")?
        } else {
            Vec::new()
        };
        Ok(ChallengeMessage {
            flags,
            server_challenge,
            target_info,
            raw: msg.to_vec(),
        })
    }

    /// Why this challenge cannot be answered with NTLMv2, if it cannot.
    pub fn v1_only(&self) -> Option<String> {
        let mut missing = Vec::new();
        if self.flags & EXTENDED_SESSIONSECURITY == 0 {
            missing.push("NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY");
        }
        if self.flags & TARGET_INFO == 0 || av_pairs(&self.target_info).is_err() {
            missing.push("target information (NTLMSSP_NEGOTIATE_TARGET_INFO)");
        }
        if self.flags & UNICODE == 0 {
            missing.push("NTLMSSP_NEGOTIATE_UNICODE");
        }
        if missing.is_empty() {
            None
        } else {
            Some(format!(
                "the server's NTLM challenge lacks {}, so it could only be answered with NTLMv1 or LM, which ews-photo never sends (they are broken: a captured NTLMv1 exchange reveals the password hash); no answer was sent. Ask the Exchange administrator to require NTLMv2 (LmCompatibilityLevel 3 or higher), or use Basic over https or OAuth",
                missing.join(" and ")
            ))
        }
    }

    /// The MsvAvTimestamp value, if the server sent one.
    pub fn timestamp(&self) -> Option<[u8; 8]> {
        av_pairs(&self.target_info)
            .ok()?
            .into_iter()
            .find(|(id, _)| *id == AV_TIMESTAMP)
            .and_then(|(_, value)| value.try_into().ok())
    }
}

/// Splits AV pairs (without the terminating MsvAvEOL).
fn av_pairs(info: &[u8]) -> Result<Vec<(u16, Vec<u8>)>, String> {
    let mut pairs = Vec::new();
    let mut at = 0;
    loop {
        let header = info.get(at..at + 4).ok_or("truncated AV pair")?;
        let id = u16::from_le_bytes([header[0], header[1]]);
        let len = u16::from_le_bytes([header[2], header[3]]) as usize;
        if id == AV_EOL {
            return Ok(pairs);
        }
        let value = info.get(at + 4..at + 4 + len).ok_or("truncated AV pair")?;
        pairs.push((id, value.to_vec()));
        at += 4 + len;
    }
}

fn put_av(out: &mut Vec<u8>, id: u16, value: &[u8]) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
}

/// Who authenticates.
#[derive(Clone, Debug)]
pub struct NtlmUser {
    /// The domain ("" for a UPN user name, as Windows sends it).
    pub domain: String,
    /// The user name (`jdoe` or `jdoe@contoso.com`).
    pub user: String,
    /// The password.
    pub password: Secret,
}

impl NtlmUser {
    /// Splits `DOMAIN\user`, `user@domain` or `user` (with `--domain`).
    ///
    /// ```
    /// use ews_photo::auth::ntlm::NtlmUser;
    /// use ews_photo::Secret;
    /// let pw = Secret::new("x");
    /// let u = NtlmUser::new("CONTOSO\\jdoe", None, pw.clone());
    /// assert_eq!((u.domain.as_str(), u.user.as_str()), ("CONTOSO", "jdoe"));
    /// let u = NtlmUser::new("jdoe@contoso.com", None, pw.clone());
    /// assert_eq!((u.domain.as_str(), u.user.as_str()), ("", "jdoe@contoso.com"));
    /// let u = NtlmUser::new("jdoe", Some("CONTOSO"), pw);
    /// assert_eq!((u.domain.as_str(), u.user.as_str()), ("CONTOSO", "jdoe"));
    /// ```
    pub fn new(user: &str, domain: Option<&str>, password: Secret) -> NtlmUser {
        let (domain, user) = match user.split_once('\\') {
            Some((d, u)) => (d.to_string(), u.to_string()),
            // A UPN goes whole in UserName with an empty domain (MS-NLMP 3.1.5.1.2).
            None if user.contains('@') => (String::new(), user.to_string()),
            None => (domain.unwrap_or_default().to_string(), user.to_string()),
        };
        NtlmUser {
            domain,
            user,
            password,
        }
    }
}

/// Inputs that are random or come from the environment, fixed in tests.
#[derive(Clone, Debug)]
pub struct Nonces {
    /// The 8-byte client challenge.
    pub client_challenge: [u8; 8],
    /// The random session key (used with KEY_EXCH).
    pub session_key: [u8; 16],
    /// FILETIME, when the server sent no MsvAvTimestamp.
    pub time: u64,
}

impl Nonces {
    /// Fresh random values from the operating system, and the current time.
    pub fn random() -> Result<Nonces, String> {
        let mut bytes = [0u8; 24];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| format!("the system's random number generator failed: {e}"))?;
        Ok(Nonces {
            client_challenge: bytes[..8].try_into().expect("8 bytes"),
            session_key: bytes[8..].try_into().expect("16 bytes"),
            time: filetime_now(),
        })
    }
}

fn filetime_now() -> u64 {
    let since_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    // 100 ns intervals since 1601-01-01.
    (since_unix.as_nanos() / 100) as u64 + 116_444_736_000_000_000
}

/// What the AUTHENTICATE message adds to the server's target information.
#[derive(Clone, Debug, Default)]
pub struct AuthenticateOptions {
    /// MsvAvChannelBindings: MD5 of the gss_channel_bindings_struct (zeros: none).
    pub channel_bindings: Option<[u8; 16]>,
    /// MsvAvTargetName, e.g. `HTTP/mail.contoso.com`.
    pub target_name: Option<String>,
    /// The workstation name sent (Windows sends its computer name; we send none).
    pub workstation: String,
    /// The Version field.
    pub version: [u8; 8],
}

/// The NTLMv2 response and keys (MS-NLMP 3.3.2).
#[derive(Clone, Debug)]
pub struct V2Response {
    /// NtChallengeResponse = NTProofStr ‖ temp.
    pub nt_response: Vec<u8>,
    /// LmChallengeResponse (LMv2).
    pub lm_response: Vec<u8>,
    /// SessionBaseKey = KeyExchangeKey.
    pub session_base_key: [u8; 16],
}

/// Computes the NTLMv2 responses for `temp`'s AV pairs and time.
pub fn v2_response(
    response_key: &[u8; 16],
    server_challenge: &[u8; 8],
    client_challenge: &[u8; 8],
    time: &[u8; 8],
    av_pairs: &[u8],
) -> V2Response {
    let mut temp = vec![1, 1, 0, 0, 0, 0, 0, 0];
    temp.extend_from_slice(time);
    temp.extend_from_slice(client_challenge);
    temp.extend_from_slice(&[0; 4]);
    temp.extend_from_slice(av_pairs);
    temp.extend_from_slice(&[0; 4]);
    let nt_proof = hmac_md5(response_key, &[server_challenge, &temp]);
    let mut nt_response = nt_proof.to_vec();
    nt_response.extend_from_slice(&temp);
    let mut lm_response = hmac_md5(response_key, &[server_challenge, client_challenge]).to_vec();
    lm_response.extend_from_slice(client_challenge);
    V2Response {
        nt_response,
        lm_response,
        session_base_key: hmac_md5(response_key, &[&nt_proof]),
    }
}

/// Builds the AUTHENTICATE message (type 3) for `challenge`.
///
/// The AV pairs are the server's, plus MsvAvFlags, MsvAvChannelBindings and
/// MsvAvTargetName as given in `extras`. When the server sent a timestamp, it
/// is used as the response time, the LMv2 response is zeros and a MIC is added
/// (HMAC-MD5 of the three messages under the exported session key).
pub fn authenticate_message(
    negotiate: &[u8],
    challenge: &ChallengeMessage,
    user: &NtlmUser,
    nonces: &Nonces,
    options: &AuthenticateOptions,
) -> Result<Vec<u8>, String> {
    if let Some(why) = challenge.v1_only() {
        return Err(why);
    }
    let pairs = av_pairs(&challenge.target_info)?;
    let timestamp = challenge.timestamp();
    let with_mic = timestamp.is_some();
    let add_anything =
        with_mic || options.channel_bindings.is_some() || options.target_name.is_some();
    let av = if add_anything {
        let mut av = Vec::new();
        let mut flags = if with_mic { AV_FLAG_MIC } else { 0 };
        for (id, value) in &pairs {
            match *id {
                AV_FLAGS => {
                    let mut v = [0u8; 4];
                    v[..value.len().min(4)].copy_from_slice(&value[..value.len().min(4)]);
                    flags |= u32::from_le_bytes(v);
                }
                AV_CHANNEL_BINDINGS | AV_TARGET_NAME => {}
                _ => put_av(&mut av, *id, value),
            }
        }
        if flags != 0 {
            put_av(&mut av, AV_FLAGS, &flags.to_le_bytes());
        }
        if let Some(bindings) = &options.channel_bindings {
            put_av(&mut av, AV_CHANNEL_BINDINGS, bindings);
        }
        if let Some(name) = &options.target_name {
            put_av(&mut av, AV_TARGET_NAME, &utf16le(name));
        }
        put_av(&mut av, AV_EOL, &[]);
        av
    } else {
        challenge.target_info.clone()
    };
    let key = ntowfv2(&user.user, &user.domain, user.password.expose());
    let time = timestamp.unwrap_or(nonces.time.to_le_bytes());
    let mut response = v2_response(
        &key,
        &challenge.server_challenge,
        &nonces.client_challenge,
        &time,
        &av,
    );
    if with_mic {
        // MS-NLMP 3.1.5.1.2: with MsvAvTimestamp, the LmChallengeResponse is Z(24).
        response.lm_response = vec![0; 24];
    }
    let flags = (challenge.flags & AUTHENTICATE_MASK) | REQUEST_TARGET;
    let key_exchange_key = response.session_base_key;
    let (session_key, encrypted_key) = if flags & KEY_EXCH != 0 && flags & (SIGN | SEAL) != 0 {
        (
            nonces.session_key,
            rc4(&key_exchange_key, &nonces.session_key),
        )
    } else {
        (key_exchange_key, Vec::new())
    };
    let payloads: [Vec<u8>; 6] = [
        utf16le(&user.domain),
        utf16le(&user.user),
        utf16le(&options.workstation),
        response.lm_response.clone(),
        response.nt_response.clone(),
        encrypted_key,
    ];
    let header_len = if with_mic { 88 } else { 72 };
    let mut fields = [(0u16, 0u32); 6];
    let mut offset = header_len as u32;
    for (i, payload) in payloads.iter().enumerate() {
        fields[i] = (payload.len() as u16, offset);
        offset += payload.len() as u32;
    }
    let mut msg = Vec::with_capacity(offset as usize);
    msg.extend_from_slice(SIGNATURE);
    msg.extend_from_slice(&3u32.to_le_bytes());
    // Header order: Lm, Nt, Domain, User, Workstation, EncryptedRandomSessionKey.
    for i in [3, 4, 0, 1, 2, 5] {
        let (len, off) = fields[i];
        msg.extend_from_slice(&len.to_le_bytes());
        msg.extend_from_slice(&len.to_le_bytes());
        msg.extend_from_slice(&off.to_le_bytes());
    }
    msg.extend_from_slice(&flags.to_le_bytes());
    msg.extend_from_slice(&options.version);
    if with_mic {
        msg.extend_from_slice(&[0; 16]);
    }
    for payload in &payloads {
        msg.extend_from_slice(payload);
    }
    if with_mic {
        let mic = hmac_md5(&session_key, &[negotiate, &challenge.raw, &msg]);
        msg[72..88].copy_from_slice(&mic);
    }
    Ok(msg)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// MS-NLMP §4.2.1 common inputs.
    pub(crate) fn spec_user() -> NtlmUser {
        NtlmUser {
            domain: "Domain".into(),
            user: "User".into(),
            password: Secret::new("Password"),
        }
    }

    fn spec_nonces() -> Nonces {
        Nonces {
            client_challenge: [0xaa; 8],
            session_key: [0x55; 16],
            time: 0,
        }
    }

    /// MS-NLMP §4.2.4.3 CHALLENGE_MESSAGE.
    pub(crate) const SPEC_CHALLENGE: &str = "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef00000000000000002400240044000000060070170000000f53006500720076006500720002000c0044006f006d00610069006e0001000c0053006500720076006500720000000000";

    /// MS-NLMP §4.2.4.3 AUTHENTICATE_MESSAGE.
    const SPEC_AUTHENTICATE: &str = "4e544c4d5353500003000000180018006c00000054005400840000000c000c00480000000800080054000000100010005c00000010001000d8000000358288e20501280a0000000f44006f006d00610069006e00550073006500720043004f004d005000550054004500520086c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa68cd0ab851e51c96aabc927bebef6a1c01010000000000000000000000000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e0001000c005300650072007600650072000000000000000000c5dad2544fc9799094ce1ce90bc9d03e";

    #[test]
    fn ntowfv2_matches_ms_nlmp_4_2_4_1_1() {
        assert_eq!(
            ntowfv2("User", "Domain", "Password").to_vec(),
            hex("0c868a403bfd7a93a3001ef22ef02e3f")
        );
    }
    #[test]
    fn v2_responses_match_ms_nlmp_4_2_4() {
        let challenge = ChallengeMessage::parse(&hex(SPEC_CHALLENGE)).unwrap();
        assert_eq!(challenge.flags, 0xe28a8233);
        assert_eq!(challenge.server_challenge.to_vec(), hex("0123456789abcdef"));
        let key = ntowfv2("User", "Domain", "Password");
        let r = v2_response(
            &key,
            &challenge.server_challenge,
            &[0xaa; 8],
            &[0; 8],
            &challenge.target_info,
        );
        // NtChallengeResponse = NTProofStr ‖ temp.
        assert_eq!(r.nt_response[..16], hex("68cd0ab851e51c96aabc927bebef6a1c"));
        let temp = hex(
            "0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000 \
             02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000 00000000",
        );
        assert_eq!(r.nt_response[16..], temp[..]);
        assert_eq!(r.nt_response.len(), 84);
        assert_eq!(
            r.lm_response,
            hex("86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa")
        );
        assert_eq!(
            r.session_base_key.to_vec(),
            hex("8de40ccadbc14a82f15cb0ad0de95ca3")
        );
        assert_eq!(
            rc4(&r.session_base_key, &[0x55; 16]),
            hex("c5dad2544fc9799094ce1ce90bc9d03e")
        );
    }
    #[test]
    fn whole_authenticate_message_matches_ms_nlmp_4_2_4_3() {
        let challenge = ChallengeMessage::parse(&hex(SPEC_CHALLENGE)).unwrap();
        let extras = AuthenticateOptions {
            channel_bindings: None,
            target_name: None,
            workstation: "COMPUTER".into(),
            version: [0x05, 0x01, 0x28, 0x0a, 0, 0, 0, 0x0f],
        };
        let auth =
            authenticate_message(&[], &challenge, &spec_user(), &spec_nonces(), &extras).unwrap();
        assert_eq!(auth, hex(SPEC_AUTHENTICATE));
    }
    #[test]
    fn negotiate_message_is_canonical() {
        let msg = negotiate_message();
        assert_eq!(msg.len(), 40);
        assert_eq!(&msg[..12], b"NTLMSSP\0\x01\0\0\0");
        let flags = u32::from_le_bytes(msg[12..16].try_into().unwrap());
        assert_eq!(flags & EXTENDED_SESSIONSECURITY, EXTENDED_SESSIONSECURITY);
        const LM_KEY: u32 = 0x0000_0080;
        assert_eq!(flags & LM_KEY, 0);
    }

    /// A challenge with MsvAvTimestamp gets MsvAvFlags=2, the binding, the
    /// target name, a zero LMv2 response and a MIC that verifies.
    #[test]
    fn timestamp_brings_mic_binding_and_target_name() {
        let mut info = hex("02000c0044006f006d00610069006e0001000c00530065007200760065007200");
        info.extend_from_slice(&hex("07000800"));
        info.extend_from_slice(&0x01d9_0000_0000_0000u64.to_le_bytes());
        info.extend_from_slice(&hex("00000000"));
        let mut raw = hex(&SPEC_CHALLENGE[..80]); // the 40-byte header up to TargetInfoFields
        raw.extend_from_slice(&(info.len() as u16).to_le_bytes());
        raw.extend_from_slice(&(info.len() as u16).to_le_bytes());
        raw.extend_from_slice(&56u32.to_le_bytes());
        raw.extend_from_slice(&hex("060070170000000f"));
        raw.extend_from_slice(&info);
        // The target name field still points at offset 0x38; harmless for the client.
        let challenge = ChallengeMessage::parse(&raw).unwrap();
        assert!(challenge.timestamp().is_some());
        let negotiate = negotiate_message();
        let extras = AuthenticateOptions {
            channel_bindings: Some([0x11; 16]),
            target_name: Some("HTTP/mail.contoso.com".into()),
            workstation: String::new(),
            version: CLIENT_VERSION,
        };
        let auth = authenticate_message(
            &negotiate,
            &challenge,
            &spec_user(),
            &spec_nonces(),
            &extras,
        )
        .unwrap();
        let msg = &auth;
        // MIC over the three messages with the MIC field zeroed, under the
        // exchanged session key (the random one: KEY_EXCH is negotiated).
        let mut zeroed = msg.clone();
        zeroed[72..88].fill(0);
        let mic = hmac_md5(&spec_nonces().session_key, &[&negotiate, &raw, &zeroed]);
        assert_eq!(msg[72..88], mic);
        // LMv2 is Z(24); the blob carries the server's timestamp and our pairs.
        let lm_off = u32::from_le_bytes(msg[16..20].try_into().unwrap()) as usize;
        assert_eq!(msg[lm_off..lm_off + 24], [0; 24]);
        let nt_len = u16::from_le_bytes([msg[20], msg[21]]) as usize;
        let nt_off = u32::from_le_bytes(msg[24..28].try_into().unwrap()) as usize;
        let blob = &msg[nt_off + 16..nt_off + nt_len];
        assert_eq!(blob[8..16], 0x01d9_0000_0000_0000u64.to_le_bytes());
        let pairs = av_pairs(&blob[28..]).unwrap();
        let get = |id| pairs.iter().find(|(i, _)| *i == id).map(|(_, v)| v.clone());
        assert_eq!(get(AV_FLAGS), Some(2u32.to_le_bytes().to_vec()));
        assert_eq!(get(AV_CHANNEL_BINDINGS), Some(vec![0x11; 16]));
        assert_eq!(get(AV_TARGET_NAME), Some(utf16le("HTTP/mail.contoso.com")));
    }
    #[test]
    fn v1_only_challenges_are_refused() {
        // Flags without EXTENDED_SESSIONSECURITY and TARGET_INFO (0x00008201:
        // UNICODE | NTLM | ALWAYS_SIGN), no target info.
        let mut raw = b"NTLMSSP\0".to_vec();
        raw.extend_from_slice(&2u32.to_le_bytes());
        raw.extend_from_slice(&[0, 0, 0, 0, 48, 0, 0, 0]);
        raw.extend_from_slice(&0x0000_8201u32.to_le_bytes());
        raw.extend_from_slice(&hex("0123456789abcdef"));
        raw.extend_from_slice(&[0; 16]);
        let challenge = ChallengeMessage::parse(&raw).unwrap();
        let why = challenge.v1_only().unwrap();
        assert!(
            why.contains("NTLMv1") && why.contains("EXTENDED_SESSIONSECURITY"),
            "{why}"
        );
        let err = authenticate_message(
            &[],
            &challenge,
            &spec_user(),
            &spec_nonces(),
            &AuthenticateOptions::default(),
        )
        .unwrap_err();
        assert!(err.contains("NTLMv1"));
    }
    #[test]
    fn garbage_challenges_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"NTLMSSP\0",
            b"NTLMSSP\0\x02\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
            b"NTLMSSP\0\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
        ] {
            let _ = ChallengeMessage::parse(bad).map(|c| c.v1_only());
        }
        let mut raw = hex(SPEC_CHALLENGE);
        raw[40] = 0xff; // TargetInfo length beyond the end
        raw[41] = 0xff;
        assert!(ChallengeMessage::parse(&raw).is_err());
    }
}
