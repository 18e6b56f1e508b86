// Heartbeats with short intervals: healthy stock clients stay connected through
// many ping periods; a client that stops answering is dropped by the server.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, afterEach, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { itExitsCleanlyOnSigterm, startServer } from '../lib/harness.mjs';
import {
  ClientPool, connectV2, connectV4, echoRoundTrip, emitWithAckArgs, sleep, waitFor,
} from '../lib/clients.mjs';

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const OBSERVE_MS = 2000;

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

describe(`heartbeat --ping-interval ${PING_INTERVAL} --ping-timeout ${PING_TIMEOUT}`, () => {
  const pool = new ClientPool();
  let server;
  before(async () => {
    server = await startServer({ name: '11-heartbeat', pingInterval: PING_INTERVAL, pingTimeout: PING_TIMEOUT });
  });
  afterEach(() => pool.closeAll());
  after(async () => { pool.closeAll(); await server?.kill(); });

  for (const transport of ['websocket', 'polling']) {
    it(`socket.io-client 4 over ${transport} stays connected for ${OBSERVE_MS} ms and is pinged`, async () => {
      const { socket } = await connectV4(pool, server.url, { transports: [transport] });
      let pings = 0;
      socket.io.engine.on('ping', () => { pings++; });
      let disconnectReason = null;
      socket.on('disconnect', (reason) => { disconnectReason = reason; });
      await sleep(OBSERVE_MS);
      assert.equal(disconnectReason, null, `no disconnect expected during ${OBSERVE_MS} ms, got "${disconnectReason}"`);
      // With a 300 ms base interval at least a few pings must arrive in 2 s, even if the
      // server lengthens the interval for healthy connections.
      assert.ok(pings >= 2, `expected at least 2 server pings in ${OBSERVE_MS} ms, got ${pings}`);
      assert.deepEqual(await emitWithAckArgs(socket, 'message-with-ack', ['alive']), ['alive']);
    });

    it(`socket.io-client 2 (EIO3, client-initiated pings) over ${transport} stays connected for ${OBSERVE_MS} ms`, async () => {
      const { socket } = await connectV2(pool, server.url, { transports: [transport] });
      let pongs = 0;
      socket.io.engine.on('pong', () => { pongs++; });
      let disconnectReason = null;
      socket.on('disconnect', (reason) => { disconnectReason = reason; });
      await sleep(OBSERVE_MS);
      assert.equal(disconnectReason, null, `no disconnect expected during ${OBSERVE_MS} ms, got "${disconnectReason}"`);
      assert.ok(pongs >= 2, `expected the server to answer at least 2 EIO3 pings in ${OBSERVE_MS} ms, got ${pongs}`);
      assert.deepEqual(await echoRoundTrip(socket, ['alive']), ['alive']);
    });
  }

  it('an EIO4 websocket client that never answers pings is closed by the server', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    pool.add(() => ws.terminate());
    const frames = [];
    ws.on('message', (data) => frames.push(data.toString()));
    await waitFor(ws, 'open', { what: 'raw websocket open' });
    const started = Date.now();
    await waitFor(ws, 'close', { timeoutMs: 4000, what: 'server closing a client that never sends pong' });
    const elapsed = Date.now() - started;
    assert.match(frames[0] ?? '', /^0\{/, 'first frame should be the Engine.IO open packet');
    assert.ok(frames.includes('2'), `server should have sent a ping ("2") before giving up; frames: ${JSON.stringify(frames)}`);
    assert.ok(elapsed >= PING_INTERVAL, `closed after ${elapsed} ms — before the first ping could even time out`);
  });

  it('an EIO4 polling session that stops polling expires (its sid becomes unknown)', async () => {
    const handshake = await get(`${server.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(handshake.status, 200);
    const { sid } = JSON.parse(handshake.body.slice(1));
    await sleep((PING_INTERVAL + PING_TIMEOUT) * 3);
    const res = await get(`${server.url}/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`);
    assert.equal(res.status, 400, `an abandoned polling session should be gone after ${(PING_INTERVAL + PING_TIMEOUT) * 3} ms, got ${res.status} ${res.body}`);
  });

  itExitsCleanlyOnSigterm(() => server);
});
