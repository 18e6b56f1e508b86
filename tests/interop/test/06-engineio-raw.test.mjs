// Raw engine.io-client 6 (Engine.IO protocol 4, no Socket.IO layer) at /engine.io/:
// the conformance server echoes every message, text and binary.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { itExitsCleanlyOnSigterm, startServer } from '../lib/harness.mjs';
import { ClientPool, connectEngine, isBinary, toBuffer, waitFor, withTimeout } from '../lib/clients.mjs';

describe('engine.io-client 6, raw echo at /engine.io/', () => {
  const pool = new ClientPool();
  let server;
  before(async () => { server = await startServer({ name: '06-engineio' }); });
  afterEach(() => pool.closeAll());
  after(async () => { pool.closeAll(); await server?.kill(); });

  for (const transport of ['websocket', 'polling']) {
    const options = { transports: [transport] };

    it(`${transport}: handshake and text echo`, async () => {
      const socket = await connectEngine(pool, server.url, options);
      assert.equal(socket.transport.name, transport);
      assert.equal(typeof socket.id, 'string', 'engine sid');
      const echoed = waitFor(socket, 'message', { what: 'echo of a text message' });
      socket.send('hello ✓ 😀');
      const [data] = await echoed;
      assert.equal(data, 'hello ✓ 😀', 'text echo should be identical and still a string');
    });

    it(`${transport}: binary echo`, async () => {
      const socket = await connectEngine(pool, server.url, options);
      const payload = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x62, 0x34]); // includes bytes that look like "b4"
      const echoed = waitFor(socket, 'message', { what: 'echo of a binary message' });
      socket.send(payload);
      const [data] = await echoed;
      assert.ok(isBinary(data), `binary echo should be binary, got ${typeof data}`);
      assert.ok(toBuffer(data).equals(payload), 'binary echo content');
    });

    it(`${transport}: 100 text/binary messages echo back in order`, async () => {
      const socket = await connectEngine(pool, server.url, options);
      const received = [];
      const done = new Promise((resolve) => socket.on('message', (d) => {
        received.push(isBinary(d) ? `bin:${toBuffer(d).toString('hex')}` : `txt:${d}`);
        if (received.length === 100) resolve();
      }));
      const expected = [];
      for (let i = 0; i < 100; i++) {
        if (i % 2) { socket.send(Buffer.from([i])); expected.push(`bin:${Buffer.from([i]).toString('hex')}`); }
        else { socket.send(`m${i}`); expected.push(`txt:m${i}`); }
      }
      await withTimeout(done, 5000, () => `only ${received.length}/100 echoes arrived`);
      assert.deepEqual(received, expected, 'echo order');
    });

    it(`${transport}: a 300 KB text message and an empty message echo`, async () => {
      const socket = await connectEngine(pool, server.url, options);
      const big = 'x€'.repeat(150 * 1024);
      const got = [];
      const done = new Promise((resolve) => socket.on('message', (d) => { got.push(d); if (got.length === 2) resolve(); }));
      socket.send(big);
      socket.send('');
      await withTimeout(done, 5000, () => `only ${got.length}/2 echoes arrived`);
      assert.ok(got[0] === big, '300 KB echo should be identical');
      // engine.io-parser decodes the bare packet "4" as a message without data.
      assert.ok(got[1] === '' || got[1] === undefined, `empty message echo, got ${JSON.stringify(got[1])}`);
    });

    it(`${transport}: client close() is clean`, async () => {
      const socket = await connectEngine(pool, server.url, options);
      const closed = waitFor(socket, 'close', { what: 'engine close event' });
      socket.close();
      const [reason] = await closed;
      assert.equal(reason, 'forced close', 'engine.io-client reason for its own close()');
    });
  }

  it('default transports upgrade to websocket and keep echoing', async () => {
    const socket = await connectEngine(pool, server.url, {});
    if (socket.transport.name !== 'websocket') {
      await waitFor(socket, 'upgrade', { what: 'engine.io "upgrade" event' });
    }
    assert.equal(socket.transport.name, 'websocket');
    const echoed = waitFor(socket, 'message', { what: 'echo after upgrade' });
    socket.send('after upgrade');
    assert.deepEqual(await echoed, ['after upgrade']);
  });

  itExitsCleanlyOnSigterm(() => server);
});
