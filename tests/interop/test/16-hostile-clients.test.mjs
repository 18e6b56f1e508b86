// Clients that break the rules on purpose, over raw TCP: each must cost the gateway a bounded
// amount of memory and time, never a crash. (Gateway only: the reference server has other
// limits, or none.)
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { httpGet, isGateway, startServer } from '../lib/harness.mjs';
import { ClientPool, connectV4, sleep } from '../lib/clients.mjs';

/** A masked client frame (RFC 6455 5.3): FIN set, payload under 64 KiB. */
function clientFrame(opcode, payload) {
  const data = Buffer.from(payload);
  assert.ok(data.length < 65536);
  const head = data.length < 126 ? Buffer.from([0x80 | opcode, 0x80 | data.length])
    : Buffer.from([0x80 | opcode, 0x80 | 126, data.length >> 8, data.length & 0xff]);
  const mask = crypto.randomBytes(4);
  const body = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) body[i] = data[i] ^ mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

/** Server frames in `buf` (unmasked): [{ opcode, payload }], and the bytes left over. */
function serverFrames(buf) {
  const frames = [];
  let off = 0;
  while (off + 2 <= buf.length) {
    let len = buf[off + 1] & 0x7f;
    let head = 2;
    if (len === 126) {
      if (off + 4 > buf.length) break;
      len = buf.readUInt16BE(off + 2);
      head = 4;
    } else if (len === 127) {
      if (off + 10 > buf.length) break;
      len = Number(buf.readBigUInt64BE(off + 2));
      head = 10;
    }
    if (off + head + len > buf.length) break;
    frames.push({ opcode: buf[off] & 0x0f, payload: buf.subarray(off + head, off + head + len) });
    off += head + len;
  }
  return { frames, rest: buf.subarray(off) };
}

/** Opens a raw TCP connection and completes a WebSocket upgrade of `path`. */
function rawWebSocket(server, path) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, server.host);
    const key = crypto.randomBytes(16).toString('base64');
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const status = head.subarray(0, head.indexOf('\r\n')).toString();
      if (!status.includes(' 101 ')) return reject(new Error(`upgrade refused: ${status}`));
      resolve({ socket, early: head.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${server.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
}

/** Reads `socket` until the server closes it (or `ms` passes); resolves with every byte. */
function readToEnd(socket, initial = Buffer.alloc(0), ms = 10000) {
  return new Promise((resolve, reject) => {
    const chunks = [initial];
    const timer = setTimeout(() => reject(new Error(`the server did not close the connection within ${ms} ms`)), ms);
    socket.on('data', (c) => chunks.push(c));
    socket.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)); });
    socket.on('error', () => {});
    socket.resume();
  });
}

async function metric(server, name) {
  const res = await httpGet(`${server.metricsUrl}/metrics`);
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(res.body.toString());
  assert.ok(m, `${name} not in /metrics`);
  return Number(m[1]);
}

