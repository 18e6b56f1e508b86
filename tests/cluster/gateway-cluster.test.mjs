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

function consumeUpstream(count, timeoutMs = 20000) {
  const out = infra('kafka.sh', 'console-consumer', '--port', String(KAFKA_PORT), '--',
    '--bootstrap-server', BROKERS, '--topic', 'wsgw.upstream', '--from-beginning',
    '--max-messages', String(count), '--timeout-ms', String(timeoutMs),
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

const logPath = (name) => path.join(os.tmpdir(), `wsgw-cluster-${name}.log`);

function startGateway(name, port, extra = []) {
  const log = fs.openSync(logPath(name), 'w');
  const child = spawn(GATEWAY, ['--listen', `127.0.0.1:${port}`, '--threads', '2', '--log-level', 'info',
    '--kafka-brokers', BROKERS, '--redis', `redis://127.0.0.1:${REDIS_PORT}`, '--node-name', name,
    '--downstream-partitions', '4', '--namespaces', '/,/docs', '--touch-period', '1s', ...extra],
  { stdio: ['ignore', log, log] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, url: `http://127.0.0.1:${port}`, name };
}

const redis = (...args) => infra('redis.sh', 'cli', '--port', String(REDIS_PORT), '--', ...args).trim();

// Polls `check` (sync or async) every 100 ms until it returns a truthy value.
async function until(check, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

// One sample of a Prometheus text exposition, e.g. metric(text, 'wsgw_x_total{a="b"}').
function metric(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
const scrape = async (node) => (await fetch(`${node.url}/metrics`)).text();

// PUBLISHes on the node bus once `receivers` subscribers listen to the channel.
async function publishBus(channel, text, receivers = 1) {
  await until(() => Number(redis('PUBSUB', 'NUMSUB', channel).split('\n')[1]) >= receivers, 10000,
    `${receivers} subscribers on ${channel}`);
  return Number(redis('PUBLISH', channel, text));
}

function consumeAcks(partition) {
  const out = infra('kafka.sh', 'console-consumer', '--port', String(KAFKA_PORT), '--',
    '--bootstrap-server', BROKERS, '--topic', 'wsgw.acks', '--partition', String(partition),
    '--offset', 'earliest', '--max-messages', '1', '--timeout-ms', '20000',
    '--formatter-property', 'print.headers=true', '--formatter-property', 'print.key=true');
  return out.split('\n').filter((l) => l.startsWith('x-op:')).map((line) => {
    const [headerText, key, ...value] = line.split('\t');
    const headers = Object.fromEntries(headerText.split(',').map((h) => { const i = h.indexOf(':'); return [h.slice(0, i), h.slice(i + 1)]; }));
    return { headers, key, value: value.join('\t') };
  });
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

  it("a client's answer to a server ack goes to wsgw.acks, on the partition of the replica in the ack id", async () => {
    const a = await connect(nodes[0].url, { transports: ['websocket'] });
    sockets.push(a);
    a.on('question', (q, answer) => answer({ yes: q }));
    // ack id = (api worker id 5 << 32) | 7: partition 5 % 4 = 1 (contract.h ack_id_partition).
    const ackId = 5 * 2 ** 32 + 7;
    produce('wsgw.broadcast', [{ headers: { 'x-op': 'emit', 'x-ns': '/', 'x-node': 'gw-a', 'x-sid': a.id }, value: `2${ackId}["question",42]` }]);
    // Once the record is in Kafka (Kafka's console consumer, started on an empty partition,
    // sometimes missed it within its timeout).
    await until(async () => {
      const m = await scrape(nodes[0]);
      return metric(m, 'wsgw_ack_records_total') >= 1;
    }, 10000, 'the ack record produced');
    await sleep(1000);
    const [rec] = consumeAcks(1);
    assert.ok(rec, `an ack record on wsgw.acks partition 1 (wsgw_ack_records_total = ${metric(await scrape(nodes[0]), 'wsgw_ack_records_total')})`);
    assert.equal(rec.key, a.id);
    assert.equal(rec.headers['x-op'], 'ack');
    assert.equal(rec.headers['x-sid'], a.id);
    assert.equal(rec.headers['x-ack-id'], String(ackId));
    assert.equal(rec.headers['x-node'], 'gw-a');
    assert.equal(rec.value, '[{"yes":42}]');
    const upstream = consumeUpstream(1000, 3000);
    assert.ok(!upstream.some((r) => r.headers['x-op'] === 'ack'), 'no ack record on wsgw.upstream');
  });

  it('last-seen times are flushed in batches every --touch-period', async () => {
    const a = await connect(nodes[0].url, { transports: ['websocket'] });
    const b = await connect(nodes[1].url, { transports: ['polling'] });
    sockets.push(a, b);
    await sleep(200);
    const first = { a: Number(redis('ZSCORE', 'wsgw:seen', a.id)), b: Number(redis('ZSCORE', 'wsgw:seen', b.id)) };
    assert.ok(first.a > 0 && first.b > 0, `registered: ${JSON.stringify(first)}`);
    await until(() => Number(redis('ZSCORE', 'wsgw:seen', a.id)) > first.a
      && Number(redis('ZSCORE', 'wsgw:seen', b.id)) > first.b, 5000, 'a liveness flush on both nodes');
    const m = await scrape(nodes[0]);
    assert.ok(metric(m, 'wsgw_liveness_flushes_total') >= 1, 'flush counted');
  });

  it('downstream records with x-ts-api feed the api_to_gateway latency histogram; client metrics are exported', async () => {
    const a = await connect(nodes[0].url, { transports: ['websocket'] });
    sockets.push(a);
    const got = nextEvent(a, 'timed');
    produce('wsgw.broadcast', [{ headers: { 'x-op': 'emit', 'x-ns': '/', 'x-node': 'gw-a', 'x-sid': a.id, 'x-ts-api': String(Date.now()) }, value: '2["timed"]' }]);
    await got;
    const m = await until(async () => {
      const text = await scrape(nodes[0]);
      return metric(text, 'wsgw_kafka_producer_delivered_total') > 0 ? text : undefined;
    }, 5000, 'producer statistics on /metrics');
    assert.ok(metric(m, 'wsgw_stage_latency_seconds_count{stage="api_to_gateway"}') >= 1, 'latency observed');
    assert.ok(metric(m, 'wsgw_kafka_consumer_records_total') >= 1);
    assert.equal(metric(m, 'wsgw_redis_connected'), 1);
    assert.ok(metric(m, 'wsgw_redis_queued') >= 0);
  });

  it('the node bus sets the log level on every node and counts unknown commands without harm', async () => {
    assert.equal(await publishBus('wsgw:bus', 'log-level debug', 2), 2);
    await until(() => ['gw-a', 'gw-b'].every((n) => fs.readFileSync(logPath(n), 'utf8').includes('log level is now debug')),
      5000, 'both nodes at debug');
    assert.equal(await publishBus('wsgw:bus:gw-a', 'reboot --now'), 1);
    assert.equal(await publishBus('wsgw:bus:gw-a', 'log-level loud'), 1);
    await publishBus('wsgw:bus', 'log-level info', 2);
    const m = await until(async () => {
      const text = await scrape(nodes[0]);
      return metric(text, 'wsgw_bus_commands_total{command="log-level",result="ok"}') >= 2 ? text : undefined;
    }, 5000, 'bus metrics');
    assert.equal(metric(m, 'wsgw_bus_commands_total{command="unknown",result="unknown"}'), 1);
    assert.equal(metric(m, 'wsgw_bus_commands_total{command="log-level",result="malformed"}'), 1);
    assert.ok((await fetch(`${nodes[0].url}/healthz`)).ok, 'still alive');
    const mb = await scrape(nodes[1]);
    assert.equal(metric(mb, 'wsgw_bus_commands_total{command="unknown",result="unknown"}'), undefined, 'gw-b never saw gw-a\'s commands');
  });

  it('after redis-server restarts empty, every live session is registered again and still reachable', async () => {
    const ids = () => redis('MGET', 'wsgw:worker-id-of:gw-a', 'wsgw:worker-id-of:gw-b');
    const idsBefore = ids();
    const a = await connect(nodes[0].url, { transports: ['websocket'] });
    const a2 = await connect(nodes[0].url, { transports: ['polling'] });
    const b = await connect(nodes[1].url, { transports: ['websocket'] });
    sockets.push(a, a2, b);
    produce('wsgw.broadcast', [{ headers: { 'x-op': 'join', 'x-ns': '/', 'x-node': 'gw-a', 'x-sid': a.id, 'x-room': 'ops' }, value: '' }]);
    await until(() => redis('SISMEMBER', 'wsgw:sess-rooms:' + a.id, 'ops') === '1', 10000, 'the join');
    infra('redis.sh', 'stop', '--port', String(REDIS_PORT));
    await sleep(500);
    infra('redis.sh', 'start', '--port', String(REDIS_PORT));
    infra('redis.sh', 'wait', '--port', String(REDIS_PORT));
    assert.equal(redis('EXISTS', `wsgw:sess:${a.id}`), '0', 'the new server is empty');
    await until(() => [a, a2, b].every((s) => redis('EXISTS', `wsgw:sess:${s.id}`) === '1'), 15000,
      'sessions registered again');
    assert.equal(redis('HGET', `wsgw:sess:${a.id}`, 'node'), 'gw-a');
    assert.equal(redis('SISMEMBER', 'wsgw:node-sids:gw-b', b.id), '1');
    assert.equal(redis('SISMEMBER', 'wsgw:sess-rooms:' + a.id, 'ops'), '1', 'rooms come back too');
    assert.ok(Number(redis('ZSCORE', 'wsgw:seen', a.id)) > Date.now() - 15000, 'last-seen is recent, not the connect time');
    await until(() => ids() === idsBefore, 10000, `worker-id leases back as before (${idsBefore})`);
    const got = nextEvent(a2, 'again');
    produce('wsgw.broadcast', [{ headers: { 'x-op': 'emit', 'x-ns': '/', 'x-node': 'gw-a', 'x-sid': a2.id }, value: '2["again",1]' }]);
    assert.deepEqual(await got, [1]);
    const m = await scrape(nodes[0]);
    assert.ok(metric(m, 'wsgw_reregistrations_total') >= 1);
    assert.equal(metric(m, 'wsgw_worker_id_changes_total'), 0);
    // The bus subscriber re-subscribed by itself.
    assert.equal(await publishBus('wsgw:bus:gw-a', 'log-level info'), 1);
  });

  it('"drain" on the node bus drains that node only and it exits 0', async () => {
    const c = startGateway('gw-c', await freePort(), ['--shutdown-grace', '2s']);
    await waitHealthy(c.url);
    const s = await connect(c.url, { transports: ['websocket'] });
    const closed = nextEvent(s, 'disconnect');
    assert.equal(await publishBus('wsgw:bus:gw-c', 'drain'), 1);
    await closed;
    const { code } = await Promise.race([c.exited, sleep(10000).then(() => ({ code: 'timeout' }))]);
    assert.equal(code, 0);
    assert.ok((await fetch(`${nodes[0].url}/healthz`)).ok, 'the other nodes keep running');
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

  // Last: it kills the broker.
  it('with Kafka dead, SIGTERM still exits within --shutdown-grace (the final flush is bounded)', async () => {
    const d = startGateway('gw-d', await freePort(), ['--shutdown-grace', '2s']);
    await waitHealthy(d.url);
    const s = await connect(d.url, { transports: ['websocket'] });
    sockets.push(s);
    infra('kafka.sh', 'kill', '--port', String(KAFKA_PORT));
    for (let i = 0; i < 20; i++) s.emit('edit', { i });
    await sleep(300);
    const t0 = Date.now();
    d.child.kill('SIGTERM');
    const { code } = await Promise.race([d.exited, sleep(15000).then(() => ({ code: 'timeout' }))]);
    const took = Date.now() - t0;
    assert.equal(code, 0);
    assert.ok(took < 4500, `exited after ${took} ms with a 2 s grace`);
    assert.match(fs.readFileSync(logPath('gw-d'), 'utf8'), /not delivered to Kafka within the shutdown grace/);
  });
});
