// Graceful shutdown: SIGTERM with clients connected ends every session in a way
// stock clients understand (and reconnect after), and the process exits 0 in time.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { EXIT_TIMEOUT_MS, startServer } from '../lib/harness.mjs';
import {
  ClientPool, connectEngine, connectV2, connectV4, connectedV4, openV4, waitFor,
} from '../lib/clients.mjs';

// "io server disconnect" = the server sent a Socket.IO DISCONNECT (the client will NOT
// auto-reconnect); "transport close" = the Engine.IO session was closed (it will).
const ACCEPTED_REASONS = ['transport close', 'io server disconnect'];
const WAIT_MS = EXIT_TIMEOUT_MS + 2000;

describe('graceful shutdown on SIGTERM', () => {
  const pool = new ClientPool();
  let server;
  afterEach(async () => { pool.closeAll(); await server?.kill(); });

  it('with no clients: exits 0 within the grace period', async () => {
    server = await startServer({ name: '12-shutdown-idle' });
    const result = await server.stop({ requireZeroExit: true });
    assert.equal(result.code, 0);
  });

  it('with v4, v2 and raw engine.io clients on websocket and polling: all are disconnected, exit 0', async (t) => {
    server = await startServer({ name: '12-shutdown-busy' });
    const clients = [];
    for (const transport of ['websocket', 'polling']) {
      clients.push({ label: `v4 ${transport}`, ...(await connectV4(pool, server.url, { transports: [transport] })) });
      clients.push({ label: `v4 ${transport} /custom`, ...(await connectV4(pool, `${server.url}/custom`, { transports: [transport] })) });
      clients.push({ label: `v2 ${transport}`, ...(await connectV2(pool, server.url, { transports: [transport] })) });
    }
    const upgraded = openV4(pool, server.url, {});
    const upgradeDone = waitFor(upgraded.io.engine, 'upgrade', { what: 'upgrade before shutdown' });
    clients.push({ label: 'v4 upgraded', ...(await connectedV4(upgraded)) });
    await upgradeDone;
    const engines = [];
    for (const transport of ['websocket', 'polling']) {
      engines.push({ label: `engine.io ${transport}`, socket: await connectEngine(pool, server.url, { transports: [transport] }) });
    }

    const disconnects = clients.map(({ label, socket }) =>
      waitFor(socket, 'disconnect', { timeoutMs: WAIT_MS, what: `${label}: disconnect after SIGTERM` })
        .then(([reason]) => ({ label, reason })));
    const engineCloses = engines.map(({ label, socket }) =>
      waitFor(socket, 'close', { timeoutMs: WAIT_MS, what: `${label}: close after SIGTERM` })
        .then(([reason]) => ({ label, reason })));

    const result = await server.stop({ requireZeroExit: true });
    assert.equal(result.code, 0, 'exit code after SIGTERM');
    const reasons = await Promise.all(disconnects);
    const closes = await Promise.all(engineCloses);
    t.diagnostic(`exited after ${result.elapsedMs} ms; reasons: ${[...reasons, ...closes].map((r) => `${r.label}=${r.reason}`).join(', ')}`);
    for (const { label, reason } of reasons) {
      assert.ok(ACCEPTED_REASONS.includes(reason),
        `${label}: disconnect reason should be one of ${JSON.stringify(ACCEPTED_REASONS)}, got "${reason}"`);
    }
    for (const { label, reason } of closes) {
      assert.ok(['transport close', 'transport error'].includes(reason),
        `${label}: engine.io close reason should be "transport close" (or "transport error"), got "${reason}"`);
    }
  });

  for (const transport of ['websocket', 'polling']) {
    it(`${transport}: a client with reconnection enabled starts reconnecting after a drain-style close`, async () => {
      server = await startServer({ name: `12-shutdown-reconnect-${transport}` });
      const socket = openV4(pool, server.url, {
        transports: [transport], reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100, randomizationFactor: 0,
      });
      await connectedV4(socket);
      const disconnected = waitFor(socket, 'disconnect', { timeoutMs: WAIT_MS, what: 'disconnect after SIGTERM' });
      const reconnecting = waitFor(socket.io, 'reconnect_attempt', { timeoutMs: WAIT_MS, what: 'reconnect_attempt after SIGTERM' });
      reconnecting.catch(() => {});
      await server.stop({ requireZeroExit: true });
      const [reason] = await disconnected;
      assert.ok(ACCEPTED_REASONS.includes(reason), `disconnect reason should be one of ${JSON.stringify(ACCEPTED_REASONS)}, got "${reason}"`);
      if (reason === 'transport close') {
        // Only a transport-level close makes socket.io-client reconnect on its own; after
        // "io server disconnect" the application has to call connect() itself.
        await reconnecting;
      }
      socket.disconnect();
    });
  }
});
