// Binary arguments (Buffer, Uint8Array, nested, multiple attachments) in both
// directions, over websocket and over polling.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { itExitsCleanlyOnSigterm, startServer } from '../lib/harness.mjs';
import {
  ClientPool, assertSameArgs, binaryArgs, connectV4, echoRoundTrip, emitWithAckArgs, isBinary, toBuffer, waitFor,
  withTimeout,
} from '../lib/clients.mjs';

describe('socket.io-client 4, binary arguments', () => {
  const pool = new ClientPool();
  let server;
  before(async () => { server = await startServer({ name: '03-binary' }); });
  afterEach(() => pool.closeAll());
  after(async () => { pool.closeAll(); await server?.kill(); });

  for (const transport of ['websocket', 'polling']) {
    it(`${transport}: message-back returns Buffer/Uint8Array/nested binary unchanged`, async () => {
      const { socket } = await connectV4(pool, server.url, { transports: [transport] });
      const sent = binaryArgs();
      const back = await echoRoundTrip(socket, sent);
      assert.ok(isBinary(back[0]), `first message-back argument should be binary, got ${typeof back[0]}`);
      assert.ok(isBinary(back[3].nested), 'nested binary should stay binary');
      assertSameArgs(back, sent, `${transport} message-back with binary`);
    });

    it(`${transport}: ack returns binary arguments unchanged`, async () => {
      const { socket } = await connectV4(pool, server.url, { transports: [transport] });
      const sent = binaryArgs();
      const ack = await emitWithAckArgs(socket, 'message-with-ack', sent);
      assertSameArgs(ack, sent, `${transport} ack with binary`);
    });

    it(`${transport}: a single 256 KB binary argument and an empty one round trip`, async () => {
      const { socket } = await connectV4(pool, server.url, { transports: [transport] });
      const big = Buffer.alloc(256 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
      const back = await echoRoundTrip(socket, [big, Buffer.alloc(0)]);
      assert.equal(back.length, 2, 'two arguments expected back');
      assert.ok(toBuffer(back[0]).equals(big), '256 KB binary content should be identical');
      assert.equal(toBuffer(back[1]).length, 0, 'empty binary should come back empty');
    });

    it(`${transport}: interleaved binary and text messages keep their order`, async () => {
      const { socket } = await connectV4(pool, server.url, { transports: [transport] });
      const received = [];
      const done = new Promise((resolve) => socket.on('message-back', (...args) => {
        received.push(args);
        if (received.length === 30) resolve();
      }));
      const expected = [];
      for (let i = 0; i < 30; i++) {
        const args = i % 2 ? [i, Buffer.from([i, i + 1])] : [i, `text ${i}`];
        expected.push(args);
        socket.emit('message', ...args);
      }
      await withTimeout(done, 5000, () => `only ${received.length}/30 message-back events arrived within 5000 ms`);
      assertSameArgs(received, expected, `${transport} interleaved binary/text order`);
    });
  }

  it('binary sent over polling arrives after an upgrade to websocket as well', async () => {
    const { socket } = await connectV4(pool, server.url, {});
    const first = await echoRoundTrip(socket, [Buffer.from('before upgrade')]);
    assert.equal(toBuffer(first[0]).toString(), 'before upgrade');
    if (socket.io.engine.transport.name !== 'websocket') {
      await waitFor(socket.io.engine, 'upgrade', { what: 'engine "upgrade" to websocket' });
    }
    const second = await emitWithAckArgs(socket, 'message-with-ack', [Buffer.from('after upgrade'), 'x']);
    assertSameArgs(second, [Buffer.from('after upgrade'), 'x'], 'ack with binary after upgrade');
  });

  itExitsCleanlyOnSigterm(() => server);
});
