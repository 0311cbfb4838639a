// Peer: @node-saml/node-saml full service-provider validation (validatePostResponseAsync) of
// the shared SAML fixture, with the same certificate, audience and recipient rambridge checks.
// Prints one JSON line: {"peer": ..., "fixture": ..., "us_per_op": median, "ops": n}.
//
// node bench/peers/node_saml.js FIXTURE_DIR FIXTURE_STEM [SECONDS]
// (NODE_PATH points at the node_modules scripts/bench installed under target/.)
"use strict";
const fs = require("fs");
const path = require("path");
const { SAML } = require("@node-saml/node-saml");

const [dir, stem, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg || "3");
const b64 = fs.readFileSync(path.join(dir, `${stem}.b64`), "utf8").trim();
const xml = fs.readFileSync(path.join(dir, `${stem}.xml`), "utf8");
const cert = fs.readFileSync(path.join(dir, "idp-test-cert.pem"), "utf8");
const bothSigned = (xml.match(/<ds:Signature[\s>]/g) || []).length > 1;

const saml = new SAML({
  callbackUrl: "http://127.0.0.1:8080/saml-role/sso",
  issuer: "urn:alibaba:cloudcomputing",
  audience: "urn:alibaba:cloudcomputing",
  idpIssuer: "https://idp.example.test/saml/idp",
  idpCert: cert,
  wantAssertionsSigned: true,
  wantAuthnResponseSigned: bothSigned,
  validateInResponseTo: "never",
  // The fixtures' window is 2026-11-01 .. 2036-01-01 and the real clock lies inside it; the
  // same two-minute skew rambridge's benchmark uses.
  acceptedClockSkewMs: 120000,
});

async function once() {
  const { profile, loggedOut } = await saml.validatePostResponseAsync({ SAMLResponse: b64 });
  if (loggedOut || !profile || !profile.nameID) throw new Error("no profile");
  return profile;
}

async function negative() {
  // Tampered attribute value: must be refused, or the measurement means nothing.
  const bad = Buffer.from(
    Buffer.from(b64, "base64").toString("utf8").replace("rambridge-readonly", "rambridge-readonlx"),
  ).toString("base64");
  try {
    await saml.validatePostResponseAsync({ SAMLResponse: bad });
  } catch (_) {
    return;
  }
  throw new Error("node-saml accepted a tampered response");
}

async function main() {
  const p = await once();
  if (!p.attributes || !p.attributes["https://www.aliyun.com/SAML-Role/Attributes/Role"]) {
    throw new Error("Role attribute missing from the profile");
  }
  await negative();
  for (let i = 0; i < 20; i++) await once(); // warm-up
  const samples = [];
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  let ops = 0;
  while (process.hrtime.bigint() < deadline) {
    const batch = 10;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await once();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000 / batch);
    ops += batch;
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)];
  console.log(JSON.stringify({ peer: "node-saml", fixture: stem, us_per_op: median, ops }));
}

main().catch((e) => {
  console.error(`node-saml peer failed: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
