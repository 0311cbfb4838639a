//! Unit tests: parser acceptance/rejection rules and small c14n cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

fn parse(s: &str) -> Result<Document, XmlDsigError> {
    Document::parse(s.as_bytes())
}

fn c14n(s: &str, alg: C14nAlgorithm) -> String {
    let doc = parse(s).unwrap();
    let out = canonicalize(&doc, doc.root_element().node_id(), &C14nParams::new(alg)).unwrap();
    String::from_utf8(out).unwrap()
}

macro_rules! rejects {
    ($input:expr, $pat:pat) => {{
        let r = Document::parse($input.as_ref());
        assert!(
            matches!(r, Err($pat)),
            "input {:?} gave {:?}",
            $input,
            r.map(|_| "Ok(document)")
        );
    }};
}

#[test]
fn accepts_bom_declaration_and_misc_outside_root() {
    let doc = Document::parse(b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>\n<!--c--><?pi x?>\n<r/>\n<!--after-->\n").unwrap();
    assert_eq!(doc.root_element().qualified_name(), "r");
}

#[test]
fn rejects_encodings_versions_and_bad_utf8() {
    rejects!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>",
        XmlDsigError::UnsupportedEncoding { .. }
    );
    rejects!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?><r/>",
        XmlDsigError::UnsupportedEncoding { .. }
    );
    rejects!(
        "<?xml version=\"1.1\"?><r/>",
        XmlDsigError::UnsupportedXmlVersion { .. }
    );
    rejects!(b"<r>\xC3\x28</r>", XmlDsigError::InvalidUtf8 { offset: 3 });
    rejects!(b"\xEF\xBB\xBF\xEF\xBB\xBF<r/>", XmlDsigError::Syntax { .. });
    rejects!(
        b"\xFF\xFE<\x00r\x00/\x00>\x00",
        XmlDsigError::InvalidUtf8 { offset: 0 }
    );
    rejects!(" <?xml version=\"1.0\"?><r/>", XmlDsigError::Syntax { .. });
    rejects!("<r/><?xml version=\"1.0\"?>", XmlDsigError::Syntax { .. });
    rejects!("<?XML version=\"1.0\"?><r/>", XmlDsigError::Syntax { .. });
}

#[test]
fn rejects_invalid_characters() {
    rejects!(
        "<r>\u{1}</r>",
        XmlDsigError::InvalidCharacter { code: 1, offset: 3 }
    );
    rejects!(
        "<r a=\"\u{b}\"/>",
        XmlDsigError::InvalidCharacter { code: 0xB, .. }
    );
    rejects!(
        "<r>&#0;</r>",
        XmlDsigError::InvalidCharacter { code: 0, .. }
    );
    rejects!(
        "<r>&#xFFFE;</r>",
        XmlDsigError::InvalidCharacter { code: 0xFFFE, .. }
    );
    rejects!(
        "<r>\u{FFFF}</r>",
        XmlDsigError::InvalidCharacter { code: 0xFFFF, .. }
    );
    rejects!("<r>&#xD800;</r>", XmlDsigError::InvalidCharacter { .. });
    rejects!("<r>&#X41;</r>", XmlDsigError::Syntax { .. });
    rejects!("<r>&#x110000;</r>", XmlDsigError::InvalidCharacter { .. });
    rejects!("<r>&#99999999999;</r>", XmlDsigError::Syntax { .. });
}

#[test]
fn rejects_doctype_and_entities() {
    rejects!(
        "<!DOCTYPE r><r/>",
        XmlDsigError::DoctypeForbidden { offset: 0 }
    );
    rejects!("<r>&nbsp;</r>", XmlDsigError::UndefinedEntity { .. });
    rejects!("<r a=\"&x;\"/>", XmlDsigError::UndefinedEntity { .. });
    rejects!("<r>a & b</r>", XmlDsigError::Syntax { .. });
    rejects!("<r a=\"a & b\"/>", XmlDsigError::Syntax { .. });
    rejects!("&amp;<r/>", XmlDsigError::ContentOutsideRoot { .. });
}

