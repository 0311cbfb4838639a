// A real, certified OpenID Provider for tests/sdk/test_oidc.py: the npm `oidc-provider` package
// (pinned in package.json) over HTTPS on 127.0.0.1 with a random port.
//
// stdin: JSON {"cert": PEM path, "key": PEM path, "clients": [oidc-provider client metadata]},
// optionally "scopeClaims" ({scope: [claim names]}, replacing the default openid/email ones),
// "accountClaims" ({login: {claim: value}}, added to that account's claims) and
// "claimsInIdToken" (true: scope claims go into the ID token too, as browser sign-in through
// OIDC reads them there; tests/sdk/test_browser_oidc.py).
// stdout: one line {"issuer": "https://127.0.0.1:<port>"} once listening; then it serves until
// killed. Signing keys (RS256 and ES256) are generated at start; nothing is read from disk but
// the TLS certificate. Interactions are oidc-provider's development pages (any login, any
// password), driven over HTTP by the test.

import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';

import Provider from 'oidc-provider';

const input = JSON.parse(fs.readFileSync(0, 'utf8'));

function signingKey(options, kid, alg) {
  const { privateKey } = crypto.generateKeyPairSync(...options);
  return { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

const jwks = {
  keys: [
    signingKey(['rsa', { modulusLength: 2048 }], 'op-rs256', 'RS256'),
    signingKey(['ec', { namedCurve: 'P-256' }], 'op-es256', 'ES256'),
  ],
};

const server = https.createServer({
  cert: fs.readFileSync(input.cert),
  key: fs.readFileSync(input.key),
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `https://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: input.clients,
    jwks,
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    claims: input.scopeClaims ?? { openid: ['sub'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: !input.claimsInIdToken,
    async findAccount(ctx, id) {
      const extra = (input.accountClaims ?? {})[id] ?? {};
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: `${id}@example.test`, email_verified: true, ...extra };
        },
      };
    },
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
