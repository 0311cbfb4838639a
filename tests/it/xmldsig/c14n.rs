//! Byte-exact canonicalization against golden files produced by libxml2.

use rambridge::xmldsig::{C14nAlgorithm, C14nParams, Document, canonicalize};

use super::common::*;

fn check(label: &str, got: &[u8], want: &[u8]) {
    if got != want {
        panic!(
            "{label}: canonical form differs\n--- got ---\n{}\n--- want ---\n{}",
            show(got),
            show(want)
        );
    }
}

/// The shared fixtures' golden exc-c14n outputs (reference with its Signature
/// removed and PrefixList="xs" applied; SignedInfo).
#[test]
fn shared_fixture_goldens_exc_c14n() {
    let dir = saml_fixtures_dir().join("c14n");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem_id) = name.strip_suffix(".ref.c14n.xml") else {
            continue;
        };
        let (stem, id) = stem_id.split_once('.').unwrap();
        let doc = Document::parse(&saml(&format!("{stem}.xml"))).unwrap();
        let el = by_attr(&doc, "ID", id);
        let sig = signature_of(el);
        let got = canonicalize(
            &doc,
            el.node_id(),
            &C14nParams {
                algorithm: C14nAlgorithm::Exclusive,
                inclusive_prefixes: &["xs"],
                exclude: Some(sig.node_id()),
            },
        )
        .unwrap();
        check(&name, &got, &std::fs::read(dir.join(&name)).unwrap());

        let si = signed_info_of(el);
        let got = canonicalize(
            &doc,
            si.node_id(),
            &C14nParams::new(C14nAlgorithm::Exclusive),
        )
        .unwrap();
        let si_name = format!("{stem}.{id}.signedinfo.c14n.xml");
        check(&si_name, &got, &std::fs::read(dir.join(&si_name)).unwrap());
        checked += 2;
    }
    assert_eq!(checked, 8, "expected 4 references + 4 SignedInfo goldens");
}

/// Locally generated goldens (xmlsec1 pre-digest / pre-sign buffers, see the
/// fixtures README): 3 documents x 6 algorithm variants, each checked for the
/// reference bytes and the SignedInfo bytes.
#[test]
fn generated_goldens_all_algorithms() {
    let cases = [
        ("nsxml", "b unused"),
        ("escaping", "#default"),
        ("exclusive", "b #default c"),
    ];
    let variants = [
        ("inc", C14nAlgorithm::Inclusive, false),
        ("inc-wc", C14nAlgorithm::InclusiveWithComments, false),
        ("exc", C14nAlgorithm::Exclusive, false),
        ("exc-wc", C14nAlgorithm::ExclusiveWithComments, false),
        ("exc-pl", C14nAlgorithm::Exclusive, true),
        ("exc-wc-pl", C14nAlgorithm::ExclusiveWithComments, true),
    ];
    let mut checked = 0;
    for (case, prefix_list) in cases {
        for (variant, alg, use_pl) in variants {
            let stem = format!("c14n-{case}-{variant}");
            let doc = Document::parse(&local(&format!("{stem}.signed.xml"))).unwrap();
            let el = by_attr(&doc, "ID", "target");
            let sig = signature_of(el);
            let prefixes: Vec<&str> = if use_pl {
                prefix_list.split_ascii_whitespace().collect()
            } else {
                vec![]
            };
            let params = C14nParams {
                algorithm: alg,
                inclusive_prefixes: &prefixes,
                exclude: Some(sig.node_id()),
            };
            let got = canonicalize(&doc, el.node_id(), &params).unwrap();
            check(&stem, &got, &local(&format!("{stem}.ref.c14n.xml")));

            let si = signed_info_of(el);
            let params = C14nParams {
                exclude: None,
                ..params
            };
            let got = canonicalize(&doc, si.node_id(), &params).unwrap();
            check(
                &format!("{stem} SignedInfo"),
                &got,
                &local(&format!("{stem}.signedinfo.c14n.xml")),
            );
            checked += 2;
        }
    }
    assert_eq!(checked, 36);
}

/// Differential corpus: 150 seeded random documents (namespace redeclarations,
/// `xmlns=""`, xml:* attributes, CDATA, references, CR/CRLF, comments, PIs)
/// canonicalized by libxml2 through lxml with five algorithm settings.
#[test]
fn random_documents_match_libxml2() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let corpus = local_str("c14n-random-lxml.txt");
    let settings: [(C14nAlgorithm, &[&str]); 5] = [
        (C14nAlgorithm::Inclusive, &[]),
        (C14nAlgorithm::InclusiveWithComments, &[]),
        (C14nAlgorithm::Exclusive, &[]),
        (C14nAlgorithm::ExclusiveWithComments, &[]),
        (C14nAlgorithm::Exclusive, &["p", "q"]),
    ];
    let mut compared = 0;
    for (n, line) in corpus.lines().enumerate() {
        let fields: Vec<Vec<u8>> = line.split(' ').map(|f| b64.decode(f).unwrap()).collect();
        assert_eq!(fields.len(), 6, "record {n}");
        let doc = Document::parse(&fields[0])
            .unwrap_or_else(|e| panic!("record {n}: {e}\n{}", show(&fields[0])));
        for ((alg, prefixes), want) in settings.iter().zip(&fields[1..]) {
            let params = C14nParams {
                algorithm: *alg,
                inclusive_prefixes: prefixes,
                exclude: None,
            };
            let got = canonicalize(&doc, doc.root_element().node_id(), &params).unwrap();
            check(
                &format!(
                    "record {n} {alg:?} {prefixes:?}\ninput: {}",
                    show(&fields[0])
                ),
                &got,
                want,
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 750);
}
