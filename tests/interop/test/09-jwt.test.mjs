// --auth jwt: HS256 tokens from the CONNECT auth payload, an Authorization: Bearer
// header, or a `token` query parameter; bad tokens get connect_error "unauthorized"
// with err.data.reason.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { itExitsCleanlyOnSigterm, startServer } from '../lib/harness.mjs';
import {
  ClientPool, connectV2, connectV4, emitWithAckArgs, echoRoundTrip, expectConnectErrorV4, openV2, waitFor,
} from '../lib/clients.mjs';
import { nowSeconds, signJwt } from '../lib/jwt.mjs';

const SECRET = 'interop-test-secret-0123456789';

const validToken = (extra = {}) => signJwt({ sub: 'user-42', iat: nowSeconds(), exp: nowSeconds() + 600, ...extra }, SECRET);

function assertUnauthorized(err, reasonPattern, what) {
  assert.equal(err.message, 'unauthorized', `${what}: connect_error message should be "unauthorized", got "${err.message}"`);
  assert.ok(err.data && typeof err.data === 'object', `${what}: connect_error should carry an object in err.data, got ${JSON.stringify(err.data)}`);
  assert.equal(typeof err.data.reason, 'string', `${what}: err.data.reason should be a string, got ${JSON.stringify(err.data)}`);
  assert.ok(err.data.reason.length > 0, `${what}: err.data.reason should not be empty`);
  if (reasonPattern) {
    assert.match(err.data.reason, reasonPattern, `${what}: err.data.reason "${err.data.reason}" should match ${reasonPattern}`);
  }
}

describe('--auth jwt', () => {
  const pool = new ClientPool();
  let server;
  before(async () => { server = await startServer({ name: '09-jwt', auth: 'jwt', jwtSecret: SECRET }); });
  afterEach(() => pool.closeAll());
  after(async () => { pool.closeAll(); await server?.kill(); });

  for (const transport of ['websocket', 'polling']) {
    const base = { transports: [transport] };

    it(`${transport}: valid token in the CONNECT auth payload is accepted`, async () => {
      const { socket } = await connectV4(pool, server.url, { ...base, auth: { token: validToken() } });
      assert.deepEqual(await emitWithAckArgs(socket, 'message-with-ack', ['authed']), ['authed']);
    });

    it(`${transport}: valid token in an Authorization: Bearer header is accepted`, async () => {
      const { socket } = await connectV4(pool, server.url, {
        ...base, extraHeaders: { Authorization: `Bearer ${validToken()}` },
      });
      assert.deepEqual(await echoRoundTrip(socket, ['header']), ['header']);
    });

    it(`${transport}: valid token in the "token" query parameter is accepted`, async () => {
      const { socket } = await connectV4(pool, server.url, { ...base, query: { token: validToken() } });
      assert.deepEqual(await echoRoundTrip(socket, ['query']), ['query']);
    });

    it(`${transport}: token signed with another secret -> unauthorized (invalid signature)`, async () => {
      const token = signJwt({ sub: 'mallory', exp: nowSeconds() + 600 }, 'not-the-secret');
      const err = await expectConnectErrorV4(pool, server.url, { ...base, auth: { token } });
      assertUnauthorized(err, /signature/i, 'bad signature');
    });

    it(`${transport}: expired token -> unauthorized (token expired)`, async () => {
      const token = validToken({ iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 });
      const err = await expectConnectErrorV4(pool, server.url, { ...base, auth: { token } });
      assertUnauthorized(err, /expir/i, 'expired token');
    });

    it(`${transport}: no token at all -> unauthorized (missing token)`, async () => {
      const err = await expectConnectErrorV4(pool, server.url, base);
      assertUnauthorized(err, /missing/i, 'missing token');
    });
  }

  it('a valid token with a "rooms" claim is accepted', async () => {
    const { socket } = await connectV4(pool, server.url, {
      transports: ['websocket'], auth: { token: validToken({ rooms: ['doc:1', 'sheet:2'] }) },
    });
    assert.deepEqual(await emitWithAckArgs(socket, 'message-with-ack', ['rooms']), ['rooms']);
  });

  it('the /custom namespace also requires a token', async () => {
    const err = await expectConnectErrorV4(pool, `${server.url}/custom`, { transports: ['websocket'] });
    assertUnauthorized(err, /missing/i, '/custom without a token');
    const { socket } = await connectV4(pool, `${server.url}/custom`, {
      transports: ['websocket'], auth: { token: validToken() },
    });
    assert.deepEqual(await emitWithAckArgs(socket, 'message-with-ack', ['custom']), ['custom']);
  });

  for (const transport of ['websocket', 'polling']) {
    it(`socket.io-client 2 over ${transport}: query token accepted; no token -> "error" event carrying err.data`, async () => {
      const { socket } = await connectV2(pool, server.url, { transports: [transport], query: { token: validToken() } });
      assert.deepEqual(await emitWithAckArgs(socket, 'message-with-ack', ['v2 authed']), ['v2 authed']);

      // For EIO3 clients socket.io sends CONNECT_ERROR with err.data (or err.message when
      // there is no data) as the payload, and socket.io-client 2 emits it as `error`.
      const rejected = openV2(pool, server.url, { transports: [transport] });
      const [err] = await waitFor(rejected, 'error', { what: 'v2 "error" event for a missing token' });
      assert.ok(err && typeof err === 'object', `v2 error payload should be the err.data object, got ${JSON.stringify(err)}`);
      assert.match(String(err.reason), /missing/i, `v2 error payload reason, got ${JSON.stringify(err)}`);
      assert.equal(rejected.connected, false);
    });
  }

  it('malformed tokens are rejected, never crash the server', async () => {
    const header = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url');
    const claims = Buffer.from(JSON.stringify({ sub: 'x', exp: nowSeconds() + 600 })).toString('base64url');
    const malformed = [
      'not-a-jwt',
      'a.b.c',
      `${header}.${claims}.`, // alg "none", no signature
      `${header}.${claims}`,
      '...',
      validToken().slice(0, -5), // truncated signature
      `${validToken()}.extra`,
      'Bearer ' + validToken(), // scheme inside the token itself
    ];
    for (const token of malformed) {
      const err = await expectConnectErrorV4(pool, server.url, { transports: ['websocket'], auth: { token } });
      assertUnauthorized(err, null, `malformed token ${JSON.stringify(token.slice(0, 40))}`);
    }
    const err = await expectConnectErrorV4(pool, server.url, {
      transports: ['polling'], extraHeaders: { Authorization: 'Basic dXNlcjpwYXNz' },
    });
    assertUnauthorized(err, null, 'Authorization header with a non-Bearer scheme');
    const { socket } = await connectV4(pool, server.url, { transports: ['websocket'], auth: { token: validToken() } });
    assert.deepEqual(await echoRoundTrip(socket, ['alive']), ['alive'], 'server still serves after malformed tokens');
  });

  itExitsCleanlyOnSigterm(() => server);
});
