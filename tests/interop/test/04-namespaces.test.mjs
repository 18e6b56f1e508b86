// Namespaces: "/" and "/custom" exist in conformance mode; any other is refused.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { itExitsCleanlyOnSigterm, startServer } from '../lib/harness.mjs';
import {
  ClientPool, MIXED_ARGS, assertSameArgs, connectV4, connectedV4, echoRoundTrip, emitWithAckArgs,
  expectConnectErrorV4, openV4,
} from '../lib/clients.mjs';
import { io as ioV4 } from 'socket.io-client';

describe('socket.io-client 4, namespaces', () => {
  const pool = new ClientPool();
  let server;
  before(async () => { server = await startServer({ name: '04-namespaces' }); });
  afterEach(() => pool.closeAll());
  after(async () => { pool.closeAll(); await server?.kill(); });

  for (const transport of ['websocket', 'polling']) {
    it(`${transport}: /custom connects, echoes auth, message-back and ack work`, async () => {
      const { socket, auth } = await connectV4(pool, `${server.url}/custom`, { transports: [transport], auth: { ns: 'custom' } });
      assert.equal(socket.nsp, '/custom', 'socket namespace');
      assert.deepEqual(auth, { ns: 'custom' }, '"auth" event on /custom');
      assertSameArgs(await echoRoundTrip(socket, MIXED_ARGS), MIXED_ARGS, '/custom message-back');
      assertSameArgs(await emitWithAckArgs(socket, 'message-with-ack', MIXED_ARGS), MIXED_ARGS, '/custom ack');
    });

    it(`${transport}: /nope gets connect_error "Invalid namespace"`, async () => {
      const err = await expectConnectErrorV4(pool, `${server.url}/nope`, { transports: [transport] });
      assert.equal(err.message, 'Invalid namespace', 'connect_error message for an unknown namespace');
    });
  }

  it('"/" and "/custom" multiplexed over one connection (same Manager) both work', async () => {
    const manager = ioV4(server.url, { forceNew: true, reconnection: false, transports: ['websocket'] }).io;
    const root = manager.socket('/');
    const custom = manager.socket('/custom', { auth: { which: 'custom' } });
    pool.add(() => { root.disconnect(); custom.disconnect(); manager.engine?.close(); });
    root.connect();
    custom.connect();
    const [r, c] = await Promise.all([connectedV4(root, { label: '/' }), connectedV4(custom, { label: '/custom' })]);
    assert.deepEqual(c.auth, { which: 'custom' }, '/custom auth echo');
    assert.deepEqual(r.auth, {}, '/ auth echo');
    const [rootBack, customBack] = await Promise.all([
      echoRoundTrip(root, ['to root']),
      echoRoundTrip(custom, ['to custom']),
    ]);
    assert.deepEqual(rootBack, ['to root'], 'message-back on / must not leak into /custom');
    assert.deepEqual(customBack, ['to custom'], 'message-back on /custom must not leak into /');
    assert.equal(manager.engine.transport.name, 'websocket');
  });

  it('a refused namespace does not break the others on the same connection', async () => {
    const manager = ioV4(server.url, { forceNew: true, reconnection: false, transports: ['websocket'] }).io;
    const root = manager.socket('/');
    const bad = manager.socket('/nope');
    pool.add(() => { root.disconnect(); bad.disconnect(); manager.engine?.close(); });
    const badError = new Promise((resolve) => bad.once('connect_error', resolve));
    root.connect();
    bad.connect();
    await connectedV4(root, { label: '/' });
    const err = await badError;
    assert.equal(err.message, 'Invalid namespace');
    assert.deepEqual(await emitWithAckArgs(root, 'message-with-ack', ['still fine']), ['still fine'],
      '/ should keep working after /nope was refused on the same connection');
  });

  it('disconnecting /custom keeps / connected on a shared connection', async () => {
    const manager = ioV4(server.url, { forceNew: true, reconnection: false, transports: ['polling'] }).io;
    const root = manager.socket('/');
    const custom = manager.socket('/custom');
    pool.add(() => { root.disconnect(); custom.disconnect(); manager.engine?.close(); });
    root.connect();
    custom.connect();
    await Promise.all([connectedV4(root, { label: '/' }), connectedV4(custom, { label: '/custom' })]);
    custom.disconnect();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(root.connected, true, '/ should stay connected');
    assert.deepEqual(await echoRoundTrip(root, [1]), [1], '/ message-back after /custom left');
  });

  itExitsCleanlyOnSigterm(() => server);
});
