"""Peer: python-xmlsec (libxmlsec1) verification of the Assertion signature of a shared SAML
fixture with the IdP certificate: parse + register the ID + verify, the same work as
rambridge's "xmldsig verify only" benchmark. Prints one JSON line with the median time.

python bench/peers/xmlsec_verify.py FIXTURE_DIR FIXTURE_STEM [SECONDS]
"""

import json
import sys
import time

import xmlsec
from lxml import etree

NS_A = "{urn:oasis:names:tc:SAML:2.0:assertion}"
NS_DS = "{http://www.w3.org/2000/09/xmldsig#}"


def main() -> None:
    directory, stem = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
    with open(f"{directory}/{stem}.xml", "rb") as f:
        data = f.read()
    key = xmlsec.Key.from_file(
        f"{directory}/idp-test-cert.pem", xmlsec.constants.KeyDataFormatCertPem
    )

    def once(doc: bytes) -> None:
        root = etree.fromstring(doc)
        assertion = root.find(NS_A + "Assertion")
        xmlsec.tree.add_ids(assertion, ["ID"])
        sig = assertion.find(NS_DS + "Signature")
        ctx = xmlsec.SignatureContext()
        ctx.key = key
        ctx.verify(sig)

    once(data)
    try:  # a tampered attribute value must fail, or the measurement means nothing
        once(data.replace(b"rambridge-readonly", b"rambridge-readonlx"))
    except xmlsec.Error:
        pass
    else:
        raise SystemExit("python-xmlsec accepted a tampered assertion")
    for _ in range(20):
        once(data)
    samples = []
    ops = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        batch = 20
        t0 = time.perf_counter()
        for _ in range(batch):
            once(data)
        samples.append((time.perf_counter() - t0) / batch * 1e6)
        ops += batch
    samples.sort()
    print(
        json.dumps(
            {
                "peer": "python-xmlsec",
                "fixture": stem,
                "us_per_op": samples[len(samples) // 2],
                "ops": ops,
                "libxmlsec1": ".".join(map(str, xmlsec.get_libxmlsec_version())),
            }
        )
    )


if __name__ == "__main__":
    main()
