// A third-party SAML 2.0 IdP for rambridge's interoperability tests: samlify in IdP mode.
//
// Reads one JSON object on stdin:
//   privateKey, cert     PEM of the IdP signing key and its self-signed certificate
//   entityID             the IdP's entity ID (also the Issuer of its responses)
//   sp (optional)        the relying SP: {metadata: "<SP metadata XML>"} or {entityID, acs}
//   nameID               Subject NameID of the response
//   nameIDFormat         optional, defaults to persistent
//   attributes           [{name, value}] rendered into the AttributeStatement
//   validitySeconds      lifetime of Conditions and SubjectConfirmationData (default 300)
//   signatureAlgorithm   "rsa-sha256" (default) or "rsa-sha1"
// and prints {"metadata": "<IdP metadata XML>", "response": "<base64 SAMLResponse>"} (response
// only when sp is given): an unsolicited HTTP-POST login response whose Assertion samlify signs
// (the SP's WantAssertionsSigned, exc-c14n), built with createLoginResponse.

import samlify from 'samlify';
import * as xmllintValidator from '@authenio/samlify-node-xmllint';

// samlify insists on a schema validator before any flow; this one runs libxml2's xmllint
// (compiled to JS, no native build) against the SAML schemas.
samlify.setSchemaValidator(xmllintValidator);

const SIG = {
  'rsa-sha256': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'rsa-sha1': 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
};
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const PASSWORD_PROTECTED = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';

// The login-response template: samlify's placeholders plus an AuthnStatement (the Web SSO
// profile wants one in a bearer assertion); `{AttributeStatement}` is expanded by samlify from
// `loginResponseTemplate.attributes`. InResponseTo is left unset: the response is unsolicited.
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

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function buildServiceProvider(sp) {
  if (sp.metadata) return samlify.ServiceProvider({ metadata: sp.metadata });
  return samlify.ServiceProvider({
    entityID: sp.entityID,
    assertionConsumerService: [{ Binding: POST, Location: sp.acs }],
    wantAssertionsSigned: true,
    wantMessageSigned: false,
  });
}

async function main() {
  const input = await readStdin();
  const algorithm = SIG[input.signatureAlgorithm || 'rsa-sha256'];
  if (!algorithm) throw new Error(`unknown signatureAlgorithm ${input.signatureAlgorithm}`);
  const attributes = input.attributes || [];
  // One placeholder per attribute: samlify names it `attr` + camel-cased valueTag (attrA0, ...).
  const valueTags = attributes.map((_, i) => `a${i}`);

  const idp = samlify.IdentityProvider({
    entityID: input.entityID,
    signingCert: input.cert,
    privateKey: input.privateKey,
    requestSignatureAlgorithm: algorithm,
    isAssertionEncrypted: false,
    nameIDFormat: [input.nameIDFormat || PERSISTENT],
    singleSignOnService: [{ Binding: POST, Location: `${input.entityID}/sso` }],
    singleLogoutService: [{ Binding: POST, Location: `${input.entityID}/slo` }],
    loginResponseTemplate: {
      context: RESPONSE_TEMPLATE,
      attributes: attributes.map((a, i) => ({
        name: a.name,
        valueTag: valueTags[i],
        nameFormat: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
        valueXsiType: 'xs:string',
      })),
    },
  });
  const out = { metadata: idp.getMetadata() };

  if (input.sp) {
    const sp = buildServiceProvider(input.sp);
    const acs = sp.entityMeta.getAssertionConsumerService('post');
    const spEntityID = sp.entityMeta.getEntityID();
    const now = new Date();
    const until = new Date(now.getTime() + 1000 * (input.validitySeconds ?? 300));
    const fill = (template) => {
      const id = idp.entitySetting.generateID();
      const assertionID = idp.entitySetting.generateID();
      const values = {
        ID: id,
        AssertionID: assertionID,
        SessionIndex: assertionID,
        Destination: acs,
        Issuer: input.entityID,
        IssueInstant: now.toISOString(),
        StatusCode: samlify.Constants.StatusCode.Success,
        NameIDFormat: [].concat(idp.entitySetting.nameIDFormat)[0],
        NameID: input.nameID,
        SubjectRecipient: acs,
        SubjectConfirmationDataNotOnOrAfter: until.toISOString(),
        ConditionsNotBefore: now.toISOString(),
        ConditionsNotOnOrAfter: until.toISOString(),
        Audience: spEntityID,
        AuthnContextClassRef: PASSWORD_PROTECTED,
        InResponseTo: undefined,
      };
      attributes.forEach((a, i) => {
        values[`attr${valueTags[i].toUpperCase()}`] = a.value;
      });
      return { id, context: samlify.SamlLib.replaceTagsByValue(template, values) };
    };
    const { context } = await idp.createLoginResponse(sp, {}, 'post', {}, { customTagReplacement: fill });
    out.response = context;
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(`idp.mjs: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
