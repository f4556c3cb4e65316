// A real OAuth 2.1 authorization server for the auth tests (tests/it/oauth.rs): oidc-provider
// with resource indicators (RFC 8707), JWT access tokens (RFC 9068) for any resource, opaque
// tokens (for RFC 7662 introspection) for resources under `<issuer>/opaque`, the client
// credentials grant and authorization code + PKCE.
//
// It knows nothing of mcp-media: it only issues, introspects and revokes tokens.
//
//   node provider.mjs --port <n> --keys <file>
//
// Generates fresh signing keys at each start (an RSA key for RS256 and a P-256 key for ES256)
// and writes them, private parts included, to <file> (a JWKS plus DER and PEM forms), so tests can craft tokens with
// the provider's own keys. Key rotation: stop it and start again on the same port. Prints one
// JSON line `{"issuer": ..., "port": ...}` on stdout once listening; SIGTERM stops it.
// GET /admin/stats answers `{"jwks_hits": n, "introspection_hits": n}` (requests since start).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const port = Number(args.port ?? 0);
const keysFile = args.keys;
if (!keysFile) {
  console.error('usage: provider.mjs --port <n> --keys <file>');
  process.exit(2);
}

const der = {};
const publicPem = {};
function jwk(type, options, alg) {
  const { privateKey, publicKey } = generateKeyPairSync(type, options);
  const kid = `${alg}-${randomUUID()}`;
  der[kid] = privateKey.export({ format: 'der', type: type === 'rsa' ? 'pkcs1' : 'pkcs8' }).toString('base64');
  publicPem[kid] = publicKey.export({ format: 'pem', type: 'spki' });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}
const keys = [jwk('rsa', { modulusLength: 2048 }, 'RS256'), jwk('ec', { namedCurve: 'P-256' }, 'ES256')];
// The private keys three ways: JWKs (what the provider signs with), DER (PKCS#1 for RSA,
// PKCS#8 for EC: what jsonwebtoken's EncodingKey reads) and the public key's PEM (the bytes an
// HMAC-confusion attack uses as the secret).
writeFileSync(keysFile, JSON.stringify({ keys, der, public_pem: publicPem }));

const server = createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const actualPort = server.address().port;
const issuer = `http://127.0.0.1:${actualPort}`;
const opaquePrefix = `${issuer}/opaque`;
const SCOPE = 'media:read media:transform';

const provider = new Provider(issuer, {
  jwks: { keys },
  clients: [
    {
      // The MCP client: gets tokens.
      client_id: 'mcp-client',
      client_secret: 'mcp-client-secret',
      grant_types: ['client_credentials', 'authorization_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
      scope: SCOPE,
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      // An interactive client (the Inspector CLI): authorization code + PKCE to a loopback
      // callback on any port (a native client, RFC 8252 section 7.3).
      client_id: 'mcp-inspector',
      client_secret: 'mcp-inspector-secret',
      application_type: 'native',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/oauth/callback'],
      scope: SCOPE,
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      // The resource server (mcp-media): only introspects.
      client_id: 'mcp-server',
      client_secret: 'mcp-server-secret',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  scopes: ['openid', 'media:read', 'media:transform'],
  pkce: { required: () => true },
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => {
        // `?ttl=<seconds>` on a resource sets its tokens' lifetime (default 300 s).
        const ttl = Number(new URL(resource).searchParams.get('ttl') ?? 300);
        if (resource.startsWith(opaquePrefix)) {
          return { scope: SCOPE, audience: resource, accessTokenTTL: ttl, accessTokenFormat: 'opaque' };
        }
        const alg = new URL(resource).searchParams.get('alg') ?? 'RS256';
        return { scope: SCOPE, audience: resource, accessTokenTTL: ttl, accessTokenFormat: 'jwt', jwt: { sign: { alg } } };
      },
    },
  },
});

const stats = { jwks_hits: 0, introspection_hits: 0 };
provider.use(async (ctx, next) => {
  if (ctx.path === '/jwks') stats.jwks_hits += 1;
  if (ctx.path === '/token/introspection') stats.introspection_hits += 1;
  if (ctx.path === '/admin/stats') {
    ctx.body = stats;
    return;
  }
  await next();
});
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

server.on('request', provider.callback());
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => process.exit(0));
console.log(JSON.stringify({ issuer, port: actualPort }));
