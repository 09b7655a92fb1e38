//! `--name`: the file-name template of an export.

use crate::PhotoSize;
use crate::error::Error;
use crate::output;

/// A file-name template: `{email}`, `{local}`, `{domain}`, `{size}`, `{ext}`.
#[derive(Clone, Debug)]
pub struct Template {
    text: String,
    parts: Vec<Part>,
}

#[derive(Clone, Debug)]
enum Part {
    Text(String),
    Email,
    Local,
    Domain,
    Size,
    Ext,
}

impl Template {
    /// Parses a template; unknown placeholders are a usage error.
    ///
    /// ```
    /// use ews_photo::export::Template;
    /// let t = Template::parse("{local}-{size}.{ext}").unwrap();
    /// assert_eq!(t.render("Alice@contoso.com", ews_photo::PhotoSize::Hr96, "jpg"), "Alice-HR96x96.jpg");
    /// // The result is one safe file name, whatever the address.
    /// let t = Template::parse("{local}/../{domain}.{ext}").unwrap();
    /// assert_eq!(t.render("..@contoso.com", ews_photo::PhotoSize::Hr96, "jpg"), "___.._contoso.com.jpg");
    /// assert!(Template::parse("{user}.jpg").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Template, Error> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 1..];
            let end = after
                .find('}')
                .ok_or_else(|| Error::Usage(format!("--name '{text}': a '{{' without '}}'")))?;
            parts.push(match &after[..end] {
                "email" => Part::Email,
                "local" => Part::Local,
                "domain" => Part::Domain,
                "size" => Part::Size,
                "ext" => Part::Ext,
                other => {
                    return Err(Error::Usage(format!(
                        "--name '{text}': unknown placeholder {{{other}}}; use {{email}}, {{local}}, {{domain}}, {{size}} or {{ext}}"
                    )));
                }
            });
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        if !parts.iter().any(|p| matches!(p, Part::Email | Part::Local)) {
            return Err(Error::Usage(format!(
                "--name '{text}' does not contain {{email}} or {{local}}, so every address would get the same file"
            )));
        }
        Ok(Template {
            text: text.to_string(),
            parts,
        })
    }

    /// The template as written (recorded in the manifest, so that a later run
    /// knows which file an entry's template made).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The file name for an address, made safe with [`output::sanitize_file_name`].
    pub fn render(&self, email: &str, size: PhotoSize, ext: &str) -> String {
        let (local, domain) = email.split_once('@').unwrap_or((email, ""));
        let mut name = String::with_capacity(email.len() + 16);
        for part in &self.parts {
            match part {
                Part::Text(text) => name.push_str(text),
                Part::Email => name.push_str(email),
                Part::Local => name.push_str(local),
                Part::Domain => name.push_str(domain),
                Part::Size => name.push_str(size.code()),
                Part::Ext => name.push_str(ext),
            }
        }
        output::sanitize_owned_file_name(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_and_the_safety_of_the_result() {
        let t = Template::parse("{domain}/{local}_{size}.{ext}").unwrap();
        assert_eq!(
            t.render("alice@contoso.com", PhotoSize::Hr240, "png"),
            "contoso.com_alice_HR240x240.png"
        );
        assert!(Template::parse("{email").is_err());
        assert!(
            Template::parse("photo.{ext}")
                .unwrap_err()
                .to_string()
                .contains("same file")
        );
        let t = Template::parse("{email}").unwrap();
        assert_eq!(t.render("../x@y", PhotoSize::Hr48, "jpg"), "___x@y");
    }
}
