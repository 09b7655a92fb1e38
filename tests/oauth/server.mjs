// An OAuth 2 server nobody here wrote (npm oidc-provider), dressed in Entra ID's
// paths, for ews-photo's tests. Loopback only, TLS only, in memory.
//
//   POST /{TENANT}/oauth2/v2.0/token          token endpoint (client credentials,
//                                              device code, refresh token)
//   POST /{TENANT}/oauth2/v2.0/devicecode     device authorization (RFC 8628)
//   GET  /{TENANT}/v2.0/.well-known/openid-configuration   discovery
//   GET  /{TENANT}/discovery/v2.0/keys         the keys access tokens are signed with
//   POST /test/device?user_code=..&action=approve|deny   test-only: what a user does
//                                              in the browser form
//   GET  /test/requests                        test-only: {"token": n, "devicecode": n},
//                                              the requests each endpoint received
//
// Access tokens are JWTs (RFC 9068, `typ: at+jwt`), signed RS256 with the key
// published at /discovery/v2.0/keys, `aud` = the resource named in the scope
// (`https://outlook.office365.com/.default` -> `https://outlook.office365.com`),
// as Entra issues them and as Exchange checks them: a stand-in for a resource
// server verifies signature, `iss`, `aud` and `exp` locally. The signed-in
// user of the device flow is alice@contoso.com: `sub` of her tokens, and
// `preferred_username` of her ID token (scope `openid profile`), as in Entra.
//
// Environment:
//   TLS_CERT, TLS_KEY     PEM files for the server's TLS (required)
//   CLIENT_CERT           PEM certificate of the certificate client (required)
//   CLIENT_SECRET         the secret client's secret (required)
//   TENANT                default contoso.onmicrosoft.com
//   ACCESS_TOKEN_TTL      seconds, default 3600
//   DEVICE_CODE_TTL       seconds, default 600
//
// Clients (ids fixed so that tests can name them):
//   11111111-2222-3333-4444-555555555555  confidential, client_secret_post
//   22222222-3333-4444-5555-666666666666  confidential, private_key_jwt with CLIENT_CERT;
//                                         the assertion's x5t#S256 (or x5t) header must
//                                         name that certificate, as Entra requires
//   33333333-4444-5555-6666-777777777777  public: device code + refresh token
//
// Prints "PORT n" on stdout once it listens on 127.0.0.1 (port 0: the system picks).

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';

import Provider, { errors } from 'oidc-provider';

const env = (name, fallback) => {
  const value = process.env[name];
  if (value === undefined || value === '') {
    if (fallback === undefined) {
      console.error(`server.mjs: ${name} must be set`);
      process.exit(2);
    }
    return fallback;
  }
  return value;
};
const seconds = (name, fallback) => {
  const value = Number.parseInt(env(name, String(fallback)), 10);
  if (!(value > 0)) {
    console.error(`server.mjs: ${name} must be a positive number of seconds`);
    process.exit(2);
  }
  return value;
};

const TENANT = env('TENANT', 'contoso.onmicrosoft.com');
const ACCESS_TOKEN_TTL = seconds('ACCESS_TOKEN_TTL', 3600);
const DEVICE_CODE_TTL = seconds('DEVICE_CODE_TTL', 600);
const CLIENT_SECRET = env('CLIENT_SECRET');
const tls = { cert: fs.readFileSync(env('TLS_CERT')), key: fs.readFileSync(env('TLS_KEY')) };
const clientCert = new crypto.X509Certificate(fs.readFileSync(env('CLIENT_CERT')));

const SECRET_CLIENT = '11111111-2222-3333-4444-555555555555';
const CERT_CLIENT = '22222222-3333-4444-5555-666666666666';
const PUBLIC_CLIENT = '33333333-4444-5555-6666-777777777777';
const SIGNED_IN_USER = 'alice@contoso.com';
const OIDC_SCOPES = new Set(['openid', 'offline_access', 'profile', 'email']);

// Resources and the scopes each accepts, named as Entra names them.
// `https://127.0.0.1` is the resource ews-photo derives from a loopback EWS URL,
// as it derives https://mail.contoso.com for an on-premises server (Hybrid
// Modern Auth).
const RESOURCES = {
  'https://outlook.office365.com': ['.default', 'EWS.AccessAsUser.All'],
  'https://graph.microsoft.com': ['.default', 'User.Read.All', 'ProfilePhoto.Read.All'],
  'https://127.0.0.1': ['.default', 'EWS.AccessAsUser.All'],
};
const requests = { token: 0, devicecode: 0 };

// Entra puts the resource in the scope (`{resource}/{permission}`), not in a
// `resource` parameter (RFC 8707): derive it from the first non-OIDC scope.
function resourceOfScope(scope) {
  for (const item of (scope || '').split(' ')) {
    if (!item || OIDC_SCOPES.has(item)) continue;
    const slash = item.lastIndexOf('/');
    if (slash > 0 && RESOURCES[item.slice(0, slash)]) return item.slice(0, slash);
  }
  return undefined;
}

const b64url = (buffer) => buffer.toString('base64url');
const thumbprints = {
  'x5t#S256': b64url(crypto.createHash('sha256').update(clientCert.raw).digest()),
  x5t: b64url(crypto.createHash('sha1').update(clientCert.raw).digest()),
};

// A fixed test key (fixtures/make.sh says why it is not generated here).
const signingKey = crypto.createPrivateKey(
  fs.readFileSync(new URL('./fixtures/signing-key.pem', import.meta.url)),
);

