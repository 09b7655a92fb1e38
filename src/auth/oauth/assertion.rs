//! The client assertion (RFC 7523): a JWT signed with the app's certificate
//! key, which Entra accepts instead of a client secret.
//!
//! Microsoft's specification (certificate-credentials.md): `alg` PS256, `typ`
//! JWT, `x5t#S256` = base64url SHA-256 of the certificate's DER; claims `aud`
//! = the exact token endpoint URL, `iss` = `sub` = the client ID, a unique
//! `jti`, and `nbf`/`iat`/`exp` with `exp` at most 10 minutes ahead. MSAL
//! Python sends the same (it leaves out `nbf`, which the spec lists).
//! Thumbprints are sent without `=` padding, as RFC 7515 says and as MSAL.NET
//! and msal-node send them; MSAL Python pads, and Entra takes both.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaEncoding};
use serde::Serialize;

use super::{ClientCertificate, OAuthError};
use crate::Secret;

/// How long an assertion is valid: 10 minutes, as MSAL and Microsoft's
/// guidance have it. Each request gets a new one, so it never needs to last.
pub const ASSERTION_LIFETIME_SECS: u64 = 600;

/// The signature algorithm of the assertion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AssertionAlg {
    /// RSASSA-PSS with SHA-256 and an `x5t#S256` header: Microsoft's
    /// documented form.
    #[default]
    Ps256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 and a SHA-1 `x5t` header: what MSAL
    /// sends for ADFS or when given a SHA-1 thumbprint; a fallback only.
    Rs256,
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
    x5t_s256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x5t: Option<&'a str>,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: &'a str,
    nbf: u64,
    iat: u64,
    exp: u64,
}

/// A UUID (version 4 layout) from 16 random bytes: the assertion's `jti`.
///
/// ```
/// use ews_photo::auth::oauth::jti_from_random;
/// assert_eq!(jti_from_random([0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
/// ```
pub fn jti_from_random(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Builds and signs a client assertion for one token request.
///
/// `token_url` must be the exact URL the request goes to (it is the `aud`);
/// `now` and `jti` come from the caller (a fresh [`jti_from_random`] per
/// request: servers may refuse a `jti` seen before).
///
/// ```no_run
/// use std::time::SystemTime;
/// use ews_photo::auth::oauth::{client_assertion, jti_from_random, AssertionAlg, Authority, ClientCertificate};
/// let cert = ClientCertificate::from_pem(&std::fs::read("app.pem")?)?;
/// let authority = Authority::new("https://login.microsoftonline.com", "contoso.onmicrosoft.com")?;
/// let jwt = client_assertion(&cert, AssertionAlg::Ps256, "11111111-2222-3333-4444-555555555555",
///     &authority.token_url(), SystemTime::now(), &jti_from_random(rand_bytes()))?;
/// # fn rand_bytes() -> [u8; 16] { [0; 16] }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn client_assertion(
    certificate: &ClientCertificate,
    alg: AssertionAlg,
    client_id: &str,
    token_url: &str,
    now: SystemTime,
    jti: &str,
) -> Result<Secret, OAuthError> {
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_err(|_| OAuthError::Signing("this machine's clock is before 1970".into()))?
        .as_secs();
    let header = match alg {
        AssertionAlg::Ps256 => Header {
            alg: "PS256",
            typ: "JWT",
            x5t_s256: Some(certificate.thumbprint_sha256()),
            x5t: None,
        },
        AssertionAlg::Rs256 => Header {
            alg: "RS256",
            typ: "JWT",
            x5t_s256: None,
            x5t: Some(certificate.thumbprint_sha1()),
        },
    };
    let claims = Claims {
        aud: token_url,
        iss: client_id,
        sub: client_id,
        jti,
        nbf: now,
        iat: now,
        exp: now + ASSERTION_LIFETIME_SECS,
    };
    let signing_input = format!(
        "{}.{}",
        BASE64_URL_SAFE_NO_PAD.encode(to_json(&header)?),
        BASE64_URL_SAFE_NO_PAD.encode(to_json(&claims)?)
    );
    let key = certificate.key();
    let mut signature = vec![0; key.public().modulus_len()];
    let padding: &'static dyn RsaEncoding = match alg {
        AssertionAlg::Ps256 => &RSA_PSS_SHA256,
        AssertionAlg::Rs256 => &RSA_PKCS1_SHA256,
    };
    key.sign(
        padding,
        &SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| OAuthError::Signing("the RSA signature failed".into()))?;
    Ok(Secret::new(format!(
        "{signing_input}.{}",
        BASE64_URL_SAFE_NO_PAD.encode(&signature)
    )))
}

fn to_json(value: &impl Serialize) -> Result<Vec<u8>, OAuthError> {
    serde_json::to_vec(value).map_err(|e| OAuthError::Signing(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ring::signature::{
        RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, UnparsedPublicKey,
    };
    use serde_json::Value;

    use super::*;

    const PEM: &[u8] = include_bytes!("../../../tests/oauth/fixtures/client.pkcs8.pem");
    const TOKEN_URL: &str =
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
    const CLIENT: &str = "11111111-2222-3333-4444-555555555555";

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&BASE64_URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    fn parts(jwt: &Secret) -> (Value, Value, Vec<u8>, String) {
        let pieces: Vec<&str> = jwt.expose().split('.').collect();
        assert_eq!(pieces.len(), 3);
        (
            decode(pieces[0]),
            decode(pieces[1]),
            BASE64_URL_SAFE_NO_PAD.decode(pieces[2]).unwrap(),
            format!("{}.{}", pieces[0], pieces[1]),
        )
    }

    #[test]
    fn ps256_as_microsoft_documents_it() {
        let cert = ClientCertificate::from_pem(PEM).unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1796158214);
        let jti = jti_from_random([7; 16]);
        let jwt =
            client_assertion(&cert, AssertionAlg::Ps256, CLIENT, TOKEN_URL, now, &jti).unwrap();
        let (header, claims, signature, signed) = parts(&jwt);
        assert_eq!(
            header,
            serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t#S256": cert.thumbprint_sha256()})
        );
        assert_eq!(
            claims,
            serde_json::json!({
                "aud": TOKEN_URL, "iss": CLIENT, "sub": CLIENT, "jti": jti,
                "nbf": 1796158214u64, "iat": 1796158214u64, "exp": 1796158814u64,
            })
        );
        // Integers, not MSAL Python's floats.
        assert!(claims["exp"].is_u64());
        UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, cert.key().public().as_ref())
            .verify(signed.as_bytes(), &signature)
            .expect("a valid PS256 signature");
        // PKCS#1 v1.5 verification of a PSS signature must fail: it is PSS.
        assert!(
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, cert.key().public().as_ref())
                .verify(signed.as_bytes(), &signature)
                .is_err()
        );
    }

    #[test]
    fn rs256_fallback_names_the_sha1_thumbprint() {
        let cert = ClientCertificate::from_pem(PEM).unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let jwt =
            client_assertion(&cert, AssertionAlg::Rs256, CLIENT, TOKEN_URL, now, "j").unwrap();
        let (header, _, signature, signed) = parts(&jwt);
        assert_eq!(
            header,
            serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": cert.thumbprint_sha1()})
        );
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, cert.key().public().as_ref())
            .verify(signed.as_bytes(), &signature)
            .expect("a valid RS256 signature");
    }

    #[test]
    fn jti_is_a_version_4_uuid() {
        let jti = jti_from_random([0; 16]);
        assert_eq!(jti, "00000000-0000-4000-8000-000000000000");
        assert_ne!(jti_from_random([1; 16]), jti);
    }
}
