//! The fuzz properties (`properties/fuzz_checks.rs`), run briefly on every CI run
//! with proptest: random bytes, and the committed seeds (`fuzz/seeds/`, the real
//! response shapes) mutated and cut short. The long runs are cargo-fuzz's
//! (`fuzz/`, see docs/robustness.md).

mod fuzz_checks;

use std::path::Path;

use proptest::prelude::*;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    seeds
}

/// A seed with random edits: overwritten bytes, an insertion, a cut.
fn mutated(target: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds(target);
    assert!(!seeds.is_empty(), "no seeds for {target}");
    (
        0..seeds.len(),
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        proptest::collection::vec(any::<u8>(), 0..16),
        any::<usize>(),
        any::<bool>(),
    )
        .prop_map(move |(pick, edits, insert, at, cut)| {
            let mut data = seeds[pick].clone();
            for (position, byte) in edits {
                if !data.is_empty() {
                    let i = position % data.len();
                    data[i] = byte;
                }
            }
            let at = if data.is_empty() { 0 } else { at % data.len() };
            if cut {
                data.truncate(at);
            } else {
                data.splice(at..at, insert);
            }
            data
        })
}

/// The XML the reader is given in real use: the SOAP seeds (the shapes of
/// `soap/tests.rs` among them) and the Autodiscover POX fixtures.
fn xml_seeds() -> Vec<Vec<u8>> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/autodiscover");
    let mut seeds = seeds("soap_response");
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "xml") {
            seeds.push(std::fs::read(path).unwrap());
        }
    }
    seeds
}

/// Pieces of XML where readers tend to differ: line ends, references,
/// CDATA, comments, declarations, namespaces, names outside ASCII.
const XML_PIECES: &[&str] = &[
    "\r\n",
    "\r",
    "\t",
    "\n",
    " ",
    "&#13;",
    "&#x9;",
    "&#10;",
    "&amp;",
    "&lt;",
    "&gt;",
    "&#0;",
    "&#x10FFFF;",
    "]]>",
    "<![CDATA[",
    "<![CDATA[x]]>",
    "<!--",
    "-->",
    "<!-- c -->",
    "<!---->",
    "<!-- - -->",
    "<!-- -- -->",
    "<?",
    "?>",
    "<?pi x?>",
    "<?xml version=\"1.0\"?>",
    "<?xml?>",
    "<?XML ?>",
    "<a>",
    "</a>",
    "<a/>",
    "<p:a>",
    "</p:a>",
    " xmlns=\"urn:d\"",
    " xmlns=\"\"",
    " xmlns:p=\"urn:p\"",
    " xmlns:q=\"urn:p\"",
    " p:k=\"1\"",
    " q:k=\"2\"",
    " xmlns:xml=\"http://www.w3.org/XML/1998/namespace\"",
    " xmlns:xml=\"urn:x\"",
    " xmlns:xmlns=\"urn:x\"",
    " xmlns:p=\"http://www.w3.org/2000/xmlns/\"",
    " xml:lang=\"en\"",
    " k=\"v\"",
    " k='v'",
    " k=\"a\tb\r\nc\"",
    "é",
    "\u{B7}",
    "\u{300}",
    "\u{D7}",
    "\u{2028}",
    "\u{FEFF}",
    "\u{E000}",
    "\u{1F600}",
    "\u{37E}",
    "-",
    ".",
    "0",
    ":",
    "_",
    "a:",
    ":a",
];

/// A seed with XML pieces put in at random places, or replacing a stretch.
fn xml_mutated() -> impl Strategy<Value = Vec<u8>> {
    let seeds = xml_seeds();
    (
        0..seeds.len(),
        proptest::collection::vec((any::<usize>(), 0..XML_PIECES.len(), 0usize..4), 1..6),
    )
        .prop_map(move |(pick, edits)| {
            let mut data = seeds[pick].clone();
            for (position, piece, replace) in edits {
                let at = position % (data.len() + 1);
                let end = (at + replace).min(data.len());
                data.splice(at..end, XML_PIECES[piece].bytes());
            }
            data
        })
}

/// Small documents made of the pieces alone.
fn xml_pieces() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0..XML_PIECES.len(), 0..24).prop_map(|picks| {
        let mut data = b"<r xmlns:p=\"urn:p\">".to_vec();
        for pick in picks {
            data.extend_from_slice(XML_PIECES[pick].as_bytes());
        }
        data.extend_from_slice(b"</r>");
        data
    })
}

