//! Property tests: the parser never panics; canonicalization is idempotent.

use proptest::prelude::*;
use rambridge::xmldsig::fuzzing::fuzz_parse_and_verify;
use rambridge::xmldsig::{C14nAlgorithm, C14nParams, Document, canonicalize};

use super::common::*;

#[derive(Clone, Debug)]
enum Tree {
    Elem {
        prefix: u8,
        name: u8,
        decls: Vec<(u8, u8)>,
        attrs: Vec<(u8, u8, String)>,
        kids: Vec<Tree>,
    },
    Text(String),
    Comment(String),
    Pi(String),
}

const PREFIXES: [&str; 4] = ["", "p", "q", "xml"];
const NAMES: [&str; 3] = ["a", "b", "c"];

fn uri(prefix: u8, idx: u8) -> &'static str {
    match (prefix, idx % 3) {
        (0, 0) => "",
        (0, 1) => "urn:d1",
        (0, _) => "urn:d2",
        // p and q are never bound to the same URI, so attribute expanded
        // names stay unique whenever qualified names are.
        (1, i) => ["urn:p0", "urn:p1", "urn:p2"][i as usize],
        (_, i) => ["urn:q0", "urn:q1", "urn:q2"][i as usize],
    }
}

fn escape(s: &str, attr: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' if !attr => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' if attr => out.push_str("&#10;"),
            c => out.push(c),
        }
    }
    out
}

fn serialize(t: &Tree, root: bool, out: &mut String) {
    match t {
        Tree::Text(s) => out.push_str(&escape(s, false)),
        Tree::Comment(s) => out.push_str(&format!("<!--{s}-->")),
        Tree::Pi(s) => out.push_str(&format!("<?pi {s}?>")),
        Tree::Elem {
            prefix,
            name,
            decls,
            attrs,
            kids,
        } => {
            let prefix = PREFIXES[(*prefix % 3) as usize];
            let qname = if prefix.is_empty() {
                NAMES[*name as usize % 3].to_owned()
            } else {
                format!("{prefix}:{}", NAMES[*name as usize % 3])
            };
            out.push('<');
            out.push_str(&qname);
            let mut seen = Vec::new();
            if root {
                out.push_str(" xmlns:p=\"urn:p0\" xmlns:q=\"urn:q0\"");
                seen.extend([1u8, 2]);
            }
            for (p, u) in decls {
                let p = p % 3;
                if seen.contains(&p) {
                    continue;
                }
                seen.push(p);
                if p == 0 {
                    out.push_str(&format!(" xmlns=\"{}\"", uri(0, *u)));
                } else {
                    out.push_str(&format!(
                        " xmlns:{}=\"{}\"",
                        PREFIXES[p as usize],
                        uri(p, *u)
                    ));
                }
            }
            let mut seen_attrs = Vec::new();
            for (p, n, v) in attrs {
                let key = (p % 4, n % 3);
                if seen_attrs.contains(&key) {
                    continue;
                }
                seen_attrs.push(key);
                let p = PREFIXES[key.0 as usize];
                let n = NAMES[key.1 as usize];
                let q = if p.is_empty() {
                    n.to_owned()
                } else {
                    format!("{p}:{n}")
                };
                out.push_str(&format!(" {q}=\"{}\"", escape(v, true)));
            }
            out.push('>');
            for k in kids {
                serialize(k, false, out);
            }
            out.push_str(&format!("</{qname}>"));
        }
    }
}

fn text() -> impl Strategy<Value = String> {
    "[a-z &<>\"'\t\r\n\u{e9}\u{20ac}]{0,6}"
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        text().prop_map(Tree::Text),
        "[a-z ]{0,5}".prop_map(Tree::Comment),
        "[a-z =]{0,5}".prop_map(Tree::Pi),
    ];
    let elem_leaf = (any::<u8>(), any::<u8>()).prop_map(|(prefix, name)| Tree::Elem {
        prefix,
        name,
        decls: vec![],
        attrs: vec![],
        kids: vec![],
    });
    prop_oneof![leaf, elem_leaf].prop_recursive(4, 40, 5, |inner| {
        (
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec((any::<u8>(), any::<u8>()), 0..3),
            prop::collection::vec((any::<u8>(), any::<u8>(), text()), 0..4),
            prop::collection::vec(inner, 0..5),
        )
            .prop_map(|(prefix, name, decls, attrs, kids)| Tree::Elem {
                prefix,
                name,
                decls,
                attrs,
                kids,
            })
    })
}

