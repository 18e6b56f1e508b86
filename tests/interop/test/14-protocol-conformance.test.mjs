// The behaviours the official Engine.IO / Socket.IO protocol test suites check, exercised with
// raw WebSocket frames and raw HTTP against a server run with the settings those suites use
// (--conformance --ping-interval 300 --ping-timeout 200 --max-payload 1000000). Our own tests,
// written from the protocol documents; messages are read through a queue so frames that arrive
// in one TCP segment are never missed.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { isGateway, itExitsCleanlyOnSigterm, startServer } from '../lib/harness.mjs';
import { sleep } from '../lib/clients.mjs';

const TIMEOUT_MS = 3000;

/** A raw WebSocket whose messages (text as string, binary as Buffer) are queued. */
function rawSocket(url) {
  const ws = new WebSocket(url);
  const queue = [];
  const waiters = [];
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => {
    const value = isBinary ? Buffer.from(data) : data.toString();
    if (waiters.length) waiters.shift()(value); else queue.push(value);
  });
  ws.next = () => {
    if (queue.length) return Promise.resolve(queue.shift());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no message within ' + TIMEOUT_MS + ' ms')), TIMEOUT_MS);
      waiters.push((v) => { clearTimeout(t); resolve(v); });
    });
  };
  /** Next message that is not an Engine.IO ping. */
  ws.nextNonPing = async () => { for (;;) { const m = await ws.next(); if (m !== '2') return m; } };
  ws.opened = new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('close', () => reject(new Error('closed before open'))); });
  ws.opened.catch(() => {});  // only awaited by tests that expect the socket to open
  ws.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
  return ws;
}

async function closedWithin(ws, ms = TIMEOUT_MS) {
  const timeout = sleep(ms).then(() => { throw new Error(`connection still open after ${ms} ms`); });
  return Promise.race([ws.closed, timeout]);
}

