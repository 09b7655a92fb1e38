//! A small, strict XML reader for the answers the tool reads (EWS SOAP,
//! Autodiscover POX): checks that the text is well-formed XML 1.0 with
//! namespaces, and gives it as a tree, line ends and attribute values
//! normalized as XML 1.0 says (§2.11, §3.3.3). A property test holds it to
//! roxmltree: what it accepts, roxmltree accepts, with the same tree.
//!
//! Why not a general-purpose parser: the one used before cost about 40
//! instructions a byte (a third of a photo's work in an `export --sync`,
//! measured with callgrind), most of it for features a SOAP answer never
//! needs. What is here: elements, attributes, namespaces (`xmlns`,
//! `xmlns:p`, the `xml` prefix), text with the five predefined entities and
//! character references, CDATA, comments, processing instructions, the XML
//! declaration. What is refused: a DOCTYPE (so no entity can expand, no billion laughs), unknown
//! entities and prefixes, characters XML forbids, more than [`NODES_LIMIT`]
//! nodes (so a document nested 200,000 deep is refused, not recursed into:
//! the reader keeps its own stack). Text borrows from the input unless it
//! holds a reference.

use std::borrow::Cow;

/// The most nodes (elements and texts) a document may have.
pub const NODES_LIMIT: usize = 10_000;

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// The namespace of `xmlns` itself, which no declaration may name.
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// A parsed document.
#[derive(Debug)]
pub struct Document<'a> {
    nodes: Vec<NodeData<'a>>,
    attributes: Vec<Attribute<'a>>,
    namespaces: Vec<Cow<'a, str>>,
}

#[derive(Debug)]
struct NodeData<'a> {
    kind: Kind<'a>,
    next_sibling: Option<usize>,
    first_child: Option<usize>,
    last_child: Option<usize>,
    /// One past the last node of its subtree (nodes are in document order).
    end: usize,
}

#[derive(Debug)]
enum Kind<'a> {
    Element {
        namespace: Option<usize>,
        name: &'a str,
        attributes: std::ops::Range<usize>,
    },
    Text(Cow<'a, str>),
}

#[derive(Debug)]
struct Attribute<'a> {
    qname: &'a str,
    value: Cow<'a, str>,
    /// Resolved once the whole start tag is read (`None`: no prefix).
    namespace: Option<usize>,
}

/// An attribute, as [`Node::attributes`] gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr<'d> {
    /// Its namespace; `None` without a prefix (XML gives an unprefixed
    /// attribute no namespace, whatever the default is).
    pub namespace: Option<&'d str>,
    /// Its local name.
    pub name: &'d str,
    /// Its value, references resolved.
    pub value: &'d str,
}

/// A node of a [`Document`].
#[derive(Clone, Copy, Debug)]
pub struct Node<'d, 'a> {
    doc: &'d Document<'a>,
    id: usize,
}

/// An element's expanded name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TagName<'d> {
    namespace: Option<&'d str>,
    name: &'d str,
}

impl<'d> TagName<'d> {
    /// The local name.
    pub fn name(&self) -> &'d str {
        self.name
    }

    /// The namespace URI, if any.
    pub fn namespace(&self) -> Option<&'d str> {
        self.namespace
    }
}

impl<'a> Document<'a> {
    /// The document element.
    pub fn root_element<'d>(&'d self) -> Node<'d, 'a> {
        Node { doc: self, id: 0 }
    }
}

impl<'d, 'a> Node<'d, 'a> {
    fn data(&self) -> &'d NodeData<'a> {
        &self.doc.nodes[self.id]
    }

    /// True for an element.
    pub fn is_element(&self) -> bool {
        matches!(self.data().kind, Kind::Element { .. })
    }

    /// An element's name (a text's is empty).
    pub fn tag_name(&self) -> TagName<'d> {
        match &self.data().kind {
            Kind::Element {
                namespace, name, ..
            } => TagName {
                namespace: namespace.map(|i| self.doc.namespaces[i].as_ref()),
                name,
            },
            Kind::Text(_) => TagName {
                namespace: None,
                name: "",
            },
        }
    }

    /// True for an element of this namespace and local name.
    pub fn has_tag_name(&self, (namespace, name): (&str, &str)) -> bool {
        self.is_element()
            && self.tag_name()
                == TagName {
                    namespace: Some(namespace),
                    name,
                }
    }

    /// The value of an attribute without a prefix.
    pub fn attribute(&self, name: &str) -> Option<&'d str> {
        match &self.data().kind {
            Kind::Element { attributes, .. } => self.doc.attributes[attributes.clone()]
                .iter()
                .find(|a| a.qname == name)
                .map(|a| a.value.as_ref()),
            Kind::Text(_) => None,
        }
    }

    /// An element's attributes in document order, the namespace
    /// declarations (`xmlns`, `xmlns:p`) left out.
    ///
    /// ```
    /// let doc = ews_photo::xml::parse(r#"<a xmlns:p="urn:p" p:k="1" k="2"/>"#).unwrap();
    /// let attributes: Vec<_> = doc
    ///     .root_element()
    ///     .attributes()
    ///     .map(|a| (a.namespace, a.name, a.value))
    ///     .collect();
    /// assert_eq!(attributes, [(Some("urn:p"), "k", "1"), (None, "k", "2")]);
    /// ```
    pub fn attributes(&self) -> impl Iterator<Item = Attr<'d>> + use<'d, 'a> {
        let doc = self.doc;
        let range = match &self.data().kind {
            Kind::Element { attributes, .. } => attributes.clone(),
            Kind::Text(_) => 0..0,
        };
        doc.attributes[range]
            .iter()
            .filter(|a| a.qname != "xmlns" && !a.qname.starts_with("xmlns:"))
            .map(move |a| Attr {
                namespace: a.namespace.map(|i| doc.namespaces[i].as_ref()),
                name: a.qname.split_once(':').map_or(a.qname, |(_, local)| local),
                value: a.value.as_ref(),
            })
    }

    /// A text's text.
    pub fn text(&self) -> Option<&'d str> {
        match &self.data().kind {
            Kind::Text(text) => Some(text),
            Kind::Element { .. } => None,
        }
    }

    /// The first child.
    pub fn first_child(&self) -> Option<Node<'d, 'a>> {
        self.data().first_child.map(|id| Node { doc: self.doc, id })
    }

    /// The children, in order.
    pub fn children(&self) -> impl Iterator<Item = Node<'d, 'a>> + use<'d, 'a> {
        let doc = self.doc;
        std::iter::successors(self.first_child(), move |n| {
            doc.nodes[n.id].next_sibling.map(|id| Node { doc, id })
        })
    }

    /// The node and everything in it, in document order.
    pub fn descendants(&self) -> impl Iterator<Item = Node<'d, 'a>> + use<'d, 'a> {
        let doc = self.doc;
        (self.id..self.data().end).map(move |id| Node { doc, id })
    }
}