#[test]
fn rejects_structure_errors() {
    rejects!("<a><b></a></b>", XmlDsigError::MismatchedTag { .. });
    rejects!("<a><b>", XmlDsigError::UnclosedElement { .. });
    rejects!("<a/></a>", XmlDsigError::Syntax { .. });
    rejects!("<a/><b/>", XmlDsigError::MultipleRoots { .. });
    rejects!("<a/>text", XmlDsigError::ContentOutsideRoot { .. });
    rejects!("x<a/>", XmlDsigError::ContentOutsideRoot { .. });
    rejects!("<a/><![CDATA[x]]>", XmlDsigError::ContentOutsideRoot { .. });
    rejects!("", XmlDsigError::NoRootElement);
    rejects!("<!--only a comment-->", XmlDsigError::NoRootElement);
    rejects!("<a>]]></a>", XmlDsigError::Syntax { .. });
    rejects!("<a><!-- a -- b --></a>", XmlDsigError::Syntax { .. });
    rejects!("<a><!-- a ---></a>", XmlDsigError::Syntax { .. });
    rejects!("<1a/>", XmlDsigError::Syntax { .. });
    rejects!("<a:b:c xmlns:a=\"u\"/>", XmlDsigError::Syntax { .. });
    rejects!("<a b=\"<\"/>", XmlDsigError::Syntax { .. });
    rejects!("<a b/>", XmlDsigError::Syntax { .. });
    // The start tag's attribute list (split by xmldsig::tag, not by quick-xml).
    rejects!("<a b=\"1\"c=\"2\"/>", XmlDsigError::Syntax { .. });
    rejects!("<a b=1/>", XmlDsigError::Syntax { .. });
    rejects!("<a b=\"1'/>", XmlDsigError::Syntax { .. });
    rejects!("<a =\"1\"/>", XmlDsigError::Syntax { .. });
    rejects!("<a b:=\"1\"/>", XmlDsigError::Syntax { .. });
    rejects!(
        "<a xmlns:=\"u\"/>",
        XmlDsigError::InvalidNamespaceDeclaration { .. }
    );
    let doc = parse("<a\n b = '1\"'\tc=\"2'\"\r\n/>").unwrap();
    let attrs: Vec<_> = doc
        .root_element()
        .attributes()
        .map(|a| (a.local_name, a.value))
        .collect();
    assert_eq!(attrs, [("b", "1\""), ("c", "2'")]);
}

#[test]
fn rejects_namespace_errors() {
    rejects!("<p:a/>", XmlDsigError::UndeclaredPrefix { .. });
    rejects!("<a p:b=\"1\"/>", XmlDsigError::UndeclaredPrefix { .. });
    rejects!(
        "<a><p:b xmlns:p=\"u\"/><p:c/></a>",
        XmlDsigError::UndeclaredPrefix { .. }
    );
    rejects!(
        "<a xmlns:p=\"\"/>",
        XmlDsigError::InvalidNamespaceDeclaration { .. }
    );
    rejects!(
        "<a xmlns:xml=\"urn:other\"/>",
        XmlDsigError::InvalidNamespaceDeclaration { .. }
    );
    rejects!(
        "<a xmlns:p=\"http://www.w3.org/XML/1998/namespace\"/>",
        XmlDsigError::InvalidNamespaceDeclaration { .. }
    );
    rejects!(
        "<a xmlns:xmlns=\"urn:x\"/>",
        XmlDsigError::InvalidNamespaceDeclaration { .. }
    );
    rejects!(
        "<a xmlns=\"http://www.w3.org/2000/xmlns/\"/>",
        XmlDsigError::InvalidNamespaceDeclaration { .. }
    );
    rejects!(
        "<xmlns:a/>",
        XmlDsigError::InvalidNamespaceDeclaration { .. }
    );
    rejects!(
        "<a xmlns:p=\"u&quot;v\"/>",
        XmlDsigError::InvalidNamespaceDeclaration { .. }
    );
    // Binding xml to its own namespace is allowed.
    assert!(
        parse("<a xmlns:xml=\"http://www.w3.org/XML/1998/namespace\" xml:lang=\"en\"/>").is_ok()
    );
}

#[test]
fn rejects_duplicate_attributes_by_qname_and_expanded_name() {
    rejects!(
        "<a x=\"1\" x=\"2\"/>",
        XmlDsigError::DuplicateAttribute { .. }
    );
    rejects!(
        "<a xmlns:p=\"u\" xmlns:p=\"v\"/>",
        XmlDsigError::DuplicateAttribute { .. }
    );
    rejects!(
        "<a xmlns:p=\"u\" xmlns:q=\"u\" p:x=\"1\" q:x=\"2\"/>",
        XmlDsigError::DuplicateAttribute { .. }
    );
    assert!(parse("<a xmlns:p=\"u\" xmlns:q=\"v\" p:x=\"1\" q:x=\"2\" x=\"3\"/>").is_ok());
}

