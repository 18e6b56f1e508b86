// --max-payload: an oversized WebSocket message closes only that connection; an
// oversized polling POST gets HTTP 413 and ends only that session.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, afterEach, before, describe, it } from 'node:test';
import { isReference, itExitsCleanlyOnSigterm, startServer } from '../lib/harness.mjs';
import {
  ClientPool, connectV4, echoRoundTrip, emitWithAckArgs, sleep, waitFor,
} from '../lib/clients.mjs';

const MAX_PAYLOAD = 1000;

function rawRequest(url, { method = 'GET', body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

describe(`--max-payload ${MAX_PAYLOAD}`, () => {
  const pool = new ClientPool();
  let server;
  before(async () => { server = await startServer({ name: '07-max-payload', maxPayload: MAX_PAYLOAD }); });
  afterEach(() => pool.closeAll());
  after(async () => { pool.closeAll(); await server?.kill(); });

  it('the handshake announces maxPayload to EIO4 clients', async () => {
    const res = await rawRequest(`${server.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(res.status, 200);
    assert.match(res.body, /^0\{/, 'handshake body should be an open packet "0{...}"');
    const open = JSON.parse(res.body.slice(1));
    assert.equal(open.maxPayload, MAX_PAYLOAD, 'open packet maxPayload should equal --max-payload');
  });

  for (const transport of ['websocket', 'polling']) {
    it(`${transport}: messages under the limit pass, an oversized one disconnects only that client`, async () => {
      const { socket: victim } = await connectV4(pool, server.url, { transports: [transport] });
      const { socket: bystander } = await connectV4(pool, server.url, { transports: [transport] });

      const small = 'a'.repeat(MAX_PAYLOAD - 100);
      assert.deepEqual(await echoRoundTrip(victim, [small]), [small], 'a message under --max-payload should pass');

      const disconnected = waitFor(victim, 'disconnect', { what: `disconnect of the client that sent > ${MAX_PAYLOAD} bytes` });
      victim.emit('message', 'b'.repeat(MAX_PAYLOAD * 3));
      const [reason] = await disconnected;
      assert.ok(['transport close', 'transport error'].includes(reason),
        `oversized ${transport} message should end the transport ("transport close" or "transport error"), got "${reason}"`);
      assert.equal(victim.connected, false);

      await sleep(100);
      assert.equal(bystander.connected, true, 'the other client must stay connected');
      assert.deepEqual(await echoRoundTrip(bystander, ['still here']), ['still here'], 'the other client still gets echoes');
      assert.deepEqual(await emitWithAckArgs(bystander, 'message-with-ack', [1]), [1], 'the other client still gets acks');
    });
  }

  it('websocket: an oversized raw engine.io frame closes the connection', async () => {
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/engine.io/?EIO=4&transport=websocket`);
    pool.add(() => ws.terminate());
    const [openData] = await waitFor(ws, 'message', { what: 'engine.io open packet over raw websocket' });
    assert.match(openData.toString(), /^0\{/, 'first frame should be the open packet');
    const closed = waitFor(ws, 'close', { what: 'server closing the websocket after an oversized frame' });
    ws.send('4' + 'z'.repeat(MAX_PAYLOAD * 2));
    const [code] = await closed;
    // ws (used by engine.io) closes with 1009 "Message Too Big"; any close is acceptable here.
    assert.ok(typeof code === 'number', `expected a close, got ${code}`);
  });

  async function pollingSessionWithOversizedPost() {
    const handshake = await rawRequest(`${server.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(handshake.status, 200);
    const { sid } = JSON.parse(handshake.body.slice(1));
    const base = `${server.url}/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;

    const okPost = await rawRequest(base, { method: 'POST', body: '40', headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });
    assert.equal(okPost.status, 200, 'a small POST should be accepted');
    assert.equal(okPost.body, 'ok', 'a successful POST answers "ok"');

    const body = `42["message","${'c'.repeat(MAX_PAYLOAD * 2)}"]`;
    const big = await rawRequest(base, { method: 'POST', body, headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });
    assert.equal(big.status, 413, `POST of ${body.length} bytes over --max-payload ${MAX_PAYLOAD} should get 413, got ${big.status} ${big.body}`);
    return base;
  }

  it('polling: an oversized POST gets HTTP 413', async () => {
    await pollingSessionWithOversizedPost();
  });

  // engine.io 6 answers 413 but keeps the session until its ping timeout (the stock
  // client gives up on its side after the failed POST); the gateway closes it at once.
  it('polling: after a 413 the session is closed (its sid is unknown)',
    { skip: isReference() ? 'socket.io reference keeps the session after a 413' : false }, async () => {
      const base = await pollingSessionWithOversizedPost();
      const after413 = await rawRequest(base);
      assert.equal(after413.status, 400, `after a 413 the session should be gone (GET with the sid -> 400), got ${after413.status} ${after413.body}`);
    });

  itExitsCleanlyOnSigterm(() => server);
});