const listener = https.createServer(tls);
listener.listen(0, '127.0.0.1', () => {
  const { port } = listener.address();
  const issuer = `https://127.0.0.1:${port}/${TENANT}/v2.0`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: SECRET_CLIENT,
        client_secret: CLIENT_SECRET,
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: CERT_CLIENT,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [clientCert.publicKey.export({ format: 'jwk' })] },
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: PUBLIC_CLIENT,
        token_endpoint_auth_method: 'none',
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    jwks: { keys: [{ ...signingKey.export({ format: 'jwk' }), kid: 'test-signing-key', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    scopes: [...OIDC_SCOPES],
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email'] },
    // The ID token of a token-endpoint answer carries the scopes' claims, as Entra's does.
    conformIdTokenClaims: false,
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, preferred_username: sub, email: sub, name: 'Alice' };
        },
      };
    },
    routes: {
      token: '/oauth2/v2.0/token',
      device_authorization: '/oauth2/v2.0/devicecode',
      code_verification: '/oauth2/v2.0/deviceauth',
      jwks: '/discovery/v2.0/keys',
    },
    features: {
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx) => resourceOfScope(ctx.oidc.params.scope),
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          const permissions = RESOURCES[resource];
          if (!permissions) throw new errors.InvalidTarget(`unknown resource ${resource}`);
          return {
            scope: permissions.map((p) => `${resource}/${p}`).join(' '),
            audience: resource,
            accessTokenTTL: ACCESS_TOKEN_TTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL,
      ClientCredentials: ACCESS_TOKEN_TTL,
      DeviceCode: DEVICE_CODE_TTL,
      RefreshToken: 24 * 60 * 60,
      Grant: 24 * 60 * 60,
      IdToken: ACCESS_TOKEN_TTL,
    },
    expiresWithSession: () => false,
    // oidc-provider checks the signature, iss, aud, exp and single-use jti.
    // Entra also finds the key by the certificate thumbprint in the header
    // (AADSTS700027 when it names no registered certificate) and wants sub = iss.
    async assertJwtClientAuthClaimsAndHeader(ctx, claims, header, client) {
      if (client.clientAuthMethod !== 'private_key_jwt') return;
      const named = header['x5t#S256'] !== undefined ? 'x5t#S256' : 'x5t';
      const given = header[named];
      // MSAL Python pads the thumbprint ("...="), RFC 7515 does not; Entra takes both.
      if (typeof given !== 'string' || given.replace(/=+$/, '') !== thumbprints[named]) {
        throw new errors.InvalidClientAuth(`the assertion's ${named} header names no registered certificate`);
      }
      if (claims.sub !== client.clientId) {
        throw new errors.InvalidClientAuth('sub must be the client_id');
      }
    },
  });

  const app = provider.callback();
  const prefix = `/${TENANT}`;
  listener.on('request', async (req, res) => {
    const url = new URL(req.url, issuer);
    if (url.pathname === `${prefix}/oauth2/v2.0/token`) requests.token += 1;
    if (url.pathname === `${prefix}/oauth2/v2.0/devicecode`) requests.devicecode += 1;
    if (url.pathname === '/test/requests' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(requests));
      return;
    }
    if (url.pathname === '/test/device' && req.method === 'POST') {
      await decide(provider, url.searchParams, res);
      return;
    }
    if (url.pathname === `${prefix}/v2.0/.well-known/openid-configuration`) {
      req.originalUrl = `${prefix}/.well-known/openid-configuration`;
      req.url = '/.well-known/openid-configuration';
      app(req, res);
      return;
    }
    if (url.pathname.startsWith(`${prefix}/`)) {
      // oidc-provider takes the mount path from originalUrl minus url, and
      // builds its endpoint URLs (and so the accepted assertion `aud`) with it.
      req.originalUrl = req.url;
      req.url = req.url.slice(prefix.length);
      app(req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not_found', error_description: `no such path: ${url.pathname}` }));
  });
  console.log(`PORT ${port}`);
});

// What the user's browser form would do: approve or decline a user_code.
async function decide(provider, params, res) {
  const answer = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const userCode = (params.get('user_code') || '').toUpperCase().replace(/\W/g, '');
  const action = params.get('action') || 'approve';
  const code = await provider.DeviceCode.findByUserCode(userCode, { ignoreExpiration: true });
  if (!code) return answer(404, { error: 'unknown user_code' });
  if (code.error || code.accountId) return answer(409, { error: 'user_code already used' });
  if (action === 'deny') {
    code.error = 'access_denied';
    code.errorDescription = 'user declined';
  } else if (action === 'approve') {
    const requested = (code.params.scope || '').split(' ').filter(Boolean);
    const resource = resourceOfScope(code.params.scope);
    const grant = new provider.Grant({ accountId: SIGNED_IN_USER, clientId: code.clientId });
    grant.addOIDCScope(requested.filter((s) => OIDC_SCOPES.has(s)).join(' '));
    if (resource) {
      grant.addResourceScope(resource, requested.filter((s) => s.startsWith(`${resource}/`)).join(' '));
    }
    Object.assign(code, {
      accountId: SIGNED_IN_USER,
      authTime: Math.floor(Date.now() / 1000),
      grantId: await grant.save(),
      scope: requested.join(' '),
      resource,
    });
  } else {
    return answer(400, { error: 'action must be approve or deny' });
  }
  await code.save();
  return answer(200, { done: action });
}
