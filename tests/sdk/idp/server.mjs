// A live third-party SAML 2.0 IdP for rambridge's browser tests: samlify in IdP mode behind a
// small HTTP server on 127.0.0.1.
//
// Start: `node server.mjs` with one JSON object on stdin {privateKey, cert} (PEM); it listens on
// 127.0.0.1 (random port) and prints `listening on http://127.0.0.1:<port>` once ready. The
// entityID is `http://127.0.0.1:<port>/idp`.
//
// Routes:
//   GET  /metadata                 the IdP metadata (HTTP-Redirect SSO at /sso, signing cert,
//                                  WantAuthnRequestsSigned="true")
//   POST /admin/sp    {metadata}   registers a relying SP from its metadata XML
//   POST /admin/user  {username, nameID, attributes: [{name, values: [...]}]}
//   GET  /sso?SAMLRequest=..       SP-initiated sign-in (HTTP-Redirect): the AuthnRequest's
//                                  signature is verified against the SP's metadata by samlify;
//                                  then a login form
//   POST /login                    the login form: answers the AuthnRequest (InResponseTo)
//   GET  /idp-initiated?sp=<entityID>&user=<username>[&relay=..][&tamper=1]
//                                  an unsolicited response (tamper=1 alters the signed NameID
//                                  after signing)
// Responses go back through the HTTP-POST binding: a page whose form posts SAMLResponse and
// RelayState to the SP's ACS (submitted by script, with a button as fallback).

import http from 'node:http';
import samlify from 'samlify';
import * as xmllintValidator from '@authenio/samlify-node-xmllint';

samlify.setSchemaValidator(xmllintValidator);

const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const PASSWORD_PROTECTED = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
const UNSPECIFIED = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';

