// HTTP endpoints (health, metrics, CORS) and wire-level Engine.IO details that stock
// clients depend on, checked with raw HTTP so a difference is reported precisely.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, afterEach, before, describe, it } from 'node:test';
import { httpGet, itExitsCleanlyOnSigterm, startServer } from '../lib/harness.mjs';
import { ClientPool, connectV4, sleep } from '../lib/clients.mjs';

function request(baseUrl, path, { method = 'GET', body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(baseUrl + path, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Sums every sample of a metric (any labels) whose labels include `labelFilter`. */
function metricValue(text, name, labelFilter = '') {
  let sum = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    if (labelFilter && !(m[2] || '').includes(labelFilter)) continue;
    sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

/** Splits an EIO3 text payload ("<length>:<packet>" repeated; length in UTF-16 code units). */
function parseEio3Payload(text) {
  const packets = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    assert.ok(colon > i, `EIO3 payload: expected "<length>:" at offset ${i} of ${JSON.stringify(text)}`);
    const length = Number(text.slice(i, colon));
    assert.ok(Number.isInteger(length) && colon + 1 + length <= text.length,
      `EIO3 payload: bad length ${text.slice(i, colon)} at offset ${i} of ${JSON.stringify(text)}`);
    packets.push(text.slice(colon + 1, colon + 1 + length));
    i = colon + 1 + length;
  }
  return packets;
}

/** Parses an EIO3 handshake response; returns { sid, rest: packets after the open packet }. */
function parseEio3Handshake(text) {
  const [open, ...rest] = parseEio3Payload(text);
  assert.match(open ?? '', /^0\{/, `EIO3 handshake should start with an open packet, got ${JSON.stringify(text)}`);
  return { sid: JSON.parse(open.slice(1)).sid, rest };
}
const eio3OpenSid = (text) => parseEio3Handshake(text).sid;

describe('HTTP endpoints and Engine.IO wire details', () => {
  const pool = new ClientPool();
  let server;
  before(async () => {
    server = await startServer({ name: '13-http', corsOrigins: 'http://allowed.example' });
  });
  afterEach(() => pool.closeAll());
  after(async () => { pool.closeAll(); await server?.kill(); });

  it('/healthz and /readyz answer 200 on the main listener', async () => {
    assert.equal((await httpGet(`${server.url}/healthz`)).status, 200, '/healthz');
    assert.equal((await httpGet(`${server.url}/readyz`)).status, 200, '/readyz');
  });

  it('/metrics is Prometheus text with wsgw_connections{transport} and wsgw_handshakes_total', async () => {
    const before = await httpGet(`${server.url}/metrics`);
    assert.equal(before.status, 200, '/metrics status');
    assert.match(before.body, /^# TYPE wsgw_connections gauge$/m, 'wsgw_connections should be declared a gauge');
    const handshakesBefore = metricValue(before.body, 'wsgw_handshakes_total');
    assert.notEqual(handshakesBefore, null, 'wsgw_handshakes_total should be exported');
    await connectV4(pool, server.url, { transports: ['websocket'] });
    await connectV4(pool, server.url, { transports: ['polling'] });
    const after = (await httpGet(`${server.url}/metrics`)).body;
    const ws = metricValue(after, 'wsgw_connections', 'transport="websocket"');
    const polling = metricValue(after, 'wsgw_connections', 'transport="polling"');
    assert.ok(ws >= 1, `wsgw_connections{transport="websocket"} should be >= 1 with a websocket client, got ${ws}`);
    assert.ok(polling >= 1, `wsgw_connections{transport="polling"} should be >= 1 with a polling client, got ${polling}`);
    const handshakesAfter = metricValue(after, 'wsgw_handshakes_total');
    assert.ok(handshakesAfter >= handshakesBefore + 2,
      `wsgw_handshakes_total should grow by >= 2 after two connections (${handshakesBefore} -> ${handshakesAfter})`);
    pool.closeAll();
    let wsAfterClose = ws;
    for (let i = 0; i < 50 && wsAfterClose >= ws; i++) {
      await sleep(20);
      wsAfterClose = metricValue((await httpGet(`${server.url}/metrics`)).body, 'wsgw_connections', 'transport="websocket"');
    }
    assert.ok(wsAfterClose < ws, `wsgw_connections{transport="websocket"} should drop after the client left (${ws} -> ${wsAfterClose})`);
  });

  it('EIO4 polling handshake: open packet with sid, upgrades, pingInterval, pingTimeout, maxPayload', async () => {
    const res = await request(server.url, '/socket.io/?EIO=4&transport=polling');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] || '', /^text\/plain/, 'handshake content type');
    const text = res.body.toString();
    assert.match(text, /^0\{/, `EIO4 handshake should be a bare open packet "0{...}", got ${JSON.stringify(text)}`);
    const open = JSON.parse(text.slice(1));
    assert.equal(typeof open.sid, 'string');
    assert.ok(open.sid.length > 0);
    assert.deepEqual(open.upgrades, ['websocket'], 'upgrades offered on polling');
    for (const field of ['pingInterval', 'pingTimeout', 'maxPayload']) {
      assert.ok(Number.isInteger(open[field]) && open[field] > 0, `open packet ${field} should be a positive integer, got ${open[field]}`);
    }
  });

  it('EIO3 polling handshake is length-prefixed and "/" is connected without asking ("40")', async () => {
    const res = await request(server.url, '/socket.io/?EIO=3&transport=polling');
    assert.equal(res.status, 200);
    const { sid, rest } = parseEio3Handshake(res.body.toString());
    // socket.io-client 2 waits for the CONNECT of the default namespace; it never sends
    // one itself. It may come with the handshake or (as socket.io does) in the first poll.
    let packets = rest;
    if (!packets.includes('40')) {
      const poll = await request(server.url, `/socket.io/?EIO=3&transport=polling&sid=${encodeURIComponent(sid)}`);
      assert.equal(poll.status, 200);
      packets = [...packets, ...parseEio3Payload(poll.body.toString())];
    }
    assert.equal(packets[0], '40', `the first Socket.IO packet for an EIO3 client should be "40", got ${JSON.stringify(packets)}`);
    assert.deepEqual(packets[1], '42["auth",{}]', 'then the conformance "auth" event with {}');
  });

  it('errors: unknown sid -> 400 code 1, unknown transport -> 400 code 0, bad method -> 400 code 2', async () => {
    const cases = [
      ['/socket.io/?EIO=4&transport=polling&sid=does-not-exist', 'GET', { code: 1, message: 'Session ID unknown' }],
      ['/socket.io/?EIO=4&transport=carrier-pigeon', 'GET', { code: 0, message: 'Transport unknown' }],
      ['/socket.io/?EIO=4&transport=polling', 'PUT', { code: 2, message: 'Bad handshake method' }],
    ];
    for (const [path, method, expected] of cases) {
      const res = await request(server.url, path, { method });
      assert.equal(res.status, 400, `${method} ${path} should be 400`);
      assert.match(res.headers['content-type'] || '', /^application\/json/, `${method} ${path} content type`);
      assert.deepEqual(JSON.parse(res.body.toString()), expected, `${method} ${path} body`);
    }
  });

  it('EIO4 polling payload: packets split by \\x1e, binary as "b<base64>", UTF-8 body', async () => {
    const hs = await request(server.url, '/engine.io/?EIO=4&transport=polling');
    const { sid } = JSON.parse(hs.body.toString().slice(1));
    const path = `/engine.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
    const post = await request(server.url, path, {
      method: 'POST', body: 'bAQIDBA==\x1e4héllo😀', headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
    });
    assert.equal(post.status, 200);
    assert.equal(post.body.toString(), 'ok', 'POST answer body');
    const poll = await request(server.url, path);
    assert.equal(poll.status, 200);
    assert.equal(poll.body.toString('utf8'), 'bAQIDBA==\x1e4héllo😀', 'echoed EIO4 payload');
  });

  it('EIO3 text payload lengths count UTF-16 code units ("4😀" is 3 long)', async () => {
    const hs = await request(server.url, '/engine.io/?EIO=3&transport=polling&b64=1');
    const sid = eio3OpenSid(hs.body.toString());
    const path = `/engine.io/?EIO=3&transport=polling&b64=1&sid=${encodeURIComponent(sid)}`;
    const body = '3:4😀10:b4AQIDBA==6:4héllo';
    const post = await request(server.url, path, { method: 'POST', body, headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });
    assert.equal(post.status, 200);
    const poll = await request(server.url, path);
    assert.equal(poll.status, 200);
    assert.equal(poll.body.toString('utf8'), body, 'echoed EIO3 payload (b64=1: binary as "b4<base64>")');
  });

  it('EIO3 binary polling payload (application/octet-stream) echoes as binary', async () => {
    const hs = await request(server.url, '/engine.io/?EIO=3&transport=polling');
    const sid = eio3OpenSid(hs.body.toString());
    const path = `/engine.io/?EIO=3&transport=polling&sid=${encodeURIComponent(sid)}`;
    // Each packet: 0 (string) or 1 (binary), length as decimal digit bytes, 0xff, packet.
    const payload = Buffer.concat([
      Buffer.from([1, 5, 0xff, 4, 0xde, 0xad, 0xbe, 0xef]),
      Buffer.from([0, 6, 0xff]), Buffer.from('4hello'),
    ]);
    const post = await request(server.url, path, { method: 'POST', body: payload, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(post.status, 200, 'binary EIO3 POST');
    const poll = await request(server.url, path);
    assert.equal(poll.status, 200);
    assert.equal(poll.headers['content-type'], 'application/octet-stream', 'binary EIO3 poll content type');
    assert.equal(poll.body.toString('hex'), payload.toString('hex'), 'echoed EIO3 binary payload');
  });

  it('CORS: an allowed Origin is echoed in Access-Control-Allow-Origin', async () => {
    const res = await request(server.url, '/socket.io/?EIO=4&transport=polling', { headers: { Origin: 'http://allowed.example' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], 'http://allowed.example');
  });

  itExitsCleanlyOnSigterm(() => server);
});

describe('--metrics-listen', () => {
  let server;
  before(async () => { server = await startServer({ name: '13-metrics-listen', metricsListen: true }); });
  after(async () => { await server?.kill(); });

  it('serves /healthz, /readyz and /metrics on the separate listener', async () => {
    assert.equal((await httpGet(`${server.metricsUrl}/healthz`)).status, 200);
    assert.equal((await httpGet(`${server.metricsUrl}/readyz`)).status, 200);
    const metrics = await httpGet(`${server.metricsUrl}/metrics`);
    assert.equal(metrics.status, 200);
    assert.ok(metricValue(metrics.body, 'wsgw_handshakes_total') !== null, 'wsgw_handshakes_total on the metrics listener');
  });

  itExitsCleanlyOnSigterm(() => server);
});
