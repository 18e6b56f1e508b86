// TLS listener (--tls-listen with a generated self-signed certificate): wss and
// https long-polling with socket.io-client 4, v2 and engine.io-client.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { httpGet, itExitsCleanlyOnSigterm, startServer } from '../lib/harness.mjs';
import {
  ClientPool, MIXED_ARGS, assertSameArgs, connectEngine, connectV2, connectV4, connectedV4, echoRoundTrip,
  emitWithAckArgs, openV4, waitFor,
} from '../lib/clients.mjs';
import { generateSelfSignedCert } from '../lib/tls.mjs';

describe('TLS listener', () => {
  const pool = new ClientPool();
  let server;
  let cert;
  before(async () => {
    cert = generateSelfSignedCert();
    server = await startServer({ name: '10-tls', tls: { cert: cert.cert, key: cert.key } });
  });
  afterEach(() => pool.closeAll());
  after(async () => {
    pool.closeAll();
    try { await server?.kill(); } finally { cert?.cleanup(); }
  });

  it('serves https and the metrics listener serves /healthz over plain http', async () => {
    assert.match(server.url, /^https:/);
    const health = await httpGet(`${server.metricsUrl}/healthz`);
    assert.equal(health.status, 200, '/healthz on --metrics-listen');
    const handshake = await httpGet(`${server.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(handshake.status, 200, 'Engine.IO handshake over https');
    assert.match(handshake.body, /^0\{/, 'open packet over https');
  });

  for (const transport of ['websocket', 'polling']) {
    it(`${transport} over TLS (rejectUnauthorized: false): message-back and ack`, async () => {
      const { socket } = await connectV4(pool, server.url, { transports: [transport], rejectUnauthorized: false });
      assert.equal(socket.io.engine.transport.name, transport);
      assertSameArgs(await echoRoundTrip(socket, MIXED_ARGS), MIXED_ARGS, `TLS ${transport} message-back`);
      assertSameArgs(await emitWithAckArgs(socket, 'message-with-ack', [Buffer.from([1, 2, 3]), 'tls']),
        [Buffer.from([1, 2, 3]), 'tls'], `TLS ${transport} binary ack`);
    });

    it(`${transport} over TLS verifying the certificate against its CA`, async () => {
      const { socket } = await connectV4(pool, `https://localhost:${server.port}`, {
        transports: [transport], rejectUnauthorized: true, ca: cert.ca,
      });
      assert.deepEqual(await echoRoundTrip(socket, ['verified']), ['verified']);
    });
  }

  it('https polling upgrades to wss', async () => {
    const socket = openV4(pool, server.url, { rejectUnauthorized: false });
    const upgraded = waitFor(socket.io.engine, 'upgrade', { what: 'upgrade to wss' });
    await connectedV4(socket);
    await upgraded;
    assert.equal(socket.io.engine.transport.name, 'websocket');
    assert.deepEqual(await emitWithAckArgs(socket, 'message-with-ack', ['after wss upgrade']), ['after wss upgrade']);
  });

  it('socket.io-client 2 over wss and https polling', async () => {
    for (const transport of ['websocket', 'polling']) {
      const { socket } = await connectV2(pool, server.url, { transports: [transport], rejectUnauthorized: false });
      assert.deepEqual(await emitWithAckArgs(socket, 'message-with-ack', [transport]), [transport], `v2 TLS ${transport}`);
    }
  });

  it('engine.io-client raw echo over wss', async () => {
    const socket = await connectEngine(pool, server.url, { transports: ['websocket'], rejectUnauthorized: false });
    const echoed = waitFor(socket, 'message', { what: 'raw echo over wss' });
    socket.send('tls echo');
    assert.deepEqual(await echoed, ['tls echo']);
  });

  it('a client that does not trust the certificate fails to connect (sanity check of the TLS setup)', async () => {
    const socket = openV4(pool, server.url, { transports: ['websocket'], rejectUnauthorized: true });
    const [err] = await waitFor(socket, 'connect_error', { what: 'connect_error for an untrusted certificate' });
    assert.ok(err, 'expected a connect_error');
    assert.equal(socket.connected, false);
  });

  itExitsCleanlyOnSigterm(() => server);
});