/// Well-formed documents, generated as trees: elements with and without
/// prefixes and default namespaces, attributes, every kind of text, CDATA,
/// comments and processing instructions. Unlike the mutated inputs (mostly
/// refused by both readers), these are documents both must read, and read
/// alike.
fn xml_documents() -> impl Strategy<Value = String> {
    const NAMES: &[&str] = &["a", "Body", "p:a", "q:b", "t:Value", "x.y-z_0", "é"];
    const ATTRIBUTES: &[&str] = &[
        " k=\"v\"",
        " p:k='1'",
        " m=\"a &amp; b &lt;c&gt; &#13;&#10;&#x9;\"",
        " t=\"a\tb\r\nc\rd\"",
        " xml:lang=\"en\"",
        " xmlns=\"urn:d\"",
        " xmlns=\"\"",
        " xmlns:t=\"urn:t\"",
        " e=''",
    ];
    const TEXT: &[&str] = &[
        "x y",
        "\r\n",
        "\r",
        "\n\t ",
        "&amp;",
        "&lt;",
        "&gt;",
        "&quot;&apos;",
        "&#13;",
        "&#x9;",
        "&#65;&#x1F600;",
        "\u{e9}\u{1F600}",
        "]]x",
        ">",
        "<![CDATA[]]>",
        "<![CDATA[a]]b<c>&amp;\r\n]]>",
        "<!-- c -->",
        "<!---->",
        "<?pi x?>",
        "<?pi?>",
    ];
    let leaf = proptest::collection::vec(0..TEXT.len(), 0..4)
        .prop_map(|picks| picks.into_iter().map(|i| TEXT[i]).collect::<String>());
    let tree = leaf.prop_recursive(4, 48, 6, |inner| {
        (
            0..NAMES.len(),
            proptest::bits::u16::masked((1 << ATTRIBUTES.len()) - 1),
            proptest::collection::vec(inner, 0..6),
        )
            .prop_map(|(name, attributes, children)| {
                let name = NAMES[name];
                let mut element = format!("<{name}");
                // One default-namespace declaration at most: the two are
                // one attribute.
                let mut default_declared = false;
                for (i, attribute) in ATTRIBUTES.iter().enumerate() {
                    let is_default = attribute.starts_with(" xmlns=");
                    if attributes & (1 << i) != 0 && !(is_default && default_declared) {
                        default_declared |= is_default;
                        element.push_str(attribute);
                    }
                }
                // t: is declared only by an attribute that may be missing.
                if name.starts_with("t:") && attributes & (1 << 7) == 0 {
                    element.push_str(" xmlns:t=\"urn:t2\"");
                }
                if children.is_empty() {
                    element.push_str("/>");
                } else {
                    element.push('>');
                    element.extend(children);
                    element.push_str(&format!("</{name}>"));
                }
                element
            })
    });
    (tree, any::<bool>(), any::<bool>()).prop_map(|(tree, declaration, comment)| {
        let mut document = String::new();
        if declaration {
            document.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n");
        }
        if comment {
            document.push_str("<!-- before -->\n");
        }
        document.push_str("<r xmlns:p=\"urn:p\" xmlns:q=\"urn:q\">");
        document.push_str(&tree);
        document.push_str("</r>\n");
        document
    })
}

fn inputs(target: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        mutated(target),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn soap_response(data in inputs("soap_response")) {
        fuzz_checks::check_soap(&data);
    }

    #[test]
    fn the_xml_reader_agrees_with_roxmltree(
        data in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..512),
            mutated("soap_response"),
            xml_mutated(),
            xml_pieces(),
        ]
    ) {
        fuzz_checks::check_xml(&data);
    }

    #[test]
    fn the_xml_reader_reads_well_formed_documents_as_roxmltree_does(
        document in xml_documents()
    ) {
        fuzz_checks::check_well_formed_xml(&document);
    }

    #[test]
    fn rest_response(data in inputs("rest_response")) {
        fuzz_checks::check_rest(&data);
    }

    #[test]
    fn www_authenticate(data in inputs("www_authenticate")) {
        fuzz_checks::check_challenges(&data);
    }

    #[test]
    fn ntlm_challenge(data in inputs("ntlm_challenge")) {
        fuzz_checks::check_ntlm_challenge(&data);
    }

    #[test]
    fn address_list(data in inputs("address_list")) {
        fuzz_checks::check_address_list(&data);
    }

    #[test]
    fn file_name(data in inputs("file_name"), text in any::<String>()) {
        fuzz_checks::check_file_name(&data);
        fuzz_checks::check_file_name(text.as_bytes());
    }
}

#[test]
fn every_seed_passes_unchanged() {
    for seed in seeds("soap_response") {
        fuzz_checks::check_soap(&seed);
    }
    for seed in xml_seeds() {
        fuzz_checks::check_xml(&seed);
    }
    for seed in seeds("rest_response") {
        fuzz_checks::check_rest(&seed);
    }
    for seed in seeds("www_authenticate") {
        fuzz_checks::check_challenges(&seed);
    }
    for seed in seeds("ntlm_challenge") {
        fuzz_checks::check_ntlm_challenge(&seed);
    }
    for seed in seeds("file_name") {
        fuzz_checks::check_file_name(&seed);
    }
    for seed in seeds("address_list") {
        fuzz_checks::check_address_list(&seed);
    }
}