/// The text of an answer's bytes: UTF-8 with or without a BOM, which is what
/// Exchange sends, or UTF-16 with a BOM, which XML also allows. The error says
/// why the bytes are not text.
///
/// ```
/// let body = b"\xEF\xBB\xBF<r/>";
/// assert_eq!(ews_photo::xml::decode(body).unwrap(), "<r/>");
/// ```
pub fn decode(body: &[u8]) -> Result<Cow<'_, str>, String> {
    if let Some(rest) = body.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .map(Into::into)
            .map_err(|e| e.to_string());
    }
    if let Some((first, rest)) = body.split_first_chunk::<2>()
        && (first == b"\xFF\xFE" || first == b"\xFE\xFF")
    {
        let little = first[0] == 0xFF;
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|p| {
                if little {
                    u16::from_le_bytes([p[0], p[1]])
                } else {
                    u16::from_be_bytes([p[0], p[1]])
                }
            })
            .collect();
        return String::from_utf16(&units)
            .map(Into::into)
            .map_err(|e| e.to_string());
    }
    std::str::from_utf8(body)
        .map(Into::into)
        .map_err(|e| e.to_string())
}

/// Escapes text for an XML element or attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The first child element named `name` in the namespace `ns`.
pub fn child<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| n.has_tag_name((ns, name)))
}

/// The element's text, all text nodes joined, trimmed; None when empty.
pub fn text_of(node: Node) -> Option<String> {
    text_in(node).map(Cow::into_owned)
}

/// [`text_of`], borrowed from the document when the element holds one text
/// (a picture is kilobytes).
pub fn text_in<'d>(node: Node<'d, '_>) -> Option<Cow<'d, str>> {
    let mut texts = node.descendants().filter_map(|n| n.text());
    let first = texts.next()?;
    let text = match texts.next() {
        None => Cow::Borrowed(first.trim()),
        Some(second) => {
            let mut joined = String::from(first);
            joined.push_str(second);
            texts.for_each(|t| joined.push_str(t));
            Cow::Owned(joined.trim().to_string())
        }
    };
    (!text.is_empty()).then_some(text)
}

/// Parses `text`; the error says what is wrong and where.
pub fn parse(text: &str) -> Result<Document<'_>, String> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        at: 0,
        doc: Document {
            nodes: Vec::with_capacity(32),
            attributes: Vec::new(),
            namespaces: Vec::new(),
        },
        scopes: Vec::new(),
        open: Vec::new(),
    };
    parser.document()?;
    Ok(parser.doc)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    doc: Document<'a>,
    /// Declarations in scope: prefix ("" for the default) → namespace index
    /// (`None`: `xmlns=""`, no namespace).
    scopes: Vec<(&'a str, Option<usize>)>,
    /// Open elements: node, qualified name, scopes to drop at the end.
    open: Vec<(usize, &'a str, usize)>,
}

/// Bytes that may stand in text as they are (no markup, no reference, no
/// forbidden control character, no line end to normalize, no `>` that could
/// close a `]]>`); the rest is looked at one by one.
const PLAIN: [bool; 256] = {
    let mut table = [true; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b == 0x09 || b == 0x0A;
        b += 1;
    }
    table[b'<' as usize] = false;
    table[b'&' as usize] = false;
    table[b'>' as usize] = false;
    // The lead byte of U+FFFE and U+FFFF, which XML forbids.
    table[0xEF] = false;
    table
};

/// Bytes that may stand in an attribute value as they are: as in text, but
/// a tab or line end becomes a space (§3.3.3), and `>` is just a character.
const ATTRIBUTE_PLAIN: [bool; 256] = {
    let mut table = PLAIN;
    table[0x09] = false;
    table[0x0A] = false;
    table[b'>' as usize] = true;
    table
};

/// Bytes of names: 0 for none, [`COLON`] for `:`, [`NON_ASCII`] for a
/// byte of a character outside ASCII (which is looked at whole), 1 for the
/// rest.
const NAME: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.' {
            table[b] = 1;
        } else if c >= 0x80 {
            table[b] = NON_ASCII;
        }
        b += 1;
    }
    table[b':' as usize] = COLON;
    table
};
const COLON: u8 = 2;
const NON_ASCII: u8 = 3;