fn root_tree() -> impl Strategy<Value = Tree> {
    (any::<u8>(), prop::collection::vec(tree(), 0..5)).prop_map(|(name, kids)| Tree::Elem {
        prefix: 0,
        name,
        decls: vec![],
        attrs: vec![(3, 0, "en".into())],
        kids,
    })
}

const ALGS: [C14nAlgorithm; 4] = [
    C14nAlgorithm::Inclusive,
    C14nAlgorithm::InclusiveWithComments,
    C14nAlgorithm::Exclusive,
    C14nAlgorithm::ExclusiveWithComments,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// c14n(parse(c14n(x))) == c14n(x) for the root and for a nested apex,
    /// every algorithm, with and without a PrefixList.
    #[test]
    fn c14n_is_idempotent(t in root_tree()) {
        let mut xml = String::new();
        serialize(&t, true, &mut xml);
        let doc = Document::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("generator made bad XML {xml:?}: {e}"));
        let root = doc.root_element();
        let nested = all_elements(&doc).into_iter().nth(1).unwrap_or(root);
        for alg in ALGS {
            for prefixes in [&[][..], &["#default", "q"][..]] {
                for apex in [root, nested] {
                    let params = C14nParams { algorithm: alg, inclusive_prefixes: prefixes, exclude: None };
                    let once = canonicalize(&doc, apex.node_id(), &params).unwrap();
                    let doc2 = Document::parse(&once).unwrap_or_else(|e| panic!("c14n output does not parse: {e}\n{}", show(&once)));
                    let twice = canonicalize(&doc2, doc2.root_element().node_id(), &params).unwrap();
                    prop_assert_eq!(show(&once), show(&twice), "alg {:?} prefixes {:?} input {}", alg, prefixes, xml);
                }
            }
        }
    }

    #[test]
    fn parser_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = Document::parse(&bytes);
    }

    #[test]
    fn parser_never_panics_on_token_soup(tokens in prop::collection::vec(prop_oneof![
        Just("<a>"), Just("</a>"), Just("<b x='1'/>"), Just("<p:c xmlns:p=\"u\">"), Just("</p:c>"),
        Just("&amp;"), Just("&#x10FFFF;"), Just("&#0;"), Just("&bogus;"), Just("<!--c-->"), Just("<?pi d?>"),
        Just("<![CDATA[x]]>"), Just("<!DOCTYPE a>"), Just("<?xml version=\"1.0\"?>"), Just("\u{feff}"),
        Just("text"), Just(" "), Just("\r\n"), Just("<"), Just(">"), Just("\""), Just("="), Just("&"),
    ], 0..40)) {
        let s: String = tokens.concat();
        let _ = Document::parse(s.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random byte edits of a signed fixture run through parse + c14n + verify
    /// (the fuzz entry point) without panicking.
    #[test]
    fn fuzz_entry_never_panics_on_mutated_fixture(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let mut xml = saml("response-assertion-signed.xml");
        for (i, b) in &edits {
            let at = i.index(xml.len());
            xml[at] = *b;
        }
        let _ = fuzz_parse_and_verify(&xml, &idp_keys());
    }
}

#[test]
fn fuzz_entry_verifies_the_unmodified_fixtures() {
    // Assertion (SHA-1 refused + allowed) = 2; both-signed adds the Response = 4.
    assert_eq!(
        fuzz_parse_and_verify(&saml("response-assertion-signed.xml"), &idp_keys()),
        2
    );
    assert_eq!(
        fuzz_parse_and_verify(&saml("response-both-signed.xml"), &idp_keys()),
        4
    );
    assert_eq!(fuzz_parse_and_verify(b"<not-closed", &idp_keys()), 0);
}
