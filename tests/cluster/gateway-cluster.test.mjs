// Two ws-gateway nodes in cluster mode against a real Kafka broker (KRaft) and redis-server,
// both started by tests/infra. Downstream records are produced and upstream records consumed
// with Kafka's own console tools, so the gateway is checked against the record contract
// (common/cluster/contract.h) without ws-api. Run by tests/cluster/run.sh.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { io } from '../interop/node_modules/socket.io-client/build/esm-debug/index.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const GATEWAY = process.env.WSGW_GATEWAY_BIN || path.join(ROOT, 'build/gateway/app/ws-gateway');
const KAFKA_PORT = Number(process.env.WSGW_KAFKA_PORT || 19592);
const REDIS_PORT = Number(process.env.WSGW_REDIS_PORT || 16592);
const BROKERS = `127.0.0.1:${KAFKA_PORT}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const infra = (script, ...args) => execFileSync(path.join(ROOT, 'tests/infra', script), args,
  { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });

function produce(topic, records) {
  // records: [{headers: {name: value}, key, value}] -> "h:v,h:v<TAB>key<TAB>value" lines
  const input = records.map((r) => `${Object.entries(r.headers).map(([k, v]) => `${k}:${v}`).join(',')}\t${r.key ?? 'k'}\t${r.value}`).join('\n') + '\n';
  execFileSync(path.join(ROOT, 'tests/infra/kafka.sh'), ['console-producer', '--port', String(KAFKA_PORT), '--',
    '--bootstrap-server', BROKERS, '--topic', topic,
    '--reader-property', 'parse.headers=true', '--reader-property', 'parse.key=true'],
  { input, stdio: ['pipe', 'ignore', 'pipe'] });
}

function consumeUpstream(count) {
  const out = infra('kafka.sh', 'console-consumer', '--port', String(KAFKA_PORT), '--',
    '--bootstrap-server', BROKERS, '--topic', 'wsgw.upstream', '--from-beginning',
    '--max-messages', String(count), '--timeout-ms', '20000',
    '--formatter-property', 'print.headers=true', '--formatter-property', 'print.key=true');
  return out.split('\n').filter((l) => l.startsWith('x-op:')).map((line) => {
    const [headerText, key, ...value] = line.split('\t');
    const headers = Object.fromEntries(headerText.split(',').map((h) => { const i = h.indexOf(':'); return [h.slice(0, i), h.slice(i + 1)]; }));
    return { headers, key, value: value.join('\t') };
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

function startGateway(name, port) {
  const log = fs.openSync(path.join(os.tmpdir(), `wsgw-cluster-${name}.log`), 'w');
  const child = spawn(GATEWAY, ['--listen', `127.0.0.1:${port}`, '--threads', '2', '--log-level', 'info',
    '--kafka-brokers', BROKERS, '--redis', `redis://127.0.0.1:${REDIS_PORT}`, '--node-name', name,
    '--downstream-partitions', '4', '--namespaces', '/,/docs'], { stdio: ['ignore', log, log] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, url: `http://127.0.0.1:${port}`, name };
}

async function waitHealthy(url) {
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${url}/healthz`)).ok) return; } catch { /* not yet */ }
    await sleep(100);
  }
  throw new Error(`${url} did not become healthy`);
}

function connect(url, options = {}) {
  const s = io(url, { reconnection: false, ...options });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

function nextEvent(socket, event, ms = 15000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms`)), ms);
    socket.once(event, (...args) => { clearTimeout(t); resolve(args); });
  });
}