/// XML 1.0's NameStartChar, without the colon (names are split at it).
fn is_name_start(c: char) -> bool {
    matches!(c, 'A'..='Z' | 'a'..='z' | '_'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0's NameChar, without the colon.
fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Where the plain text that starts at `at` ends: eight bytes at a time
/// while none of them can be special (a picture is kilobytes of text), then
/// byte by byte.
fn plain_run(bytes: &[u8], mut at: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    loop {
        while let Some(word) = bytes.get(at..at + 8) {
            let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
            // A control character (below 0x20), '<', '&', '>' or 0xEF; a
            // false alarm only sends the word to the byte loop.
            let special = (w.wrapping_sub(ONES * 0x20) & !w & HIGHS)
                | has_zero(w ^ (ONES * u64::from(b'<')))
                | has_zero(w ^ (ONES * u64::from(b'&')))
                | has_zero(w ^ (ONES * u64::from(b'>')))
                | has_zero(w ^ (ONES * 0xEF));
            if special != 0 {
                break;
            }
            at += 8;
        }
        let stop = (at + 8).min(bytes.len());
        while at < stop && PLAIN[usize::from(bytes[at])] {
            at += 1;
        }
        if at < stop || at == bytes.len() {
            return at;
        }
    }
}

impl<'a> Parser<'a> {
    fn error(&self, what: &str) -> String {
        let line = 1 + self.bytes[..self.at.min(self.bytes.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        format!("{what} (line {line})")
    }

    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn starts(&self, s: &str) -> bool {
        self.rest().starts_with(s)
    }

    fn skip_space(&mut self) {
        while self.at < self.bytes.len() && is_space(self.bytes[self.at]) {
            self.at += 1;
        }
    }

    /// Whitespace that the grammar requires here.
    fn require_space(&mut self, what: &str) -> Result<(), String> {
        if !self.bytes.get(self.at).copied().is_some_and(is_space) {
            return Err(self.error(&format!("no space {what}")));
        }
        self.skip_space();
        Ok(())
    }

    /// Past the next `end`, or an error.
    fn skip_past(&mut self, end: &str, what: &str) -> Result<&'a str, String> {
        match self.rest().find(end) {
            Some(i) => {
                let skipped = &self.rest()[..i];
                check_chars(skipped).map_err(|e| self.error(&e))?;
                self.at += i + end.len();
                Ok(skipped)
            }
            None => {
                self.at = self.bytes.len();
                Err(self.error(&format!("{what} does not end")))
            }
        }
    }

    /// Comments, processing instructions and space between markup.
    fn misc(&mut self) -> Result<(), String> {
        loop {
            self.skip_space();
            if self.starts("<!--") {
                self.comment()?;
            } else if self.starts("<?") {
                self.processing_instruction()?;
            } else if self.starts("<!") {
                return Err(self.error("a DOCTYPE or other declaration, which is not allowed"));
            } else {
                return Ok(());
            }
        }
    }

    /// `<!--` … `-->`, with no `--` inside and no `-` before the end.
    fn comment(&mut self) -> Result<(), String> {
        self.at += 4;
        let text = self.skip_past("-->", "a comment")?;
        if text.contains("--") || text.ends_with('-') {
            self.at -= 3;
            return Err(self.error("'--' inside a comment, which XML does not allow"));
        }
        Ok(())
    }

    /// `<?target …?>`; the XML declaration when it opens the document.
    fn processing_instruction(&mut self) -> Result<(), String> {
        let at_start = self.at == 0;
        self.at += 2;
        let target = self.name()?;
        if target.eq_ignore_ascii_case("xml") {
            if at_start && target == "xml" {
                return self.declaration();
            }
            return Err(self.error(
                "an XML declaration that is not at the very start (or a processing instruction named xml)",
            ));
        }
        if target.contains(':') {
            return Err(self.error("a processing instruction whose name holds a ':'"));
        }
        if !self.starts("?>") {
            self.require_space("after a processing instruction's name")?;
        }
        self.skip_past("?>", "a processing instruction").map(|_| ())
    }

    /// The rest of `<?xml version="1.x" encoding="…" standalone="yes|no"?>`.
    fn declaration(&mut self) -> Result<(), String> {
        self.require_space("in the XML declaration")?;
        let version = self.pseudo_attribute("version")?;
        let digits = version.strip_prefix("1.").unwrap_or("");
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.error("an XML declaration with a version other than 1.x"));
        }
        let mut spaced = self.bytes.get(self.at).copied().is_some_and(is_space);
        self.skip_space();
        if spaced && self.starts("encoding") {
            let encoding = self.pseudo_attribute("encoding")?;
            let mut bytes = encoding.bytes();
            let well_named = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
                && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
            if !well_named {
                return Err(self.error("an XML declaration with a malformed encoding name"));
            }
            spaced = self.bytes.get(self.at).copied().is_some_and(is_space);
            self.skip_space();
        }
        if spaced && self.starts("standalone") {
            let standalone = self.pseudo_attribute("standalone")?;
            if standalone != "yes" && standalone != "no" {
                return Err(self.error("an XML declaration with standalone other than yes or no"));
            }
            self.skip_space();
        }
        if !self.starts("?>") {
            return Err(self.error("an XML declaration that does not end with '?>'"));
        }
        self.at += 2;
        Ok(())
    }

    /// `name = "value"` in the XML declaration; the value.
    fn pseudo_attribute(&mut self, name: &str) -> Result<&'a str, String> {
        if !self.starts(name) {
            return Err(self.error(&format!("an XML declaration without {name}")));
        }
        self.at += name.len();
        self.skip_space();
        if !self.starts("=") {
            return Err(self.error(&format!("no '=' after {name} in the XML declaration")));
        }
        self.at += 1;
        self.skip_space();
        let quote = match self.bytes.get(self.at) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return Err(self.error("an XML declaration value without quotes")),
        };
        self.at += 1;
        let start = self.at;
        let len = self.bytes[start..]
            .iter()
            .position(|&b| b == quote)
            .ok_or_else(|| self.error("an XML declaration value that does not end"))?;
        self.at += len + 1;
        Ok(&self.text[start..start + len])
    }

    fn document(&mut self) -> Result<(), String> {
        self.misc()?;
        if !self.starts("<") {
            return Err(self.error(if self.at >= self.bytes.len() {
                "no root element"
            } else {
                "text before the root element"
            }));
        }
        self.start_tag()?;
        while !self.open.is_empty() {
            self.content()?;
        }
        self.misc()?;
        if self.at < self.bytes.len() {
            return Err(self.error("something after the root element"));
        }
        Ok(())
    }

    /// What comes next inside an element.
    fn content(&mut self) -> Result<(), String> {
        if self.at >= self.bytes.len() {
            return Err(self.error("the document ends inside an element"));
        }
        if self.starts("</") {
            self.end_tag()
        } else if self.starts("<!--") {
            self.comment()
        } else if self.starts("<![CDATA[") {
            self.at += 9;
            let text = self.skip_past("]]>", "a CDATA section")?;
            let text = if text.contains('\r') {
                Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
            } else {
                Cow::Borrowed(text)
            };
            self.add_text(text)
        } else if self.starts("<?") {
            self.processing_instruction()
        } else if self.starts("<!") {
            Err(self.error("a declaration inside an element"))
        } else if self.starts("<") {
            self.start_tag()
        } else {
            let text = self.text_until_markup()?;
            self.add_text(text)
        }
    }

    fn text_until_markup(&mut self) -> Result<Cow<'a, str>, String> {
        let start = self.at;
        let mut owned: Option<String> = None;
        let mut plain_from = start;
        loop {
            self.at = plain_run(self.bytes, self.at);
            match self.bytes.get(self.at) {
                None | Some(b'<') => break,
                Some(b'&') => {
                    let amp = self.at;
                    let decoded = self.reference()?;
                    let text = owned.get_or_insert_with(String::new);
                    text.push_str(&self.text[plain_from..amp]);
                    text.push(decoded);
                    plain_from = self.at;
                }
                // A line end: \r\n and a lone \r are \n (§2.11).
                Some(b'\r') => {
                    let text = owned.get_or_insert_with(String::new);
                    text.push_str(&self.text[plain_from..self.at]);
                    text.push('\n');
                    self.at += 1;
                    if self.bytes.get(self.at) == Some(&b'\n') {
                        self.at += 1;
                    }
                    plain_from = self.at;
                }
                Some(b'>') => {
                    if self.at >= start + 2 && &self.bytes[self.at - 2..self.at] == b"]]" {
                        return Err(self.error("']]>' in text, which XML does not allow"));
                    }
                    self.at += 1;
                }
                Some(0xEF) => {
                    let c = self.rest().chars().next().unwrap_or_default();
                    if c == '\u{FFFE}' || c == '\u{FFFF}' {
                        return Err(self.error("a character XML does not allow"));
                    }
                    self.at += c.len_utf8();
                }
                Some(_) => return Err(self.error("a control character XML does not allow")),
            }
        }
        Ok(match owned {
            None => Cow::Borrowed(&self.text[start..self.at]),
            Some(mut text) => {
                text.push_str(&self.text[plain_from..self.at]);
                Cow::Owned(text)
            }
        })
    }

    fn add_text(&mut self, text: Cow<'a, str>) -> Result<(), String> {
        let id = self.add_node(Kind::Text(text))?;
        self.doc.nodes[id].end = id + 1;
        Ok(())
    }

    fn add_node(&mut self, kind: Kind<'a>) -> Result<usize, String> {
        if self.doc.nodes.len() >= NODES_LIMIT {
            return Err(self.error(&format!("more than {NODES_LIMIT} nodes")));
        }
        let id = self.doc.nodes.len();
        self.doc.nodes.push(NodeData {
            kind,
            next_sibling: None,
            first_child: None,
            last_child: None,
            end: id + 1,
        });
        if let Some(&(parent, _, _)) = self.open.last() {
            match self.doc.nodes[parent].last_child {
                Some(last) => self.doc.nodes[last].next_sibling = Some(id),
                None => self.doc.nodes[parent].first_child = Some(id),
            }
            self.doc.nodes[parent].last_child = Some(id);
        }
        Ok(id)
    }

    /// A name, with at most one ':' between two parts that each start as
    /// XML names start.
    fn name(&mut self) -> Result<&'a str, String> {
        let start = self.at;
        let mut colon = None;
        while let Some(&b) = self.bytes.get(self.at) {
            match NAME[usize::from(b)] {
                0 => break,
                COLON if colon.is_some() => {
                    return Err(self.error("a name that is not a valid XML name"));
                }
                COLON => {
                    colon = Some(self.at - start);
                    self.at += 1;
                }
                NON_ASCII => {
                    let c = self.rest().chars().next().unwrap_or_default();
                    if !is_name_char(c) {
                        break;
                    }
                    self.at += c.len_utf8();
                }
                _ => self.at += 1,
            }
        }
        let name = &self.text[start..self.at];
        let starts_well = |part: &str| part.chars().next().is_some_and(is_name_start);
        let well_formed = match colon {
            Some(i) => starts_well(&name[..i]) && starts_well(&name[i + 1..]),
            None => starts_well(name),
        };
        if !well_formed {
            return Err(self.error("a name that is not a valid XML name"));
        }
        Ok(name)
    }

    fn start_tag(&mut self) -> Result<(), String> {
        self.at += 1;
        let qname = self.name()?;
        let scopes_before = self.scopes.len();
        let first_attribute = self.doc.attributes.len();
        loop {
            let had_space = self.bytes.get(self.at).copied().is_some_and(is_space);
            self.skip_space();
            if self.starts("/>") || self.starts(">") {
                break;
            }
            if self.at >= self.bytes.len() {
                return Err(self.error("the document ends inside a tag"));
            }
            if !had_space {
                return Err(self.error("no space before an attribute"));
            }
            let name = self.name()?;
            self.skip_space();
            if !self.starts("=") {
                return Err(self.error("an attribute without '='"));
            }
            self.at += 1;
            self.skip_space();
            let value = self.attribute_value()?;
            if self.doc.attributes[first_attribute..]
                .iter()
                .any(|a| a.qname == name)
            {
                return Err(self.error("an attribute given twice"));
            }
            if name == "xmlns" {
                if value == XML_NS || value == XMLNS_NS {
                    return Err(self.error("a reserved namespace as the default namespace"));
                }
                let ns = (!value.is_empty()).then(|| self.namespace_index(value.clone()));
                self.scopes.push(("", ns));
            } else if let Some(prefix) = name.strip_prefix("xmlns:") {
                if value.is_empty() {
                    return Err(self.error("a namespace prefix bound to nothing"));
                }
                // The xml prefix is bound to its namespace and only it to
                // that one; xmlns is bound to none (Namespaces in XML §3).
                if prefix == "xmlns" || value == XMLNS_NS || (prefix == "xml") != (value == XML_NS)
                {
                    return Err(self.error(&format!(
                        "xmlns:{prefix}=\"{value}\", which binds a reserved prefix or namespace"
                    )));
                }
                let ns = self.namespace_index(value.clone());
                self.scopes.push((prefix, Some(ns)));
            }
            self.doc.attributes.push(Attribute {
                qname: name,
                value,
                namespace: None,
            });
        }
        let empty = self.starts("/>");
        self.at += if empty { 2 } else { 1 };
        let (prefix, local) = match qname.split_once(':') {
            Some((prefix, local)) => (prefix, local),
            None => ("", qname),
        };
        let namespace = self.resolve(prefix)?;
        // Prefixed attributes must be bound too, and no two may have the
        // same namespace and local name (p:k and q:k, p and q bound alike).
        for i in first_attribute..self.doc.attributes.len() {
            let qname = self.doc.attributes[i].qname;
            if let Some((prefix, local)) = qname.split_once(':')
                && prefix != "xmlns"
            {
                let namespace = self.resolve(prefix)?;
                let attributes = &self.doc.attributes;
                let twice = attributes[first_attribute..i].iter().any(|a| {
                    a.namespace == namespace
                        && a.qname
                            .split_once(':')
                            .is_some_and(|(p, l)| p != "xmlns" && l == local)
                });
                if twice {
                    return Err(self.error("an attribute given twice (by namespace and name)"));
                }
                self.doc.attributes[i].namespace = namespace;
            }
        }
        let id = self.add_node(Kind::Element {
            namespace,
            name: local,
            attributes: first_attribute..self.doc.attributes.len(),
        })?;
        if empty {
            self.scopes.truncate(scopes_before);
        } else {
            self.open.push((id, qname, scopes_before));
        }
        Ok(())
    }

    fn end_tag(&mut self) -> Result<(), String> {
        self.at += 2;
        let qname = self.name()?;
        self.skip_space();
        if !self.starts(">") {
            return Err(self.error("an end tag without '>'"));
        }
        self.at += 1;
        let Some((id, open, scopes_before)) = self.open.pop() else {
            return Err(self.error("an end tag without a start"));
        };
        if open != qname {
            return Err(self.error(&format!("</{qname}> where </{open}> was expected")));
        }
        self.scopes.truncate(scopes_before);
        self.doc.nodes[id].end = self.doc.nodes.len();
        Ok(())
    }

    fn resolve(&mut self, prefix: &str) -> Result<Option<usize>, String> {
        if let Some((_, ns)) = self.scopes.iter().rev().find(|(p, _)| *p == prefix) {
            return Ok(*ns);
        }
        if prefix.is_empty() {
            return Ok(None);
        }
        if prefix == "xml" {
            return Ok(Some(self.namespace_index(Cow::Borrowed(XML_NS))));
        }
        Err(self.error(&format!("the unknown namespace prefix '{prefix}'")))
    }

    /// A reference at `&`: one of the five entities or a character; the
    /// position moves past its `;`.
    fn reference(&mut self) -> Result<char, String> {
        let rest = self.rest().as_bytes();
        let end = rest[..rest.len().min(12)]
            .iter()
            .position(|&b| b == b';')
            .ok_or_else(|| self.error("an '&' that starts no reference"))?;
        let name = &self.rest()[1..end];
        let c = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = name.strip_prefix("#x") {
                    hex.bytes()
                        .all(|b| b.is_ascii_hexdigit())
                        .then(|| u32::from_str_radix(hex, 16).ok())
                        .flatten()
                } else if let Some(decimal) = name.strip_prefix('#') {
                    decimal
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                        .then(|| decimal.parse().ok())
                        .flatten()
                } else {
                    return Err(self.error(&format!("the unknown entity &{name};")));
                };
                code.and_then(char::from_u32)
                    .filter(|c| is_xml_char(*c))
                    .ok_or_else(|| {
                        self.error("a character reference to a character XML does not allow")
                    })?
            }
        };
        self.at += end + 1;
        Ok(c)
    }

    fn namespace_index(&mut self, uri: Cow<'a, str>) -> usize {
        match self.doc.namespaces.iter().position(|n| *n == uri) {
            Some(i) => i,
            None => {
                self.doc.namespaces.push(uri);
                self.doc.namespaces.len() - 1
            }
        }
    }

    fn attribute_value(&mut self) -> Result<Cow<'a, str>, String> {
        let quote = match self.bytes.get(self.at) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return Err(self.error("an attribute value without quotes")),
        };
        self.at += 1;
        let start = self.at;
        // Most values are plain: found in one pass.
        if let Some(len) = self.bytes[start..].iter().position(|&b| b == quote) {
            let raw = &self.text[start..start + len];
            if raw.bytes().all(|b| ATTRIBUTE_PLAIN[usize::from(b)]) {
                self.at += len + 1;
                return Ok(Cow::Borrowed(raw));
            }
        }
        let mut owned: Option<String> = None;
        let mut plain_from = start;
        loop {
            match self.bytes.get(self.at) {
                None => return Err(self.error("the document ends inside an attribute value")),
                Some(&b) if b == quote => break,
                Some(b'<') => return Err(self.error("'<' in an attribute value")),
                Some(b'&') => {
                    let amp = self.at;
                    let decoded = self.reference()?;
                    let text = owned.get_or_insert_with(String::new);
                    text.push_str(&self.text[plain_from..amp]);
                    text.push(decoded);
                    plain_from = self.at;
                }
                // Tabs and line ends are spaces (\r\n one space), §3.3.3;
                // the same characters by reference stay.
                Some(&b @ (b'\t' | b'\n' | b'\r')) => {
                    let text = owned.get_or_insert_with(String::new);
                    text.push_str(&self.text[plain_from..self.at]);
                    text.push(' ');
                    self.at += 1;
                    if b == b'\r' && self.bytes.get(self.at) == Some(&b'\n') {
                        self.at += 1;
                    }
                    plain_from = self.at;
                }
                Some(&b) if !ATTRIBUTE_PLAIN[usize::from(b)] && b != 0xEF => {
                    return Err(self.error("a control character XML does not allow"));
                }
                Some(_) => {
                    let c = self.rest().chars().next().unwrap_or_default();
                    if c == '\u{FFFE}' || c == '\u{FFFF}' {
                        return Err(self.error("a character XML does not allow"));
                    }
                    self.at += c.len_utf8();
                }
            }
        }
        let value = match owned {
            None => Cow::Borrowed(&self.text[start..self.at]),
            Some(mut text) => {
                text.push_str(&self.text[plain_from..self.at]);
                Cow::Owned(text)
            }
        };
        self.at += 1;
        Ok(value)
    }
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Checks the characters of a comment, CDATA section or processing instruction.
fn check_chars(text: &str) -> Result<(), String> {
    if text
        .bytes()
        .any(|b| b < 0x20 && !matches!(b, 0x09 | 0x0A | 0x0D))
        || text.contains(['\u{FFFE}', '\u{FFFF}'])
    {
        Err("a character XML does not allow".into())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names<'d>(node: Node<'d, '_>) -> Vec<(Option<&'d str>, &'d str)> {
        node.descendants()
            .filter(|n| n.is_element())
            .map(|n| (n.tag_name().namespace(), n.tag_name().name()))
            .collect()
    }

    #[test]
    fn namespaces_are_scoped_and_defaults_can_be_undone() {
        let doc = parse(
            r#"<?xml version="1.0" encoding="utf-8"?>
<!-- a comment --><a:r xmlns:a="urn:a" xmlns="urn:d"><b/><a:c xmlns:a="urn:other"><d xmlns=""/></a:c><a:e/><xml:f/></a:r>"#,
        )
        .unwrap();
        assert_eq!(
            names(doc.root_element()),
            [
                (Some("urn:a"), "r"),
                (Some("urn:d"), "b"),
                (Some("urn:other"), "c"),
                (None, "d"),
                (Some("urn:a"), "e"),
                (Some(XML_NS), "f"),
            ]
        );
        assert!(doc.root_element().has_tag_name(("urn:a", "r")));
    }

    #[test]
    fn text_references_cdata_and_attributes() {
        let doc = parse(
            "<r k='1 &amp; 2' p:k=\"x\" xmlns:p=\"urn:p\">a &lt;b&gt; &#65;&#x42;&quot;&apos;<![CDATA[<not markup>]]>\r\n<e/>tail</r>",
        )
        .unwrap();
        let root = doc.root_element();
        assert_eq!(root.attribute("k"), Some("1 & 2"));
        assert_eq!(root.attribute("p:k"), Some("x"));
        let texts: Vec<&str> = root.descendants().filter_map(|n| n.text()).collect();
        assert_eq!(texts, ["a <b> AB\"'", "<not markup>", "\n", "tail"]);
        assert_eq!(root.children().count(), 5);
        assert!(root.first_child().is_some_and(|n| n.text().is_some()));
        // Text without references is borrowed from the input.
        let doc = parse("<r>plain</r>").unwrap();
        let text = &doc.nodes[1].kind;
        assert!(matches!(text, Kind::Text(Cow::Borrowed("plain"))));
    }

    /// Found by comparing with roxmltree (tests/it/properties.rs): line
    /// ends were kept as sent, and tabs and line ends in attribute values
    /// were not made spaces.
    #[test]
    fn line_ends_and_attribute_values_are_normalized_as_xml_says() {
        let doc = parse(
            "<r a='x\ty\r\nz\rw\n' b='&#9;&#13;&#10;' c='1 > 0'>one\r\ntwo\rthree&#13;\r\n<![CDATA[c\r\nd\re]]></r>",
        )
        .unwrap();
        let root = doc.root_element();
        assert_eq!(root.attribute("a"), Some("x y z w "));
        // The same characters given by reference stay as they are.
        assert_eq!(root.attribute("b"), Some("\t\r\n"));
        assert_eq!(root.attribute("c"), Some("1 > 0"));
        let texts: Vec<&str> = root.descendants().filter_map(|n| n.text()).collect();
        assert_eq!(texts, ["one\ntwo\nthree\r\n", "c\nd\ne"]);
        // A namespace is normalized like any attribute value.
        let doc = parse("<r xmlns='urn:\r\na'/>").unwrap();
        assert_eq!(doc.root_element().tag_name().namespace(), Some("urn: a"));
    }

    #[test]
    fn attributes_by_namespace_and_name() {
        let doc = parse(
            "<r xmlns='urn:d' xmlns:p='urn:p' k='1' p:k='2' xml:lang='en'><c xmlns:p='urn:q' p:k='3'/></r>",
        )
        .unwrap();
        let root = doc.root_element();
        let all: Vec<Attr> = root.attributes().collect();
        let expected = |namespace, name, value| Attr {
            namespace,
            name,
            value,
        };
        assert_eq!(
            all,
            [
                expected(None, "k", "1"),
                expected(Some("urn:p"), "k", "2"),
                expected(Some(XML_NS), "lang", "en"),
            ]
        );
        let child = root.children().next().unwrap();
        assert_eq!(
            child.attributes().collect::<Vec<_>>(),
            [expected(Some("urn:q"), "k", "3")]
        );
        assert_eq!(
            doc.root_element()
                .first_child()
                .unwrap()
                .attributes()
                .count(),
            1
        );
    }

    /// Found by comparing with roxmltree: all of these were accepted.
    #[test]
    fn what_namespaces_comments_declarations_and_names_forbid_is_refused() {
        for (xml, expected) in [
            (
                "<a xmlns:p='u' xmlns:q='u' p:k='1' q:k='2'/>",
                "given twice",
            ),
            ("<a xmlns:xml='urn:x'/>", "reserved prefix or namespace"),
            (
                "<a xmlns:x='http://www.w3.org/XML/1998/namespace'/>",
                "reserved",
            ),
            ("<a xmlns:xmlns='urn:x'/>", "reserved"),
            ("<a xmlns:p='http://www.w3.org/2000/xmlns/'/>", "reserved"),
            (
                "<a xmlns='http://www.w3.org/2000/xmlns/'/>",
                "reserved namespace",
            ),
            (
                "<a xmlns='http://www.w3.org/XML/1998/namespace'/>",
                "reserved namespace",
            ),
            ("<xmlns:a/>", "unknown namespace prefix 'xmlns'"),
            ("<a><!-- a -- b --></a>", "'--' inside a comment"),
            ("<a><!-- a ---></a>", "'--' inside a comment"),
            (
                "<!-- x --><?xml version='1.0'?><a/>",
                "not at the very start",
            ),
            (" <?xml version='1.0'?><a/>", "not at the very start"),
            ("<a><?xml version='1.0'?></a>", "not at the very start"),
            ("<?XML version='1.0'?><a/>", "not at the very start"),
            ("<?xml?><a/>", "no space in the XML declaration"),
            ("<?xml encoding='utf-8'?><a/>", "without version"),
            ("<?xml version='2.0'?><a/>", "version other than 1.x"),
            (
                "<?xml version='1.0'encoding='utf-8'?><a/>",
                "does not end with '?>'",
            ),
            (
                "<?xml version='1.0' encoding='utf 8'?><a/>",
                "malformed encoding name",
            ),
            (
                "<?xml version='1.0' standalone='maybe'?><a/>",
                "standalone other than",
            ),
            (
                "<?xml version='1.0' junk='1'?><a/>",
                "does not end with '?>'",
            ),
            (
                "<?xml version='1.0' standalone='yes' encoding='utf-8'?><a/>",
                "does not end",
            ),
            (
                "<a><?pi?x?></a>",
                "no space after a processing instruction's name",
            ),
            ("<a><? x?></a>", "not a valid XML name"),
            ("<a><?p:i x?></a>", "holds a ':'"),
            ("<a>x]]>y</a>", "']]>' in text"),
            ("<a\u{D7}/>", "no space before an attribute"),
            ("<\u{300}a/>", "not a valid XML name"),
            ("<a:\u{B7}b xmlns:a='u'/>", "not a valid XML name"),
            ("<a:1b xmlns:a='u'/>", "not a valid XML name"),
            ("<a\u{C}k='1'/>", "no space before an attribute"),
        ] {
            let err = parse(xml).expect_err(xml);
            assert!(err.contains(expected), "{xml:?}: {err}");
        }
        // And what XML allows still is.
        for xml in [
            "<?xml version='1.0'?><a/>",
            "<?xml version = \"1.1\" encoding = 'ISO-8859-1' standalone='no' ?><a/>",
            "<?xml\tversion='1.0'\n?><a/>",
            "<a xmlns:xml='http://www.w3.org/XML/1998/namespace' xml:k='1'/>",
            "<a><!-- a - b --><?pi?><?pi  x ?></a>",
            "<a>]] > ]&gt; ]]&gt;</a>",
            "<a><![CDATA[]]]]><![CDATA[>]]></a>",
            "<\u{E9}t\u{E9}\u{B7}x:y\u{300} xmlns:\u{E9}t\u{E9}\u{B7}x='u'/>",
        ] {
            parse(xml).unwrap_or_else(|e| panic!("{xml:?}: {e}"));
        }
    }

    #[test]
    fn what_is_not_well_formed_is_refused() {
        for (xml, expected) in [
            ("", "no root element"),
            ("text", "text before the root element"),
            ("<a>", "ends inside an element"),
            ("<a></b>", "</b> where </a> was expected"),
            ("<a/><b/>", "something after the root element"),
            ("<a/>text", "something after the root element"),
            ("<p:a/>", "unknown namespace prefix 'p'"),
            ("<a p:x='1'/>", "unknown namespace prefix 'p'"),
            ("<a>&nbsp;</a>", "unknown entity &nbsp;"),
            ("<a>&#0;</a>", "a character reference"),
            ("<a>&#xD800;</a>", "a character reference"),
            ("<a>&#x+41;</a>", "a character reference"),
            ("<a>& b</a>", "starts no reference"),
            ("<a x='1' x='2'/>", "given twice"),
            ("<a x='1'y='2'/>", "no space before an attribute"),
            ("<a x=1/>", "without quotes"),
            ("<a x='<'/>", "'<' in an attribute value"),
            ("<a>\u{1}</a>", "control character"),
            ("<a>\u{FFFE}</a>", "a character XML does not allow"),
            ("<a><!-- \u{2} --></a>", "a character XML does not allow"),
            ("<!DOCTYPE a><a/>", "DOCTYPE"),
            ("<a><!ENTITY x 'y'></a>", "a declaration inside an element"),
            ("<1a/>", "not a valid XML name"),
            ("<a:b:c xmlns:a='u'/>", "not a valid XML name"),
            ("<a xmlns:p=''/>", "bound to nothing"),
            ("<a><!-- open", "a comment does not end"),
            ("<a", "ends inside a tag"),
        ] {
            let err = parse(xml).expect_err(xml);
            assert!(err.contains(expected), "{xml:?}: {err}");
        }
    }

    #[test]
    fn a_deep_or_huge_document_stops_at_the_node_limit_without_recursing() {
        let deep = format!("{}{}", "<a>".repeat(200_000), "</a>".repeat(200_000));
        assert!(parse(&deep).unwrap_err().contains("more than 10000 nodes"));
        let wide = format!("<r>{}</r>", "<a/>".repeat(NODES_LIMIT));
        assert!(parse(&wide).is_err());
        let fits = format!("<r>{}</r>", "<a/>".repeat(NODES_LIMIT - 1));
        assert!(parse(&fits).is_ok());
    }

    #[test]
    fn plain_runs_stop_at_every_special_byte_wherever_it_falls() {
        for len in 0..40 {
            for special in [b'<', b'&', b'>', b'\r', 0x01, 0x1F, 0xEF] {
                for at in 0..len {
                    let mut bytes = vec![b'A'; len];
                    bytes[at] = special;
                    assert_eq!(plain_run(&bytes, 0), at, "{len} {special} {at}");
                }
                assert_eq!(plain_run(&vec![b'z'; len], 0), len);
            }
        }
        // Tab, line feed, space and non-ASCII are plain.
        let text = "a\tb\nc d e é ü ✓ 0123456789 <";
        assert_eq!(plain_run(text.as_bytes(), 0), text.len() - 1);
    }

    #[test]
    fn errors_say_the_line() {
        assert!(parse("<a>\n\n</b>").unwrap_err().ends_with("(line 3)"));
    }
}