describe('hostile clients cost bounded memory and time, never a crash', { skip: !isGateway() && 'gateway limits' }, () => {
  let server;
  before(async () => {
    server = await startServer({ name: 'hostile', metricsListen: true, pingInterval: 1000, pingTimeout: 1000 });
  });
  after(async () => {
    await server?.stop();
  });

  it('34,000 pipelined requests (about 1 MB, what one HTTP connection may buffer) sent before reading any answer: all answered, the server stays up', async () => {
    const count = 34000;
    const socket = net.connect(server.port, server.host);
    await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    socket.pause();  // read nothing while the requests go out: the server's writes block
    // Small requests with small answers (404), the last one asks the server to close.
    const request = `GET /x HTTP/1.1\r\nHost: a\r\n\r\n`;
    const last = `GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`;
    socket.write(request.repeat(count - 1) + last);
    await sleep(1000);  // the server has read what it can hold meanwhile
    const all = (await readToEnd(socket, Buffer.alloc(0), 30000)).toString('latin1');
    const answers = all.match(/HTTP\/1\.1 \d{3} /g) ?? [];
    assert.equal(answers.length, count, `${answers.length} answers to ${count} requests`);
    assert.ok(server.isRunning(), 'the gateway crashed');
    assert.equal((await httpGet(`${server.healthUrl}/healthz`)).status, 200);
  });

  it('a WebSocket that pings and never reads the pongs is closed, and its socket freed within seconds', async () => {
    // A server of its own: its open files count only this connection.
    const own = await startServer({ name: 'hostile-pings', metricsListen: true });
    const fdsBefore = await metric(own, 'process_open_fds');
    const { socket } = await rawWebSocket(own, '/socket.io/?EIO=4&transport=websocket');
    assert.equal(await metric(own, 'process_open_fds'), fdsBefore + 1);
    socket.pause();  // never read: pongs pile up in the kernel buffers, then in the gateway
    const ping = clientFrame(0x9, Buffer.alloc(125, 0x61));
    for (let i = 0; i < 20000; i++) socket.write(ping);
    const t0 = Date.now();
    let fds = await metric(own, 'process_open_fds');
    while (fds > fdsBefore && Date.now() - t0 < 15000) {
      await sleep(100);
      fds = await metric(own, 'process_open_fds');
    }
    socket.destroy();
    assert.ok(own.isRunning(), 'the gateway crashed');
    await own.stop();
    assert.equal(fds, fdsBefore, 'the connection of a peer that does not read is still open after 15 s');
  });

  it('--max-client-events: a socket.io-client emitting 50 events at once gets 10 through; the rest are counted, the client stays', async () => {
    const own = await startServer({ name: 'hostile-rate', metricsListen: true, extraArgs: ['--max-client-events', '10'] });
    const pool = new ClientPool();
    try {
      const { socket } = await connectV4(pool, own.url, { transports: ['websocket'] });
      let echoes = 0;
      socket.on('message-back', () => { echoes++; });
      for (let i = 0; i < 50; i++) socket.emit('message', i);
      await sleep(1000);
      assert.ok(echoes >= 10 && echoes <= 12, `${echoes} of 50 events echoed (10 per second allowed)`);
      assert.equal(await metric(own, 'wsgw_events_rate_limited_total'), 50 - echoes);
      assert.ok(socket.connected, 'the client was disconnected');
    } finally {
      pool.closeAll();
      await own.stop();
    }
  });

  it('WebSocket upgrades reset right behind their request leave no session behind', async () => {
    const own = await startServer({ name: 'hostile-reset', metricsListen: true });
    try {
      for (let i = 0; i < 300; i++) {
        const socket = net.connect(own.port, own.host);
        await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
        socket.write(`GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n` +
          'Sec-WebSocket-Version: 13\r\n\r\n');
        socket.resetAndDestroy();  // RST: the 101 may fail to be written
      }
      await sleep(1000);
      const text = (await httpGet(`${own.metricsUrl}/metrics`)).body;
      const open = [...text.matchAll(/^wsgw_connections\{transport="websocket"\} (\S+)$/gm)].map((m) => Number(m[1]));
      assert.deepEqual(open, [0], 'sessions left attached to connections that are gone');
      assert.ok(own.isRunning(), 'the gateway crashed');
    } finally {
      await own.stop();
    }
  });

  it('an EIO3 client that pings without reading is closed as slow_consumer before its pongs outgrow the queue', async () => {
    // Each pong is 3 bytes on the wire but ~150 in memory: the queue limit counts both.
    const own = await startServer({ name: 'hostile-eio3-pongs', metricsListen: true });
    try {
      const { socket } = await rawWebSocket(own, '/socket.io/?EIO=3&transport=websocket');
      socket.pause();
      const ping = clientFrame(0x1, '2');
      for (let i = 0; i < 20; i++) socket.write(Buffer.concat(Array.from({ length: 10000 }, () => ping)));
      const t0 = Date.now();
      let closes = 0;
      while (Date.now() - t0 < 10000) {
        const text = (await httpGet(`${own.metricsUrl}/metrics`)).body;
        closes = Number(/^wsgw_closes_total\{reason="slow_consumer"\} (\S+)$/m.exec(text)?.[1] ?? 0);
        if (closes > 0) break;
        await sleep(100);
      }
      socket.destroy();
      assert.equal(closes, 1, '200,000 unread pongs did not overflow a 1 MiB queue');
    } finally {
      await own.stop();
    }
  });

  it('repeated upgrade probes: one "3probe", then the probe is closed; the polling session lives on', async () => {
    const res = await httpGet(`${server.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(res.status, 200);
    const { sid } = JSON.parse(res.body.toString().slice(1));
    const { socket, early } = await rawWebSocket(server, `/socket.io/?EIO=4&transport=websocket&sid=${encodeURIComponent(sid)}`);
    const probe = clientFrame(0x1, '2probe');
    socket.write(Buffer.concat(Array.from({ length: 1000 }, () => probe)));
    const { frames } = serverFrames(await readToEnd(socket, early));
    const texts = frames.filter((f) => f.opcode === 0x1).map((f) => f.payload.toString());
    assert.deepEqual(texts, ['3probe'], 'exactly one probe answer');
    assert.equal(frames.at(-1)?.opcode, 0x8, 'then a close frame');
    const poll = await httpGet(`${server.url}/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`, { timeoutMs: 5000 });
    assert.equal(poll.status, 200, `the polling session ended: ${poll.body}`);
  });
});
