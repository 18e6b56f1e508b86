// socket.io-client 4 over HTTP long-polling only, and the polling -> websocket upgrade.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { itExitsCleanlyOnSigterm, startServer } from '../lib/harness.mjs';
import {
  ClientPool, MIXED_ARGS, assertSameArgs, connectedV4, echoRoundTrip, emitWithAckArgs, openV4, sleep, waitFor,
} from '../lib/clients.mjs';
import { defineBasicV4Checks } from '../lib/suites.mjs';

describe('socket.io-client 4, polling only', () => {
  const pool = new ClientPool();
  let server;
  before(async () => { server = await startServer({ name: '02-v4-polling' }); });
  afterEach(() => pool.closeAll());
  after(async () => { pool.closeAll(); await server?.kill(); });

  defineBasicV4Checks(() => ({ server, pool }), { transports: ['polling'], expectedTransport: 'polling' });

  it('stays on polling for 1 s without being dropped (no upgrade offered to a polling-only client is used)', async () => {
    const socket = openV4(pool, server.url, { transports: ['polling'] });
    await connectedV4(socket);
    let disconnectReason = null;
    socket.on('disconnect', (reason) => { disconnectReason = reason; });
    await sleep(1000);
    assert.equal(disconnectReason, null, 'polling-only client should not be disconnected');
    assert.equal(socket.io.engine.transport.name, 'polling', 'transport should still be polling');
    const back = await echoRoundTrip(socket, ['still alive']);
    assert.deepEqual(back, ['still alive']);
  });

  itExitsCleanlyOnSigterm(() => server);
});

describe('socket.io-client 4, polling -> websocket upgrade (default transports)', () => {
  const pool = new ClientPool();
  let server;
  before(async () => { server = await startServer({ name: '02-v4-upgrade' }); });
  afterEach(() => pool.closeAll());
  after(async () => { pool.closeAll(); await server?.kill(); });

  async function connectAndAwaitUpgrade() {
    const socket = openV4(pool, server.url, {}); // default transports: polling first, then upgrade
    const engine = socket.io.engine;
    const upgraded = engine.transport?.name === 'websocket'
      ? Promise.resolve()
      : waitFor(engine, 'upgrade', { what: 'engine "upgrade" event (polling -> websocket)' });
    const connected = await connectedV4(socket);
    return { ...connected, upgraded };
  }

  it('starts on polling and upgrades to websocket', async () => {
    const { socket, upgraded } = await connectAndAwaitUpgrade();
    await upgraded;
    assert.equal(socket.io.engine.transport.name, 'websocket', 'transport after upgrade');
    assert.equal(socket.connected, true, 'socket should still be connected after the upgrade');
  });

  it('messages flow both ways after the upgrade', async () => {
    const { socket, upgraded } = await connectAndAwaitUpgrade();
    await upgraded;
    const back = await echoRoundTrip(socket, MIXED_ARGS);
    assertSameArgs(back, MIXED_ARGS, 'message-back after upgrade');
    const ack = await emitWithAckArgs(socket, 'message-with-ack', MIXED_ARGS);
    assertSameArgs(ack, MIXED_ARGS, 'ack after upgrade');
  });

  it('messages emitted during the upgrade are neither lost nor reordered', async () => {
    const socket = openV4(pool, server.url, {});
    const upgraded = waitFor(socket.io.engine, 'upgrade', { what: 'engine "upgrade" event' });
    const received = [];
    socket.on('message-back', (n) => received.push(n));
    await connectedV4(socket);
    // Emit a steady stream that straddles the upgrade.
    let sent = 0;
    const sender = setInterval(() => { if (sent < 60) socket.emit('message', sent++); }, 5);
    await upgraded;
    await new Promise((resolve) => { const t = setInterval(() => { if (sent >= 60) { clearInterval(t); resolve(); } }, 10); });
    clearInterval(sender);
    const deadline = Date.now() + 5000;
    while (received.length < 60 && Date.now() < deadline) await sleep(20);
    assert.deepEqual(received, Array.from({ length: 60 }, (_, i) => i),
      'all 60 messages sent across the upgrade should come back, in order');
    assert.equal(socket.io.engine.transport.name, 'websocket');
  });

  itExitsCleanlyOnSigterm(() => server);
});