// The reference server runs socket.io with allowEIO3 (for the v2 client suites), which answers
// a missing EIO with an EIO3 session and so differs from what the protocol suites expect.
describe('protocol conformance (raw frames, suite settings)', { skip: !isGateway() && 'the reference server enables EIO3' }, () => {
  let server, http, wsBase;
  const sockets = [];
  const raw = (path) => { const s = rawSocket(wsBase + path); sockets.push(s); return s; };
  const eio = (query = '') => `/engine.io/?EIO=4&transport=websocket${query}`;
  const sio = (query = '') => `/socket.io/?EIO=4&transport=websocket${query}`;
  const poll = async (path, sid, init) => {
    const r = await fetch(`${http}${path}?EIO=4&transport=polling${sid ? '&sid=' + sid : ''}`, init);
    return { status: r.status, text: await r.text() };
  };
  const openPolling = async (path = '/socket.io/') => JSON.parse((await poll(path)).text.slice(1)).sid;
  async function socketIo() {
    const ws = raw(sio());
    await ws.next();            // Engine.IO open
    ws.send('40');
    await ws.next();            // CONNECT reply
    await ws.next();            // "auth" event
    return ws;
  }

  before(async () => {
    server = await startServer({ name: '14-protocol', pingInterval: 300, pingTimeout: 200, maxPayload: 1000000 });
    http = server.url;
    wsBase = server.url.replace(/^http/, 'ws');
  });
  after(async () => { for (const s of sockets) s.terminate(); await server?.kill(); });

  describe('Engine.IO handshake', () => {
    it('polling open packet carries sid, upgrades, ping settings and maxPayload', async () => {
      const { status, text } = await poll('/socket.io/');
      assert.equal(status, 200);
      assert.equal(text[0], '0');
      const open = JSON.parse(text.slice(1));
      assert.deepEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
      assert.deepEqual(open.upgrades, ['websocket']);
      assert.equal(open.pingInterval, 300);
      assert.equal(open.pingTimeout, 200);
      assert.equal(open.maxPayload, 1000000);
    });
    it('a direct WebSocket offers no upgrades', async () => {
      const ws = raw(sio());
      const open = JSON.parse((await ws.next()).slice(1));
      assert.deepEqual(open.upgrades, []);
    });
    it('missing or bad EIO, bad transport and non-GET handshakes get HTTP 400', async () => {
      for (const q of ['transport=polling', 'EIO=abc&transport=polling', 'EIO=4', 'EIO=4&transport=abc']) {
        const r = await fetch(`${http}/socket.io/?${q}`);
        assert.equal(r.status, 400, q);
      }
      for (const method of ['POST', 'PUT']) assert.equal((await poll('/socket.io/', null, { method })).status, 400, method);
    });
    it('a WebSocket with a bad EIO or transport is refused', async () => {
      for (const path of ['/socket.io/?transport=websocket', '/socket.io/?EIO=abc&transport=websocket', '/socket.io/?EIO=4']) {
        await closedWithin(raw(path));
      }
    });
  });

  describe('Engine.IO messages, heartbeat and close', () => {
    it('echoes text and binary over WebSocket', async () => {
      const ws = raw(eio());
      await ws.next();
      ws.send('4hello');
      assert.equal(await ws.nextNonPing(), '4hello');
      ws.send(Uint8Array.from([1, 2, 3, 4]));
      assert.deepEqual([...await ws.nextNonPing()], [1, 2, 3, 4]);
    });
    it('echoes a polling payload of text and base64 binary packets', async () => {
      const sid = await openPolling('/engine.io/');
      const post = await poll('/engine.io/', sid, { method: 'POST', body: '4hello\x1ebAQIDBA==' });
      assert.deepEqual(post, { status: 200, text: 'ok' });
      assert.deepEqual(await poll('/engine.io/', sid), { status: 200, text: '4hello\x1ebAQIDBA==' });
    });
    it('an invalid polling payload gets 400 and ends the session', async () => {
      const sid = await openPolling('/engine.io/');
      assert.equal((await poll('/engine.io/', sid, { method: 'POST', body: 'abc' })).status, 400);
      assert.equal((await poll('/engine.io/', sid)).status, 400);
    });
    it('two concurrent GETs: the first gets a close packet, the second 400, the session ends', async () => {
      const sid = await openPolling('/engine.io/');
      const [first, second] = await Promise.all([poll('/engine.io/', sid), sleep(5).then(() => poll('/engine.io/', sid))]);
      assert.deepEqual(first, { status: 200, text: '1' });
      assert.ok([400, 500].includes(second.status), `second GET status ${second.status}`);
      assert.equal((await poll('/engine.io/', sid)).status, 400);
    });
    it('polling: the server pings and accepts pongs, three times', async () => {
      const sid = await openPolling();
      for (let i = 0; i < 3; i++) {
        assert.deepEqual(await poll('/socket.io/', sid), { status: 200, text: '2' });
        assert.equal((await poll('/socket.io/', sid, { method: 'POST', body: '3' })).status, 200);
      }
    });
    it('polling: no pong within pingInterval + pingTimeout ends the session', async () => {
      const sid = await openPolling();
      await sleep(500);
      assert.equal((await poll('/socket.io/', sid)).status, 400);
    });
    it('WebSocket: the server pings and accepts pongs, three times', async () => {
      const ws = raw(sio());
      await ws.next();
      for (let i = 0; i < 3; i++) { assert.equal(await ws.next(), '2'); ws.send('3'); }
    });
    it('WebSocket: a client that never pongs is closed', async () => {
      await closedWithin(raw(sio()));
    });
    it('polling: a close packet ends the held GET with a noop and the session', async () => {
      const sid = await openPolling();
      const pending = poll('/socket.io/', sid);
      // Let the GET reach the server and be held first: sent at the same instant, the POST can
      // win the race (the GET may hop to the session's worker thread), and a GET arriving after
      // the close rightly gets 400.
      await sleep(100);
      const closed = await poll('/socket.io/', sid, { method: 'POST', body: '1' });
      assert.equal(closed.status, 200);
      assert.deepEqual(await pending, { status: 200, text: '6' });
      assert.equal((await poll('/socket.io/', sid)).status, 400);
    });
    it('WebSocket: a close packet closes the connection', async () => {
      const ws = raw(sio());
      await ws.next();
      ws.send('1');
      await closedWithin(ws);
    });
  });

  describe('upgrade', () => {
    it('probe, then upgrade', async () => {
      const sid = await openPolling();
      const ws = raw(sio('&sid=' + sid));
      await ws.opened;
      ws.send('2probe');
      assert.equal(await ws.next(), '3probe');
      ws.send('5');
      ws.send('42["message","after upgrade"]');
      // Not connected to a namespace yet: the event is ignored, the connection stays up.
      await sleep(50);
      assert.equal(ws.readyState, WebSocket.OPEN);
    });
    it('after the upgrade, polling requests for the sid get 400', async () => {
      const sid = await openPolling();
      const ws = raw(sio('&sid=' + sid));
      await ws.opened;
      ws.send('2probe');
      ws.send('5');
      await ws.next();
      assert.equal((await poll('/socket.io/', sid)).status, 400);
    });
    it('after the upgrade, a second WebSocket for the sid is refused', async () => {
      const sid = await openPolling();
      const ws = raw(sio('&sid=' + sid));
      await ws.opened;
      ws.send('2probe');
      ws.send('5');
      await ws.next();
      await closedWithin(raw(sio('&sid=' + sid)));
    });
  });

  describe('Socket.IO', () => {
    it('CONNECT to "/" answers with a sid only, then the auth event', async () => {
      const ws = raw(sio());
      await ws.next();
      ws.send('40');
      const reply = await ws.next();
      assert.ok(reply.startsWith('40'), reply);
      assert.deepEqual(Object.keys(JSON.parse(reply.slice(2))), ['sid']);
      assert.equal(await ws.next(), '42["auth",{}]');
    });
    it('CONNECT to "/custom" with an auth payload', async () => {
      const ws = raw(sio());
      await ws.next();
      ws.send('40/custom,{"token":"abc"}');
      const reply = await ws.next();
      assert.ok(reply.startsWith('40/custom,'), reply);
      assert.deepEqual(Object.keys(JSON.parse(reply.slice(10))), ['sid']);
      assert.equal(await ws.next(), '42/custom,["auth",{"token":"abc"}]');
    });
    it('an unknown namespace gets CONNECT_ERROR "Invalid namespace"', async () => {
      const ws = raw(sio());
      await ws.next();
      ws.send('40/random');
      assert.equal(await ws.next(), '44/random,{"message":"Invalid namespace"}');
    });
    it('a client that never sends CONNECT is closed', async () => {
      await closedWithin(raw(sio()));
    });
    it('DISCONNECT from "/" keeps the Engine.IO connection (pings continue)', async () => {
      const ws = await socketIo();
      ws.send('41');
      assert.equal(await ws.next(), '2');
    });
    it('leaving "/custom" leaves "/" working', async () => {
      const ws = await socketIo();
      ws.send('40/custom');
      await ws.nextNonPing();
      await ws.nextNonPing();
      ws.send('41/custom');
      ws.send('42["message","to main"]');
      assert.equal(await ws.nextNonPing(), '42["message-back","to main"]');
    });
    it('event with mixed arguments comes back verbatim', async () => {
      const ws = await socketIo();
      ws.send('42["message",1,"2",{"3":[true]}]');
      assert.equal(await ws.nextNonPing(), '42["message-back",1,"2",{"3":[true]}]');
    });
    const PLACEHOLDERS = '{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}';
    /** Sends a binary packet with attachments [1,2,3] and [4,5,6]; checks the answer has them. */
    async function binaryRoundTrip(header, expectedHeader) {
      const ws = await socketIo();
      ws.send(header);
      ws.send(Uint8Array.from([1, 2, 3]));
      ws.send(Uint8Array.from([4, 5, 6]));
      assert.equal(await ws.nextNonPing(), expectedHeader);
      assert.deepEqual([...await ws.nextNonPing()], [1, 2, 3]);
      assert.deepEqual([...await ws.nextNonPing()], [4, 5, 6]);
    }
    it('binary event: header and both attachments come back', () =>
      binaryRoundTrip(`452-["message",${PLACEHOLDERS}]`, `452-["message-back",${PLACEHOLDERS}]`));
    it('ack with the same arguments', async () => {
      const ws = await socketIo();
      ws.send('42456["message-with-ack",1,"2",{"3":[false]}]');
      assert.equal(await ws.nextNonPing(), '43456[1,"2",{"3":[false]}]');
    });
    it('binary ack', () =>
      binaryRoundTrip(`452-789["message-with-ack",${PLACEHOLDERS}]`, `462-789[${PLACEHOLDERS}]`));
    for (const bad of ['4abc', '42{}', '42abc["message-with-ack",1,"2",{"3":[false]}]', '4abc before connect']) {
      it(`malformed packet ${JSON.stringify(bad)} closes the connection`, async () => {
        let ws;
        if (bad.endsWith('before connect')) { ws = raw(sio()); await ws.next(); ws.send('4abc'); }
        else { ws = await socketIo(); ws.send(bad); }
        await closedWithin(ws);
      });
    }
  });

  describe('gateway extras', { skip: !isGateway() && 'gateway-only endpoint' }, () => {
    it('/admin/broadcast reaches every connected socket once, encoded once', async () => {
      const a = await socketIo();
      const b = await socketIo();
      const r = await fetch(`${http}/admin/broadcast?event=news`, { method: 'POST', body: '[{"n":1}]' });
      assert.equal(r.status, 200);
      assert.equal(await a.nextNonPing(), '42["news",{"n":1}]');
      assert.equal(await b.nextNonPing(), '42["news",{"n":1}]');
    });
    it('frames sent right behind the upgrade request (same TCP write) are not lost', async () => {
      const { port } = new URL(http);
      const socket = net.connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      const mask = Buffer.from([1, 2, 3, 4]);
      const payload = Buffer.from('40');
      const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
      const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
      socket.write(Buffer.concat([Buffer.from(
        'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n' +
        'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'), frame]));
      let received = '';
      const deadline = Date.now() + TIMEOUT_MS;
      socket.on('data', (d) => { received += d.toString('latin1'); });
      while (!received.includes('40{"sid"') && Date.now() < deadline) await sleep(20);
      socket.destroy();
      assert.ok(received.startsWith('HTTP/1.1 101'), received.slice(0, 40));
      assert.ok(received.includes('40{"sid"'), 'the CONNECT that followed the upgrade should be answered');
    });
    it('/admin/broadcast rejects a body that is not a JSON array', async () => {
      const r = await fetch(`${http}/admin/broadcast?event=news`, { method: 'POST', body: '{"n":1}' });
      assert.equal(r.status, 400);
    });
  });

  itExitsCleanlyOnSigterm(() => server);
});
