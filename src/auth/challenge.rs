//! `WWW-Authenticate` parsing (RFC 7235), pure.

use std::fmt;

/// One authentication challenge from a `WWW-Authenticate` header.
///
/// ```
/// use ews_photo::auth::parse_challenges;
/// let offered = parse_challenges(["Negotiate, NTLM", "Basic realm=\"mail.contoso.com\""]);
/// let names: Vec<_> = offered.iter().map(|c| c.scheme.as_str()).collect();
/// assert_eq!(names, ["Negotiate", "NTLM", "Basic"]);
/// assert_eq!(offered[2].param("realm"), Some("mail.contoso.com"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme as the server spelled it (`NTLM`, `Negotiate`, `Basic`, `Bearer`…).
    pub scheme: String,
    /// A token68 value (e.g. an NTLM type-2 message in base64), if any.
    pub token: Option<String>,
    /// Auth parameters (`realm`, `error`, `authorization_uri`…), names lower-cased.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// True when the scheme matches, ignoring case.
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The value of an auth parameter, by lower-case name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        if let Some(realm) = self.param("realm") {
            write!(f, " (realm \"{realm}\")")?;
        }
        Ok(())
    }
}

/// Parses every `WWW-Authenticate` header value into challenges, in order.
///
/// Handles several headers, comma-joined lists, quoted strings with commas and
/// escaped quotes, token68 values, and junk (skipped rather than failing).
pub fn parse_challenges<'a>(headers: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut challenges: Vec<Challenge> = Vec::new();
    for header in headers {
        for element in split_list(header) {
            let element = element.trim();
            if element.is_empty() {
                continue;
            }
            if let Some((name, value)) = as_param(element) {
                // A parameter of the challenge before it.
                if let Some(last) = challenges.last_mut() {
                    last.params.push((name, value));
                }
                continue;
            }
            // A new challenge: scheme, then optionally a token68 or a first parameter.
            let (scheme, rest) = match element.find([' ', '\t']) {
                Some(i) => (&element[..i], element[i..].trim()),
                None => (element, ""),
            };
            if !is_token(scheme) {
                continue;
            }
            let mut challenge = Challenge {
                scheme: scheme.to_string(),
                token: None,
                params: Vec::new(),
            };
            if !rest.is_empty() {
                match as_param(rest) {
                    Some(param) => challenge.params.push(param),
                    None => challenge.token = Some(rest.to_string()),
                }
            }
            challenges.push(challenge);
        }
    }
    challenges
}

/// Splits on commas outside quoted strings.
fn split_list(header: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in header.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                parts.push(&header[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&header[start..]);
    parts
}

/// `name=value` or `name="quoted value"`; None for a token68 (which may end in `=`).
fn as_param(text: &str) -> Option<(String, String)> {
    let eq = text.find('=')?;
    let name = text[..eq].trim();
    if !is_token(name) {
        return None;
    }
    let value = text[eq + 1..].trim();
    if value.is_empty() || value.starts_with('=') {
        // "abc==" is a token68 with padding, not a parameter.
        return None;
    }
    let value = match value.strip_prefix('"') {
        Some(quoted) => unquote(quoted.strip_suffix('"').unwrap_or(quoted)),
        None => value.to_string(),
    };
    Some((name.to_ascii_lowercase(), value))
}

fn unquote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schemes(c: &[Challenge]) -> Vec<&str> {
        c.iter().map(|c| c.scheme.as_str()).collect()
    }

    #[test]
    fn exchange_on_premises_default() {
        let c = parse_challenges(["Negotiate, NTLM"]);
        assert_eq!(schemes(&c), ["Negotiate", "NTLM"]);
    }

    #[test]
    fn reverse_proxy_with_separate_headers() {
        let c = parse_challenges([
            "Negotiate",
            "Kerberos",
            "NTLM",
            "Basic realm=\"autodiscover.contoso.com\"",
        ]);
        assert_eq!(schemes(&c), ["Negotiate", "Kerberos", "NTLM", "Basic"]);
        assert_eq!(c[3].param("realm"), Some("autodiscover.contoso.com"));
    }

    #[test]
    fn hybrid_modern_auth_bearer_with_commas_inside_quotes() {
        let c = parse_challenges([
            "Bearer client_id=\"00000002-0000-0ff1-ce00-000000000000\", trusted_issuers=\"00000001-0000-0000-c000-000000000000@5de110f8, 00000004@contoso.com\", token_types=\"app_asserted_user_v1 service_asserted_app_v1\", authorization_uri=\"https://login.windows.net/common/oauth2/authorize\"",
            "Basic realm=\"mail.contoso.com\"",
        ]);
        assert_eq!(schemes(&c), ["Bearer", "Basic"]);
        assert_eq!(
            c[0].param("authorization_uri"),
            Some("https://login.windows.net/common/oauth2/authorize")
        );
        assert_eq!(
            c[0].param("trusted_issuers"),
            Some("00000001-0000-0000-c000-000000000000@5de110f8, 00000004@contoso.com")
        );
    }

    #[test]
    fn comma_joined_list_with_parameters() {
        let c = parse_challenges(["Basic realm=\"a\", Bearer error=\"invalid_token\", NTLM"]);
        assert_eq!(schemes(&c), ["Basic", "Bearer", "NTLM"]);
        assert_eq!(c[1].param("error"), Some("invalid_token"));
    }

    #[test]
    fn ntlm_token68() {
        let c = parse_challenges(["NTLM TlRMTVNTUAACAAAADAAMADgAAAA=="]);
        assert_eq!(c[0].token.as_deref(), Some("TlRMTVNTUAACAAAADAAMADgAAAA=="));
        let c = parse_challenges(["Negotiate TlRMTVNTUAACAAAA"]);
        assert_eq!(c[0].token.as_deref(), Some("TlRMTVNTUAACAAAA"));
    }

    #[test]
    fn empty_realm_and_escapes() {
        let c = parse_challenges(["Basic Realm=\"\"", "Basic realm=\"a \\\"b\\\" c\""]);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].param("realm"), Some("a \"b\" c"));
    }

    #[test]
    fn junk_is_skipped() {
        let c = parse_challenges(["", " , ,", "\"quoted\"", "=x"]);
        assert!(c.is_empty());
    }
}