const RESPONSE_TEMPLATE = [
  '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"',
  ' xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0"',
  ' IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}">',
  '<saml:Issuer>{Issuer}</saml:Issuer>',
  '<samlp:Status><samlp:StatusCode Value="{StatusCode}"/></samlp:Status>',
  '<saml:Assertion ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}">',
  '<saml:Issuer>{Issuer}</saml:Issuer>',
  '<saml:Subject><saml:NameID Format="{NameIDFormat}">{NameID}</saml:NameID>',
  '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">',
  '<saml:SubjectConfirmationData NotOnOrAfter="{SubjectConfirmationDataNotOnOrAfter}"',
  ' Recipient="{SubjectRecipient}" InResponseTo="{InResponseTo}"/>',
  '</saml:SubjectConfirmation></saml:Subject>',
  '<saml:Conditions NotBefore="{ConditionsNotBefore}" NotOnOrAfter="{ConditionsNotOnOrAfter}">',
  '<saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction>',
  '</saml:Conditions>',
  '<saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{SessionIndex}">',
  '<saml:AuthnContext><saml:AuthnContextClassRef>{AuthnContextClassRef}</saml:AuthnContextClassRef>',
  '</saml:AuthnContext></saml:AuthnStatement>',
  '{AttributeStatement}',
  '</saml:Assertion></samlp:Response>',
].join('');

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  .replace(/"/g, '&quot;').replace(/'/g, '&#39;');

function attributeStatement(attributes) {
  if (!attributes || attributes.length === 0) return '';
  const attrs = attributes.map((a) => {
    const values = a.values.map((v) => `<saml:AttributeValue>${esc(v)}</saml:AttributeValue>`).join('');
    return `<saml:Attribute Name="${esc(a.name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">${values}</saml:Attribute>`;
  }).join('');
  return `<saml:AttributeStatement>${attrs}</saml:AttributeStatement>`;
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head>`
    + `<body><h1>${esc(title)}</h1>${body}</body></html>`;
}

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

  const sps = new Map(); // entityID -> samlify ServiceProvider
  const users = new Map(); // username -> {nameID, attributes}
  let idp = null;

  async function respond(res, sp, user, inResponseTo, relayState, tamper) {
    const acs = sp.entityMeta.getAssertionConsumerService('post');
    const now = new Date();
    const until = new Date(now.getTime() + 300 * 1000);
    const fill = (template) => {
      const id = idp.entitySetting.generateID();
      const assertionID = idp.entitySetting.generateID();
      const withAttributes = template.replace('{AttributeStatement}', attributeStatement(user.attributes));
      const values = {
        ID: id,
        AssertionID: assertionID,
        SessionIndex: assertionID,
        Destination: acs,
        Issuer: idp.entityMeta.getEntityID(),
        IssueInstant: now.toISOString(),
        StatusCode: samlify.Constants.StatusCode.Success,
        NameIDFormat: UNSPECIFIED,
        NameID: user.nameID,
        SubjectRecipient: acs,
        SubjectConfirmationDataNotOnOrAfter: until.toISOString(),
        ConditionsNotBefore: now.toISOString(),
        ConditionsNotOnOrAfter: until.toISOString(),
        Audience: sp.entityMeta.getEntityID(),
        AuthnContextClassRef: PASSWORD_PROTECTED,
        InResponseTo: inResponseTo,
      };
      return { id, context: samlify.SamlLib.replaceTagsByValue(withAttributes, values) };
    };
    const requestInfo = inResponseTo ? { extract: { request: { id: inResponseTo } } } : {};
    const { context } = await idp.createLoginResponse(sp, requestInfo, 'post', {}, { customTagReplacement: fill });
    let samlResponse = context;
    if (tamper) {
      // Change the signed NameID after signing: the signature no longer covers what is sent.
      const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
      const altered = xml.replace(`>${esc(user.nameID)}</saml:NameID>`, '>mallory-was-here</saml:NameID>');
      if (altered === xml) throw new Error('tamper: NameID not found in the response');
      samlResponse = Buffer.from(altered, 'utf8').toString('base64');
    }
    const relay = relayState ? `<input type="hidden" name="RelayState" value="${esc(relayState)}">` : '';
    send(res, 200, 'text/html; charset=utf-8', page('Signing you in',
      `<form method="post" action="${esc(acs)}" id="post-back">`
      + `<input type="hidden" name="SAMLResponse" value="${esc(samlResponse)}">${relay}`
      + '<button type="submit" id="continue">Continue</button></form>'
      + '<script>document.getElementById("post-back").submit();</script>'));
  }

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, `http://${req.headers.host}`);
      if (req.method === 'GET' && url.pathname === '/metadata') {
        return send(res, 200, 'application/samlmetadata+xml', idp.getMetadata());
      }
      if (req.method === 'POST' && url.pathname === '/admin/sp') {
        const { metadata } = JSON.parse(await readBody(req));
        const sp = samlify.ServiceProvider({ metadata });
        sps.set(sp.entityMeta.getEntityID(), sp);
        return send(res, 200, 'application/json', JSON.stringify({ entityID: sp.entityMeta.getEntityID() }));
      }
      if (req.method === 'POST' && url.pathname === '/admin/user') {
        const u = JSON.parse(await readBody(req));
        users.set(u.username, { nameID: u.nameID, attributes: u.attributes || [] });
        return send(res, 200, 'application/json', '{}');
      }
      if (req.method === 'GET' && url.pathname === '/sso') {
        const encoded = url.searchParams.get('SAMLRequest');
        if (!encoded) return send(res, 400, 'text/plain', 'SAMLRequest missing\n');
        const xml = samlify.Utility.inflateString(encoded);
        const issuer = (xml.match(/<saml:Issuer[^>]*>([^<]+)<\/saml:Issuer>/) || [])[1];
        const sp = sps.get(issuer);
        if (!sp) return send(res, 400, 'text/plain', `unknown SP ${issuer}\n`);
        // The signed octets are the query's own SAMLRequest, RelayState and SigAlg parameters
        // exactly as sent (SAML bindings 3.4.4.1).
        const raw = url.search.slice(1).split('&');
        const pick = (name) => raw.find((p) => p.startsWith(`${name}=`));
        const octetString = ['SAMLRequest', 'RelayState', 'SigAlg'].map(pick).filter(Boolean).join('&');
        const query = Object.fromEntries(url.searchParams.entries());
        let parsed;
        try {
          parsed = await idp.parseLoginRequest(sp, 'redirect', { query, octetString });
        } catch (err) {
          return send(res, 400, 'text/html; charset=utf-8', page('Request refused', `<p id="idp-error">${esc(err.message || err)}</p>`));
        }
        const id = parsed.extract.request.id;
        const relay = url.searchParams.get('RelayState') || '';
        return send(res, 200, 'text/html; charset=utf-8', page('Test IdP sign-in',
          `<p>Signing in to <code id="sp">${esc(issuer)}</code> (request <code>${esc(id)}</code>, signature ${parsed.sigAlg ? 'verified' : 'absent'}).</p>`
          + '<form method="post" action="/login">'
          + `<input type="hidden" name="request_id" value="${esc(id)}">`
          + `<input type="hidden" name="sp" value="${esc(issuer)}">`
          + `<input type="hidden" name="relay" value="${esc(relay)}">`
          + '<label for="username">Username</label> <input id="username" name="username">'
          + ' <button type="submit" id="idp-login">Log in</button></form>'));
      }
      if (req.method === 'POST' && url.pathname === '/login') {
        const form = new URLSearchParams(await readBody(req));
        const sp = sps.get(form.get('sp'));
        const user = users.get(form.get('username'));
        if (!sp || !user) return send(res, 400, 'text/html; charset=utf-8', page('Unknown user', '<p id="idp-error">unknown user or SP</p>'));
        return await respond(res, sp, user, form.get('request_id'), form.get('relay'), false);
      }
      if (req.method === 'GET' && url.pathname === '/idp-initiated') {
        const sp = sps.get(url.searchParams.get('sp'));
        const user = users.get(url.searchParams.get('user'));
        if (!sp || !user) return send(res, 400, 'text/plain', 'unknown user or SP\n');
        return await respond(res, sp, user, undefined, url.searchParams.get('relay'), url.searchParams.get('tamper') === '1');
      }
      return send(res, 404, 'text/plain', 'not found\n');
    } catch (err) {
      process.stderr.write(`server.mjs: ${err && err.stack ? err.stack : err}\n`);
      return send(res, 500, 'text/plain', `IdP error: ${err.message || err}\n`);
    }
  });

  server.listen(0, '127.0.0.1', () => {
    const base = `http://127.0.0.1:${server.address().port}`;
    idp = samlify.IdentityProvider({
      entityID: `${base}/idp`,
      signingCert: input.cert,
      privateKey: input.privateKey,
      requestSignatureAlgorithm: SHA256,
      wantAuthnRequestsSigned: true,
      isAssertionEncrypted: false,
      nameIDFormat: [UNSPECIFIED],
      singleSignOnService: [
        { Binding: REDIRECT, Location: `${base}/sso` },
        { Binding: POST, Location: `${base}/sso` },
      ],
      loginResponseTemplate: { context: RESPONSE_TEMPLATE },
    });
    process.stdout.write(`listening on ${base}\n`);
  });
}

main().catch((err) => {
  process.stderr.write(`server.mjs: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