#[test]
fn enforces_limits() {
    let limits = ParseLimits {
        max_depth: 3,
        max_nodes: 10,
        max_attributes_per_element: 2,
    };
    assert!(Document::parse_with_limits(b"<a><b><c/></b></a>", &limits).is_ok());
    assert!(matches!(
        Document::parse_with_limits(b"<a><b><c><d/></c></b></a>", &limits),
        Err(XmlDsigError::DepthLimitExceeded { limit: 3, .. })
    ));
    assert!(matches!(
        Document::parse_with_limits(b"<a x=\"1\" y=\"2\" z=\"3\"/>", &limits),
        Err(XmlDsigError::AttributeLimitExceeded { limit: 2, .. })
    ));
    let many = format!("<a>{}</a>", "<b/>".repeat(20));
    assert!(matches!(
        Document::parse_with_limits(many.as_bytes(), &limits),
        Err(XmlDsigError::NodeLimitExceeded { limit: 10 })
    ));
    // Default depth limit: 256.
    let deep = format!("{}{}", "<a>".repeat(300), "</a>".repeat(300));
    assert!(matches!(
        parse(&deep),
        Err(XmlDsigError::DepthLimitExceeded { limit: 256, .. })
    ));
}

#[test]
fn decodes_text_and_attributes() {
    let doc = parse("<r a=\"x\ty\r\nz&#10;w&#9;&lt;&amp;&quot;&apos;\">l1\r\nl2\rl3&#13;<![CDATA[<&>\r\n]]>&#x1F600;</r>").unwrap();
    let r = doc.root_element();
    assert_eq!(r.attribute("a"), Some("x y z\nw\t<&\"'"));
    assert_eq!(r.text(), "l1\nl2\nl3\r<&>\n\u{1F600}");
    // CDATA, references and text are one text node.
    assert_eq!(r.children().count(), 1);
    assert_eq!(r.text_strict().unwrap(), "l1\nl2\nl3\r<&>\n\u{1F600}");
}

#[test]
fn text_concatenates_all_text_children() {
    let doc = parse("<r>ad<!--x-->min<?p?>@x<e>ignored</e>.test</r>").unwrap();
    let r = doc.root_element();
    assert_eq!(r.text(), "admin@x.test");
    assert!(matches!(
        r.text_strict(),
        Err(XmlDsigError::NotPlainText {
            found: "comment",
            ..
        })
    ));
    let doc = parse("<r>a<e/>b</r>").unwrap();
    assert!(matches!(
        doc.root_element().text_strict(),
        Err(XmlDsigError::NotPlainText {
            found: "child element",
            ..
        })
    ));
    let doc = parse("<r/>").unwrap();
    assert_eq!(doc.root_element().text(), "");
    assert_eq!(doc.root_element().text_strict().unwrap(), "");
}

#[test]
fn navigation_and_names() {
    let doc =
        parse("<p:r xmlns:p=\"urn:p\" xmlns=\"urn:d\" p:a=\"1\" b=\"2\"><c xmlns=\"\"/><d/></p:r>")
            .unwrap();
    let r = doc.root_element();
    assert_eq!(
        (r.prefix(), r.local_name(), r.namespace_uri()),
        (Some("p"), "r", Some("urn:p"))
    );
    assert_eq!(r.attribute_ns("urn:p", "a"), Some("1"));
    assert_eq!(r.attribute("a"), None);
    assert_eq!(r.attribute("b"), Some("2"));
    let decls: Vec<_> = r.namespace_declarations().collect();
    assert_eq!(decls, [(Some("p"), "urn:p"), (None, "urn:d")]);
    let kids: Vec<_> = r.child_elements().collect();
    assert_eq!(kids[0].namespace_uri(), None);
    assert!(kids[1].has_name("urn:d", "d"));
    assert_eq!(kids[1].parent().unwrap().node_id(), r.node_id());
    assert!(r.parent().is_none());
    assert!(doc.element(NodeId(9999)).is_none());
}

