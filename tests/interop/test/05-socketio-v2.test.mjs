// socket.io-client 2.x (Engine.IO protocol 3, Socket.IO protocol 4) against the
// server's EIO3 compatibility: websocket, polling (incl. EIO3 binary payloads),
// upgrade, acks, binary and a custom namespace.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { itExitsCleanlyOnSigterm, startServer } from '../lib/harness.mjs';
import {
  ClientPool, MIXED_ARGS, assertSameArgs, binaryArgs, connectV2, connectedV2, echoRoundTrip, emitWithAckArgs, isBinary,
  openV2, waitFor, withTimeout,
} from '../lib/clients.mjs';

describe('socket.io-client 2.x (EIO3)', () => {
  const pool = new ClientPool();
  let server;
  before(async () => { server = await startServer({ name: '05-v2' }); });
  afterEach(() => pool.closeAll());
  after(async () => { pool.closeAll(); await server?.kill(); });

  for (const transport of ['websocket', 'polling']) {
    const options = { transports: [transport] };

    it(`${transport}: connects to "/" and gets "auth" = {}`, async () => {
      const { socket, auth } = await connectV2(pool, server.url, options);
      assert.equal(socket.connected, true);
      assert.equal(socket.io.engine.transport.name, transport, 'transport in use');
      assert.deepEqual(auth, {}, 'v2 clients send no auth, the server should report {}');
    });

    it(`${transport}: message-back and ack with mixed (incl. non-BMP unicode) arguments`, async () => {
      const { socket } = await connectV2(pool, server.url, options);
      assertSameArgs(await echoRoundTrip(socket, MIXED_ARGS), MIXED_ARGS, 'v2 message-back');
      assertSameArgs(await emitWithAckArgs(socket, 'message-with-ack', MIXED_ARGS), MIXED_ARGS, 'v2 ack');
    });

    it(`${transport}: binary arguments both ways (message-back and ack)`, async () => {
      const { socket } = await connectV2(pool, server.url, options);
      const sent = binaryArgs();
      const back = await echoRoundTrip(socket, sent);
      assert.ok(isBinary(back[0]), 'v2 message-back binary argument should stay binary');
      assertSameArgs(back, sent, 'v2 message-back with binary');
      assertSameArgs(await emitWithAckArgs(socket, 'message-with-ack', sent), sent, 'v2 ack with binary');
    });

    it(`${transport}: 50 mixed text/binary messages come back in order`, async () => {
      const { socket } = await connectV2(pool, server.url, options);
      const received = [];
      const done = new Promise((resolve) => socket.on('message-back', (...args) => {
        received.push(args);
        if (received.length === 50) resolve();
      }));
      const expected = [];
      for (let i = 0; i < 50; i++) {
        const args = i % 3 === 0 ? [i, Buffer.from([i])] : [i, `é${i}😀`];
        expected.push(args);
        socket.emit('message', ...args);
      }
      await withTimeout(done, 5000, () => `only ${received.length}/50 v2 message-back events arrived`);
      assertSameArgs(received, expected, 'v2 message order');
    });

    it(`${transport}: /custom namespace works`, async () => {
      const { socket, auth } = await connectV2(pool, `${server.url}/custom`, options);
      assert.equal(socket.nsp, '/custom');
      assert.deepEqual(auth, {}, '"auth" event on /custom for a v2 client');
      assertSameArgs(await emitWithAckArgs(socket, 'message-with-ack', ['custom', 1]), ['custom', 1], 'v2 /custom ack');
      assertSameArgs(await echoRoundTrip(socket, ['custom', 2]), ['custom', 2], 'v2 /custom message-back');
    });

    it(`${transport}: unknown namespace is refused with "Invalid namespace"`, async () => {
      const socket = openV2(pool, `${server.url}/nope`, options);
      // socket.io-client 2 reports a refused namespace through the `error` event.
      const [err] = await waitFor(socket, 'error', { what: 'v2 "error" event for /nope' });
      const message = typeof err === 'string' ? err : err?.message;
      assert.equal(message, 'Invalid namespace', 'v2 error for an unknown namespace');
      assert.equal(socket.connected, false);
    });
  }

  it('polling -> websocket upgrade, then messages flow both ways', async () => {
    const socket = openV2(pool, server.url, {});
    const upgraded = waitFor(socket.io.engine, 'upgrade', { what: 'v2 engine "upgrade" event' });
    const { socket: connected } = await connectedV2(socket);
    await upgraded;
    assert.equal(connected.io.engine.transport.name, 'websocket', 'v2 transport after upgrade');
    assertSameArgs(await echoRoundTrip(socket, MIXED_ARGS), MIXED_ARGS, 'v2 message-back after upgrade');
    assertSameArgs(await emitWithAckArgs(socket, 'message-with-ack', [Buffer.from([7, 7])]), [Buffer.from([7, 7])],
      'v2 binary ack after upgrade');
  });

  it('query parameters reach the server without breaking the handshake', async () => {
    const { socket } = await connectV2(pool, server.url, { transports: ['polling'], query: { foo: 'bar baz', n: '1' } });
    assert.deepEqual(await emitWithAckArgs(socket, 'message-with-ack', ['q']), ['q']);
  });

  itExitsCleanlyOnSigterm(() => server);
});