describe('ws-gateway cluster mode against real Kafka and Redis', () => {
  const nodes = [];
  const sockets = [];
  before(async () => {
    infra('redis.sh', 'start', '--port', String(REDIS_PORT));
    infra('redis.sh', 'wait', '--port', String(REDIS_PORT));
    infra('kafka.sh', 'start', '--port', String(KAFKA_PORT));
    infra('kafka.sh', 'wait', '--port', String(KAFKA_PORT));
    nodes.push(startGateway('gw-a', await freePort()), startGateway('gw-b', await freePort()));
    await Promise.all(nodes.map((n) => waitHealthy(n.url)));
  });
  after(async () => {
    for (const s of sockets) s.close();
    // Wait for the nodes to finish draining (they flush to Kafka) before the broker goes.
    for (const n of nodes) n.child.kill('SIGTERM');
    await Promise.race([Promise.all(nodes.map((n) => n.exited)), sleep(15000)]);
    for (const n of nodes) n.child.kill('SIGKILL');
    try { infra('kafka.sh', 'clean', '--port', String(KAFKA_PORT)); } catch { /* best effort */ }
    try { infra('redis.sh', 'clean', '--port', String(REDIS_PORT)); } catch { /* best effort */ }
  });

  it('the two nodes leased different worker ids, so socket ids never collide', async () => {
    const ids = infra('redis.sh', 'cli', '--port', String(REDIS_PORT), '--', 'MGET', 'wsgw:worker-id-of:gw-a', 'wsgw:worker-id-of:gw-b')
      .trim().split('\n');
    assert.equal(ids.length, 2);
    assert.notEqual(ids[0], ids[1], `worker ids ${ids}`);
  });

  it('client events reach wsgw.upstream with routing headers and the arguments as the value', async () => {
    const a = await connect(nodes[0].url, { transports: ['websocket'] });
    sockets.push(a);
    a.emit('edit', { op: 1 }, () => {});
    await sleep(500);
    const records = consumeUpstream(2);
    const connectRec = records.find((r) => r.headers['x-op'] === 'connect' && r.headers['x-sid'] === a.id);
    const eventRec = records.find((r) => r.headers['x-op'] === 'event' && r.headers['x-sid'] === a.id);
    assert.ok(connectRec, `connect record for ${a.id} in ${JSON.stringify(records)}`);
    assert.ok(eventRec, 'event record');
    assert.equal(eventRec.key, a.id);
    assert.equal(eventRec.headers['x-node'], 'gw-a');
    assert.equal(eventRec.headers['x-ns'], '/');
    assert.equal(eventRec.headers['x-event'], 'edit');
    assert.ok(eventRec.headers['x-ack-id'] !== undefined, 'ack id header');
    assert.ok(eventRec.headers['x-trace-id'], 'trace id');
    assert.match(eventRec.headers['x-ts-gateway-in'], /^\d{13}$/);
    assert.equal(eventRec.value, '[{"op":1}]');
  });

  it('a broadcast record reaches clients on both nodes; a node-addressed one only its node', async () => {
    const a = await connect(nodes[0].url, { transports: ['websocket'] });
    const b = await connect(nodes[1].url, { transports: ['polling'] });
    sockets.push(a, b);
    const gotA = [];
    const gotB = [];
    a.on('news', (x) => gotA.push(x));
    b.on('news', (x) => gotB.push(x));
    produce('wsgw.broadcast', [
      { headers: { 'x-op': 'emit', 'x-ns': '/' }, value: '2["news","all"]' },
      { headers: { 'x-op': 'emit', 'x-ns': '/', 'x-node': 'gw-b' }, value: '2["news","b only"]' },
    ]);
    for (let i = 0; i < 150 && (gotA.length < 1 || gotB.length < 2); i++) await sleep(100);
    await sleep(300);
    assert.deepEqual(gotA, ['all']);
    assert.deepEqual(gotB, ['all', 'b only']);
  });

  it('join then emit to the room reaches exactly the member', async () => {
    const a = await connect(nodes[0].url, { transports: ['websocket'] });
    const other = await connect(nodes[0].url, { transports: ['websocket'] });
    sockets.push(a, other);
    const seen = [];
    other.on('doc', () => seen.push('other'));
    // Kafka's console producer cannot pick a partition, so node-addressed records go through
    // wsgw.broadcast with x-node: after the consumer it is the same path as the node's own
    // downstream partition. Reading the node's own wsgw.downstream partition is not tested yet.
    produce('wsgw.broadcast', [{ headers: { 'x-op': 'join', 'x-ns': '/', 'x-node': 'gw-a', 'x-sid': a.id, 'x-room': 'doc:7' }, value: '' }]);
    await sleep(1000);
    const got = nextEvent(a, 'doc');
    produce('wsgw.broadcast', [{ headers: { 'x-op': 'emit', 'x-ns': '/', 'x-node': 'gw-a', 'x-room': 'doc:7' }, value: '2["doc",{"rev":3}]' }]);
    const [payload] = await got;
    assert.deepEqual(payload, { rev: 3 });
    assert.deepEqual(seen, [], 'a socket outside the room got the room message');
    const members = infra('redis.sh', 'cli', '--port', String(REDIS_PORT), '--', 'KEYS', 'wsgw:room*').trim();
    assert.ok(members.length > 0, 'the join is in Redis too');
  });

  it('kick disconnects the socket with "io server disconnect"', async () => {
    const a = await connect(nodes[1].url, { transports: ['websocket'] });
    sockets.push(a);
    const reason = nextEvent(a, 'disconnect');
    produce('wsgw.broadcast', [{ headers: { 'x-op': 'kick', 'x-ns': '/', 'x-node': 'gw-b', 'x-sid': a.id }, value: 'bye' }]);
    const [why] = await reason;
    assert.equal(why, 'io server disconnect');
  });

  it('sessions are in Redis while connected and gone after the node drains', async () => {
    const a = await connect(nodes[1].url, { transports: ['websocket'] });
    sockets.push(a);
    await sleep(300);
    const key = `wsgw:sess:${a.id}`;
    assert.equal(infra('redis.sh', 'cli', '--port', String(REDIS_PORT), '--', 'EXISTS', key).trim(), '1');
    nodes[1].child.kill('SIGTERM');
    const { code } = await nodes[1].exited;
    assert.equal(code, 0);
    assert.equal(infra('redis.sh', 'cli', '--port', String(REDIS_PORT), '--', 'EXISTS', key).trim(), '0');
  });
});