#[test]
fn c14n_small_cases() {
    assert_eq!(
        c14n(
            "<r b=\"2\" a=\"1\"><e/>t&amp;&gt;&#13;</r>",
            C14nAlgorithm::Inclusive
        ),
        "<r a=\"1\" b=\"2\"><e></e>t&amp;&gt;&#xD;</r>"
    );
    // Superfluous redeclaration dropped; xmlns="" only after a non-empty default.
    assert_eq!(
        c14n(
            "<r xmlns=\"u\"><a xmlns=\"u\"><b xmlns=\"\"><c xmlns=\"\"/></b></a></r>",
            C14nAlgorithm::Inclusive
        ),
        "<r xmlns=\"u\"><a><b xmlns=\"\"><c></c></b></a></r>"
    );
    assert_eq!(c14n("<r xmlns=\"\"/>", C14nAlgorithm::Exclusive), "<r></r>");
    // Exclusive drops unused declarations and pushes them down to their users.
    assert_eq!(
        c14n(
            "<r xmlns:p=\"u\" xmlns:q=\"v\"><p:a q:x=\"1\"/></r>",
            C14nAlgorithm::Exclusive
        ),
        "<r><p:a xmlns:p=\"u\" xmlns:q=\"v\" q:x=\"1\"></p:a></r>"
    );
    assert_eq!(
        c14n("<r><!--c--></r>", C14nAlgorithm::ExclusiveWithComments),
        "<r><!--c--></r>"
    );
    assert_eq!(c14n("<r><!--c--></r>", C14nAlgorithm::Exclusive), "<r></r>");
}

#[test]
fn c14n_excludes_one_subtree_and_refuses_non_elements() {
    let doc = parse("<r>a<s><t/></s>b</r>").unwrap();
    let r = doc.root_element();
    let s = r.child_elements().next().unwrap();
    let params = C14nParams {
        algorithm: C14nAlgorithm::Exclusive,
        inclusive_prefixes: &[],
        exclude: Some(s.node_id()),
    };
    assert_eq!(
        canonicalize(&doc, r.node_id(), &params).unwrap(),
        b"<r>ab</r>"
    );
    assert!(matches!(
        canonicalize(&doc, NodeId(1), &C14nParams::new(C14nAlgorithm::Inclusive)),
        Err(XmlDsigError::NotAnElement)
    ));
}

#[test]
fn algorithm_uris_round_trip() {
    for a in [
        C14nAlgorithm::Inclusive,
        C14nAlgorithm::InclusiveWithComments,
        C14nAlgorithm::Exclusive,
        C14nAlgorithm::ExclusiveWithComments,
    ] {
        assert_eq!(C14nAlgorithm::from_uri(a.uri()), Some(a));
    }
    for a in [
        SignatureAlgorithm::RsaSha1,
        SignatureAlgorithm::RsaSha256,
        SignatureAlgorithm::RsaSha384,
        SignatureAlgorithm::RsaSha512,
        SignatureAlgorithm::EcdsaSha256,
        SignatureAlgorithm::EcdsaSha384,
    ] {
        assert_eq!(SignatureAlgorithm::from_uri(a.uri()), Some(a));
    }
    for a in [
        DigestAlgorithm::Sha1,
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha512,
    ] {
        assert_eq!(DigestAlgorithm::from_uri(a.uri()), Some(a));
    }
    assert_eq!(
        C14nAlgorithm::from_uri("http://www.w3.org/2001/10/xml-exc-c14n"),
        None
    );
}

#[test]
fn error_categories() {
    assert_eq!(
        XmlDsigError::DoctypeForbidden { offset: 0 }.category(),
        ErrorCategory::Malformed
    );
    assert_eq!(
        XmlDsigError::ReferenceCount { count: 2 }.category(),
        ErrorCategory::InvalidSignature
    );
    assert_eq!(
        XmlDsigError::UnsupportedTransform {
            algorithm: String::new()
        }
        .category(),
        ErrorCategory::Unsupported
    );
    assert_eq!(
        XmlDsigError::DigestMismatch {
            reference: String::new(),
            algorithm: "SHA-256"
        }
        .category(),
        ErrorCategory::Untrusted
    );
    assert_eq!(
        XmlDsigError::NoTrustedKeys.category(),
        ErrorCategory::Configuration
    );
}

#[test]
fn count_elements_matches_namespace_and_local_name_at_any_depth() {
    let doc = parse(
        r#"<a:R xmlns:a="urn:a" xmlns:b="urn:b"><a:X/><b:X/><X/><a:Y><a:X><a:XX/></a:X></a:Y><c xmlns="urn:a"><X/></c></a:R>"#,
    )
    .unwrap();
    assert_eq!(doc.count_elements("urn:a", "X"), 3); // a:X, a:Y/a:X, c/X (default namespace)
    assert_eq!(doc.count_elements("urn:b", "X"), 1);
    assert_eq!(doc.count_elements("", "X"), 1);
    assert_eq!(doc.count_elements("urn:a", "XX"), 1);
    assert_eq!(doc.count_elements("urn:a", "R"), 1);
    assert_eq!(doc.count_elements("urn:a", "Z"), 0);
}
