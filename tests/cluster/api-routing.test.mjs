// ws-api's gRPC API end to end, driven from Node (a client generated at run time from
// proto/wsgw/v1/api.proto, no C++): real Kafka and redis-server, one ws-api, two ws-gateway
// nodes in cluster mode with JWT auth, and socket.io-client clients on both nodes.
// Every delivery check names the exact set of clients that must receive an event and fails
// when any other client receives it too; targeted emits also check on the gateways' /metrics
// that a node without targets was not sent a single record.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  apiClient, assert, connectClient, grpc, makeTestPki, Manager, metricSum, nextEvent, record, SASL_OPTIONS, sleep,
  startApi, startComponent, startGateway, startInfra, summarize, until, waitDownstreamLive,
} from './lib/cluster.mjs';
import { nowSeconds, signJwt } from '../interop/lib/jwt.mjs';

const SECRET = 'cluster-api-test-secret';
const QUIET_MS = 500;  // after the expected recipients got an event: time for strays to show up

describe('ws-api gRPC API against two gateway nodes, real Kafka and Redis', () => {
  let env, wsApi, gwA, gwB, api;
  const opened = [];
  const streams = [];

  before(async () => {
    env = await startInfra();
    wsApi = await startApi(env, { name: 'routing-api' });
    [gwA, gwB] = await Promise.all([
      startGateway(env, { name: 'routing-gw-a', jwtSecret: SECRET }),
      startGateway(env, { name: 'routing-gw-b', jwtSecret: SECRET }),
    ]);
    api = apiClient(wsApi.addr);
    for (const gw of [gwA, gwB]) await waitDownstreamLive(api, gw, { auth: { token: token('probe') } });
  });

  after(async () => {
    for (const s of opened) s.close();
    for (const s of streams) s.cancel();
    api?.close();
    await Promise.all([gwA, gwB].filter(Boolean).map((g) => g.stop()));
    await wsApi?.stop();
    env?.clean();
  });

  const token = (uid) => signJwt({ sub: uid, iat: nowSeconds(), exp: nowSeconds() + 600 }, SECRET);

  /** A socket.io-client of user `uid` on `node`, recording every event it receives. */
  async function client(node, uid, { ns = '/' } = {}) {
    const s = record(await connectClient(node.url + (ns === '/' ? '' : ns), { auth: { token: token(uid) } }));
    s.label = `${node.name}:${uid}:${ns}:${s.id}`;
    s.uid = uid;
    opened.push(s);
    return s;
  }
  const received = (s, event) => s.received.filter(([e]) => e === event);

  /** Exactly `expected` (each once) out of `all` receive `event`, with `args`. */
  async function expectOnly(all, event, expected, args) {
    await until(`every expected recipient getting "${event}" (${expected.map((s) => s.label)})`,
      () => expected.every((s) => received(s, event).length > 0), 10000, 20);
    await sleep(QUIET_MS);
    const got = all.filter((s) => received(s, event).length > 0).map((s) => s.label).sort();
    assert.deepEqual(got, expected.map((s) => s.label).sort(), `recipients of "${event}"`);
    for (const s of expected) {
      assert.equal(received(s, event).length, 1, `${s.label} got "${event}" once`);
      if (args) assert.deepEqual(received(s, event)[0].slice(1), args, `arguments ${s.label} got`);
    }
  }

  /** Records on a node: applied plus skipped (addressed to another node sharing the partition). */
  const nodeRecords = async (node) => (await metricSum(node.metricsUrl, 'wsgw_downstream_records_total')) +
    (await metricSum(node.metricsUrl, 'wsgw_downstream_skipped_total'));

  /** How many times a gateway observed one stage of wsgw_stage_latency_seconds. */
  const stageCount = async (node, stage) => {
    const text = await (await fetch(`${node.metricsUrl}/metrics`)).text();
    const m = text.match(new RegExp(`^wsgw_stage_latency_seconds_count\\{stage="${stage}"\\} (\\S+)$`, 'm'));
    return m ? Number(m[1]) : 0;
  };

  /** nodeRecords once it stopped moving (commands just sent may still be on their way). */
  async function settledRecords(node) {
    let last = await nodeRecords(node);
    for (let i = 0; i < 20; i++) {
      await sleep(200);
      const now = await nodeRecords(node);
      if (now === last) return now;
      last = now;
    }
    return last;
  }

  /** Waits until ListUserSockets shows `count` sockets of uid (the gateways register asynchronously). */
  async function registered(uid, count) {
    await until(`${count} sockets of ${uid} in the registry`, async () =>
      (await api.ListUserSockets({ uid })).sockets.length === count, 5000);
  }

  describe('Emit', () => {
    let a1, a2, b1, b2, all;
    before(async () => {
      a1 = await client(gwA, 'emit-alice');
      a2 = await client(gwA, 'emit-bob');
      b1 = await client(gwB, 'emit-alice');
      b2 = await client(gwB, 'emit-carol');
      all = [a1, a2, b1, b2];
      await registered('emit-alice', 2);
      await registered('emit-carol', 1);
    });

    it('to a socket: only that socket, and the other node is sent no record', async () => {
      const beforeA = await settledRecords(gwA);
      const stagesBefore = [await stageCount(gwB, 'api_to_gateway'), await stageCount(gwB, 'api_to_socket')];
      const res = await api.Emit({ sid: b2.id, event: 'to-sid', args_json: '[1,"two",{"three":3}]' });
      assert.equal(res.target_nodes, 1);
      assert.match(res.trace_id, /\S/, 'a generated trace id');
      await expectOnly(all, 'to-sid', [b2], [1, 'two', { three: 3 }]);
      // The per-stage latency histograms saw the push: ws-api -> this gateway -> the socket.
      assert.ok(await stageCount(gwB, 'api_to_gateway') > stagesBefore[0], 'api_to_gateway observed');
      assert.ok(await stageCount(gwB, 'api_to_socket') > stagesBefore[1], 'api_to_socket observed');
      assert.equal(await nodeRecords(gwA), beforeA, `${gwA.name} (no target) received downstream records`);
    });

    it('to a user: every socket of the user on both nodes, nobody else', async () => {
      const res = await api.Emit({ uid: 'emit-alice', event: 'to-uid', args_json: '["hi"]', trace_id: 'trace-to-uid' });
      assert.equal(res.target_nodes, 2);
      assert.equal(res.trace_id, 'trace-to-uid', 'the caller\'s trace id is kept');
      await expectOnly(all, 'to-uid', [a1, b1], ['hi']);
    });

    it('to a user on one node only: the other node is sent no record', async () => {
      const beforeA = await settledRecords(gwA);
      const beforeB = await settledRecords(gwB);
      const res = await api.Emit({ uid: 'emit-carol', event: 'to-carol', args_json: '[]' });
      assert.equal(res.target_nodes, 1);
      await expectOnly(all, 'to-carol', [b2], []);
      assert.equal(await nodeRecords(gwA), beforeA, `${gwA.name} (no target) received downstream records`);
      assert.ok(await nodeRecords(gwB) > beforeB, `${gwB.name} counted the record it applied`);
    });

    it('to everyone: all sockets of the namespace on both nodes, except_sids honoured, other namespaces not', async () => {
      const docs = await client(gwB, 'emit-dora', { ns: '/docs' });
      const res = await api.Emit({ everyone: {}, event: 'to-all', args_json: '[{"n":1}]', except_sids: [a2.id] });
      assert.equal(res.target_nodes, 2, 'everyone: the number of live nodes');
      await expectOnly([...all, docs], 'to-all', [a1, b1, b2], [{ n: 1 }]);
    });

    it('to a user or socket that does not exist: OK with target_nodes 0, nobody receives anything', async () => {
      const beforeA = await settledRecords(gwA);
      const beforeB = await settledRecords(gwB);
      assert.equal((await api.Emit({ uid: 'nobody-at-all', event: 'to-nobody' })).target_nodes, 0);
      assert.equal((await api.Emit({ sid: 'NoSuchSocket123', event: 'to-nobody' })).target_nodes, 0);
      await sleep(QUIET_MS);
      assert.deepEqual(all.filter((s) => received(s, 'to-nobody').length), []);
      assert.equal(await nodeRecords(gwA), beforeA);
      assert.equal(await nodeRecords(gwB), beforeB);
    });

    it('binary attachments arrive as binary', async () => {
      await api.Emit({ sid: a1.id, event: 'to-bin', args_json: '["x",{"_placeholder":true,"num":0}]', attachments: [Buffer.from([1, 2, 3])] });
      await expectOnly(all, 'to-bin', [a1]);
      const [, text, bin] = received(a1, 'to-bin')[0];
      assert.equal(text, 'x');
      assert.deepEqual([...new Uint8Array(bin)], [1, 2, 3]);
    });

    it('10 attachments (the most socket.io-client decodes) arrive whole; 11 are INVALID_ARGUMENT', async () => {
      const placeholders = (n) => JSON.stringify(Array.from({ length: n }, (_, num) => ({ _placeholder: true, num })));
      const attachments = (n) => Array.from({ length: n }, (_, i) => Buffer.from([i, 255 - i]));
      await api.Emit({ sid: a1.id, event: 'many-bins', args_json: placeholders(10), attachments: attachments(10) });
      await until('"many-bins" delivered', () => received(a1, 'many-bins').length > 0, 10000, 20);
      const [[, ...bins]] = received(a1, 'many-bins');
      assert.equal(bins.length, 10);
      bins.forEach((bin, i) => assert.deepEqual([...new Uint8Array(bin)], [i, 255 - i], `attachment ${i}`));
      await assert.rejects(api.Emit({ sid: a1.id, event: 'too-many-bins', args_json: placeholders(11), attachments: attachments(11) }),
        (err) => err.code === grpc.status.INVALID_ARGUMENT && /attachments/.test(err.details));
      assert.ok(a1.connected, 'the client is still connected');
    });

    it('--downstream-backlog: a node whose workers are behind stops reading Kafka, then delivers everything', async () => {
      // Records of 100 KB against a 64 KiB budget: after each one the node waits for its
      // workers before it reads the next, so it never queues 2 MB in front of them.
      // The client's queue holds all 2 MB: a client slowed down by a busy machine must not be
      // closed as a slow consumer, which is not what this test is about.
      const gwC = await startGateway(env, {
        name: 'routing-gw-backlog', jwtSecret: SECRET,
        extraArgs: ['--downstream-backlog', '64KiB', '--max-queue-bytes', '4MiB'],
      });
      try {
        const c = await client(gwC, 'backlog-user');
        const big = 'x'.repeat(100 * 1000);
        await Promise.all(Array.from({ length: 20 }, (_, i) =>
          api.Emit({ sid: c.id, event: 'big', args_json: JSON.stringify([i, big]) })));
        await until('20 big emits delivered', () => received(c, 'big').length === 20, 30000, 20);
        assert.deepEqual(received(c, 'big').map(([, i]) => i).sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i));
        assert.ok(received(c, 'big').every(([, , text]) => text === big), 'payloads intact');
        assert.ok(await metricSum(gwC.metricsUrl, 'wsgw_downstream_pauses_total') >= 1, 'the node never paused');
        const t0 = Date.now();
        while (await metricSum(gwC.metricsUrl, 'wsgw_downstream_backlog_bytes') !== 0 && Date.now() - t0 < 5000) await sleep(200);
        assert.equal(await metricSum(gwC.metricsUrl, 'wsgw_downstream_backlog_bytes'), 0, 'bytes still counted after every record was applied');
        c.close();
      } finally {
        await gwC.stop();
      }
    });

    it('a gateway delivers API emits from the moment its /readyz answers 200', async () => {
      const gwC = await startGateway(env, { name: 'routing-gw-c', jwtSecret: SECRET });
      try {
        const c = await client(gwC, 'emit-early');
        assert.equal((await api.Emit({ sid: c.id, event: 'to-new-node', args_json: '[1]' })).target_nodes, 1);
        await until(`"to-new-node" on ${gwC.name}, emitted right after it became ready`, () => received(c, 'to-new-node').length > 0, 5000, 20);
      } finally {
        await gwC.stop();
      }
    });

    it('a sid is addressable the moment its client is connected (the CONNECT answer waits for Redis)', async () => {
      // 30 clients on each node, each addressed by sid in the same tick its "connect" fired:
      // no Emit may find the socket missing from the registry.
      const early = await Promise.all([gwA, gwB].flatMap((gw) => Array.from({ length: 30 }, async (_, i) => {
        const s = record(await connectClient(gw.url, { auth: { token: token(`early-${i}`) } }));
        opened.push(s);
        const res = await api.Emit({ sid: s.id, event: 'right-away', args_json: '[]' });
        return { s, targets: res.target_nodes };
      })));
      assert.deepEqual(early.filter((e) => e.targets !== 1).map((e) => e.s.id), [],
        'sids whose Emit found no node (target_nodes 0)');
      await until('every early client receiving "right-away"',
        () => early.every(({ s }) => received(s, 'right-away').length === 1), 10000, 20);
      for (const { s } of early) s.close();
    });

    it('invalid requests are INVALID_ARGUMENT (reserved event name, no target, bad JSON)', async () => {
      for (const req of [{ sid: a1.id, event: 'connect' }, { event: 'x' }, { sid: a1.id, event: 'x', args_json: '[1,' }]) {
        await assert.rejects(api.Emit(req), (err) => err.code === grpc.status.INVALID_ARGUMENT, JSON.stringify(req));
      }
    });
  });

  describe('rooms and presence', () => {
    let a1, a2, b1, b2, all;
    const ROOM = 'doc:42';
    before(async () => {
      a1 = await client(gwA, 'room-alice');
      a2 = await client(gwA, 'room-bob');
      b1 = await client(gwB, 'room-alice');
      b2 = await client(gwB, 'room-carol');
      all = [a1, a2, b1, b2];
      await registered('room-alice', 2);
    });
    const roomSids = async () => (await api.ListRoomSockets({ room: ROOM })).sockets.map((s) => s.sid).sort();
    const roomUids = async () => (await api.ListRoomUsers({ room: ROOM })).uids.slice().sort();
    const waitRoom = (sids) => until(`room ${ROOM} = ${sids}`, async () =>
      JSON.stringify(await roomSids()) === JSON.stringify(sids.slice().sort()), 5000);

    it('JoinRoom for a socket and for a user; the presence RPCs see them', async () => {
      assert.equal((await api.JoinRoom({ sid: a2.id, rooms: [ROOM] })).sockets, 1);
      assert.equal((await api.JoinRoom({ uid: 'room-alice', rooms: [ROOM, 'other-room'] })).sockets, 2);
      await waitRoom([a2.id, a1.id, b1.id]);
      assert.deepEqual(await roomUids(), ['room-alice', 'room-bob']);
      const listed = (await api.ListRoomSockets({ room: ROOM, include_rooms: true })).sockets;
      const bySid = Object.fromEntries(listed.map((s) => [s.sid, s]));
      assert.equal(bySid[a1.id].node, gwA.name);
      assert.equal(bySid[b1.id].node, gwB.name);
      assert.equal(bySid[b1.id].uid, 'room-alice');
      assert.equal(bySid[b1.id].namespace, '/');
      assert.deepEqual(bySid[a1.id].rooms.slice().sort(), [ROOM, 'other-room']);
      const counts = (await api.CountRooms({ rooms: [ROOM, 'other-room', 'empty-room'] })).counts;
      assert.deepEqual(counts.map((c) => [c.room, Number(c.sockets), Number(c.users)]),
        [[ROOM, 3, 2], ['other-room', 2, 1], ['empty-room', 0, 0]]);
      const alice = (await api.ListUserSockets({ uid: 'room-alice' })).sockets;
      assert.deepEqual(alice.map((s) => s.sid).sort(), [a1.id, b1.id].sort());
      assert.deepEqual(alice.map((s) => s.node).sort(), [gwA.name, gwB.name].sort());
    });

    it('emit to the room reaches exactly its members on both nodes', async () => {
      const res = await api.Emit({ room: ROOM, event: 'to-room', args_json: '[7]' });
      assert.equal(res.target_nodes, 2);
      await expectOnly(all, 'to-room', [a1, a2, b1], [7]);
    });

    it('LeaveRoom for a user, then for a socket', async () => {
      assert.equal((await api.LeaveRoom({ uid: 'room-alice', rooms: [ROOM] })).sockets, 2);
      await waitRoom([a2.id]);
      assert.deepEqual(await roomUids(), ['room-bob']);
      const beforeB = await settledRecords(gwB);  // the leave records themselves count
      assert.equal((await api.Emit({ room: ROOM, event: 'to-room-2', args_json: '[]' })).target_nodes, 1);
      await expectOnly(all, 'to-room-2', [a2]);
      assert.equal(await nodeRecords(gwB), beforeB, `${gwB.name} has no member any more`);
      assert.equal((await api.LeaveRoom({ sid: a2.id, rooms: [ROOM] })).sockets, 1);
      await waitRoom([]);
      assert.deepEqual((await api.CountRooms({ rooms: [ROOM] })).counts.map((c) => Number(c.sockets)), [0]);
      assert.equal((await api.Emit({ room: ROOM, event: 'to-room-3' })).target_nodes, 0);
    });
  });

  describe('Subscribe', () => {
    it('a client event reaches the stream with its headers intact', async () => {
      const sub = await api.subscribe({ kinds: ['CLIENT_EVENT_KIND_EVENT'], events: ['hello*'] });
      streams.push(sub);
      assert.ok(sub.started.subscription_id, 'subscription id');
      assert.ok(sub.started.group, 'a generated group');
      const s = await client(gwA, 'sub-alice');
      s.emit('hello', { x: 1 }, 'two');
      s.emit('not-matching', 1);
      const ev = await sub.waitFor((e) => e.sid === s.id, 10000, `"hello" of ${s.id}`);
      assert.equal(ev.kind, 'event');
      assert.equal(ev.event.name, 'hello');
      assert.equal(ev.event.args_json, '[{"x":1},"two"]');
      assert.equal(ev.event.ack, null, 'no callback: no ack reference');
      assert.equal(ev.uid, 'sub-alice');
      assert.equal(ev.namespace, '/');
      assert.match(ev.event_id, /\S/);
      assert.match(ev.metadata.trace_id, /\S/, 'trace id');
      assert.equal(ev.metadata.node, gwA.name);
      const hops = ev.metadata.hops.map((h) => h.hop);
      assert.ok(hops.includes('gateway-in'), `hops ${hops}`);
      const t = ev.metadata.hops.find((h) => h.hop === 'gateway-in').time;
      const ms = Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
      assert.ok(Math.abs(Date.now() - ms) < 60000, `gateway-in time ${ms} is now-ish`);
      await sleep(QUIET_MS);
      assert.deepEqual(sub.events.filter((e) => e.sid === s.id).map((e) => e.event.name), ['hello'], 'the event filter');
    });

    it('events emitted right after subscription_started are delivered (no settling time)', async () => {
      const s = await client(gwB, 'sub-early');
      for (let round = 0; round < 3; round++) {
        const sub = await api.subscribe({ group: `early-${round}`, kinds: ['CLIENT_EVENT_KIND_EVENT'], events: ['early'] }, { settleMs: 0 });
        streams.push(sub);
        s.emit('early', round);
        await sub.waitFor((e) => e.sid === s.id, 5000, `the "early" event of round ${round} (emitted right after subscription_started)`);
        sub.cancel();
      }
    });

    it('connects and disconnects reach the stream (with auth, node, reason)', async () => {
      const sub = await api.subscribe({ kinds: ['CLIENT_EVENT_KIND_CONNECTED', 'CLIENT_EVENT_KIND_DISCONNECTED'], namespaces: ['/doc*'] });
      streams.push(sub);
      const s = await client(gwB, 'sub-bob', { ns: '/docs' });
      const conn = await sub.waitFor((e) => e.sid === s.id && e.kind === 'connected', 10000, `connected of ${s.id}`);
      assert.equal(conn.connected.socket.sid, s.id);
      assert.equal(conn.connected.socket.uid, 'sub-bob');
      assert.equal(conn.connected.socket.namespace, '/docs');
      assert.equal(conn.connected.socket.node, gwB.name);
      assert.ok(JSON.parse(conn.connected.socket.auth_json).token, 'auth_json holds the CONNECT auth object');
      const sid = s.id;
      s.disconnect();
      const gone = await sub.waitFor((e) => e.sid === sid && e.kind === 'disconnected', 10000, `disconnected of ${sid}`);
      assert.match(gone.disconnected.reason, /\S/);
      // A "/" socket does not match the namespace filter.
      const root = await client(gwB, 'sub-bob');
      await sleep(QUIET_MS);
      assert.equal(sub.events.filter((e) => e.sid === root.id).length, 0, 'namespace filter');
    });

    it('groups: two members of one group split the events, another group gets all of them', async () => {
      const filter = { kinds: ['CLIENT_EVENT_KIND_EVENT'], events: ['grp-test'] };
      const m1 = await api.subscribe({ ...filter, group: 'split-group', subscriber: 'member-1' });
      const m2 = await api.subscribe({ ...filter, group: 'split-group', subscriber: 'member-2' });
      const whole = await api.subscribe({ ...filter, group: 'whole-group' });
      const alone = await api.subscribe(filter);  // no group: a group of its own
      streams.push(m1, m2, whole, alone);
      assert.equal(m1.started.group, 'split-group');
      // Events of one socket stay with one member, so use many sockets on both nodes.
      const senders = [];
      for (let i = 0; i < 16; i++) senders.push(await client(i % 2 ? gwB : gwA, `grp-user-${i}`));
      senders.forEach((s, i) => s.emit('grp-test', i));
      const N = senders.length;
      await until(`all ${N} events in the second group`, () => whole.events.length >= N, 15000, 20)
        .catch((err) => { throw new Error(`${err.message}: got ${summarize(whole.events)}`); });
      await until(`all ${N} events in the stream without a group`, () => alone.events.length >= N, 5000, 20)
        .catch((err) => { throw new Error(`${err.message}: got ${summarize(alone.events)}`); });
      await until(`all ${N} events split in the first group`, () => m1.events.length + m2.events.length >= N, 5000, 20)
        .catch((err) => { throw new Error(`${err.message}: m1 ${m1.events.length}, m2 ${m2.events.length}`); });
      await sleep(QUIET_MS);
      const argsOf = (sub) => sub.events.map((e) => JSON.parse(e.event.args_json)[0]).sort((x, y) => x - y);
      const all = [...Array(N).keys()];
      assert.deepEqual(argsOf(whole), all, 'the other group got every event once');
      assert.deepEqual(argsOf(alone), all, 'the stream without a group got every event once');
      assert.deepEqual([...argsOf(m1), ...argsOf(m2)].sort((x, y) => x - y), all, 'the group got every event exactly once');
      assert.ok(m1.events.length > 0 && m2.events.length > 0, `both members got a share (${m1.events.length}/${m2.events.length})`);
    });
  });

  describe('acknowledgements', () => {
    // The gateway registers a socket in Redis asynchronously; EmitWithAck answers NOT_FOUND for
    // a socket it cannot find there yet, so wait for the registration like a component would
    // (it learns of sockets from their `connected` event, which comes later than that).
    const inRegistry = (uid, sid) => until(`${sid} in the registry`, async () =>
      (await api.ListUserSockets({ uid })).sockets.some((x) => x.sid === sid), 5000);
    it('EmitWithAck: the client\'s answer comes back to the caller (sockets on both nodes)', async () => {
      for (const node of [gwA, gwB]) {
        const s = await client(node, 'ack-alice');
        await inRegistry('ack-alice', s.id);
        s.on('question', (n, callback) => callback({ answer: n * 2 }, 'ok'));
        const res = await api.EmitWithAck({ sid: s.id, event: 'question', args_json: '[21]', timeout: { seconds: 5, nanos: 0 } },
          { timeoutMs: 10000 });
        assert.equal(res.outcome, 'OUTCOME_ACKED', node.name);
        assert.deepEqual(JSON.parse(res.args_json), [{ answer: 42 }, 'ok']);
        assert.match(res.trace_id, /\S/);
      }
    });

    it('EmitWithAck: no answer -> OUTCOME_TIMEOUT after the timeout', async () => {
      const s = await client(gwB, 'ack-bob');
      await inRegistry('ack-bob', s.id);
      let asked = 0;
      s.on('silent', () => { asked++; });  // takes the callback but never calls it
      const started = Date.now();
      const res = await api.EmitWithAck({ sid: s.id, event: 'silent', args_json: '[]', timeout: { seconds: 1, nanos: 0 } },
        { timeoutMs: 10000 });
      const elapsed = Date.now() - started;
      assert.equal(res.outcome, 'OUTCOME_TIMEOUT');
      assert.equal(res.args_json, '');
      assert.equal(asked, 1, 'the client did get the event');
      assert.ok(elapsed >= 900 && elapsed < 5000, `answered after ${elapsed} ms`);
    });

    it('EmitWithAck: the socket disconnects before answering -> OUTCOME_DISCONNECTED', async () => {
      const s = await client(gwA, 'ack-carol');
      await inRegistry('ack-carol', s.id);
      s.on('leaving', () => s.disconnect());
      const res = await api.EmitWithAck({ sid: s.id, event: 'leaving', timeout: { seconds: 20, nanos: 0 } }, { timeoutMs: 25000 });
      assert.equal(res.outcome, 'OUTCOME_DISCONNECTED');
    });

    it('EmitWithAck to an unknown socket: NOT_FOUND', async () => {
      await assert.rejects(api.EmitWithAck({ sid: 'NoSuchSocket123', event: 'x', timeout: { seconds: 1, nanos: 0 } }),
        (err) => err.code === grpc.status.NOT_FOUND);
    });

    it('AnswerAck: the answer reaches the client\'s callback', async () => {
      const sub = await api.subscribe({ kinds: ['CLIENT_EVENT_KIND_EVENT'], events: ['needs-answer'] });
      streams.push(sub);
      const s = await client(gwB, 'ack-dave');
      const answered = new Promise((resolve) => s.emit('needs-answer', 7, (...args) => resolve(args)));
      const ev = await sub.waitFor((e) => e.sid === s.id, 10000, '"needs-answer"');
      assert.ok(ev.event.ack, 'the event carries an ack reference');
      assert.equal(ev.event.ack.sid, s.id);
      assert.equal(ev.event.ack.node, gwB.name);
      await api.AnswerAck({ ack: ev.event.ack, args_json: '["done",7]', trace_id: ev.metadata.trace_id });
      const args = await Promise.race([answered, sleep(10000).then(() => { throw new Error('callback not called within 10 s'); })]);
      assert.deepEqual(args, ['done', 7]);
    });
  });

  describe('disconnects', () => {
    it('DisconnectSocket: the client sees the notify event, then "io server disconnect"', async () => {
      const sub = await api.subscribe({ kinds: ['CLIENT_EVENT_KIND_DISCONNECTED'] });
      streams.push(sub);
      const target = await client(gwB, 'kick-alice');
      const bystander = await client(gwB, 'kick-alice');
      const sid = target.id;
      const reason = nextEvent(target, 'disconnect');
      const res = await api.DisconnectSocket({ sid, reason: 'account suspended', notify_event: 'why' });
      assert.equal(res.found, true);
      assert.equal((await reason)[0], 'io server disconnect');
      assert.deepEqual(received(target, 'why').map((r) => r.slice(1)), [['account suspended']]);
      const ev = await sub.waitFor((e) => e.sid === sid, 10000, `disconnected of ${sid}`);
      assert.equal(ev.disconnected.reason, 'kicked');
      assert.equal(ev.disconnected.detail, 'account suspended');
      assert.ok(bystander.connected, 'the user\'s other socket stays connected');
      await until('the socket gone from the registry', async () =>
        !(await api.DisconnectSocket({ sid, reason: 'again' })).found, 5000);
    });

    it('close_connection: the whole connection ends, every namespace socket on it', async () => {
      const manager = new Manager(gwB.url, { reconnection: false, transports: ['websocket'] });
      const auth = { token: token('kick-dave') };
      const main = record(manager.socket('/', { auth }));
      const docs = record(manager.socket('/docs', { auth }));
      await Promise.all([nextEvent(main, 'connect'), nextEvent(docs, 'connect')]);
      const bystander = await client(gwB, 'kick-dave');
      await registered('kick-dave', 2);  // ListUserSockets lists namespace "/": main and bystander
      const reasons = Promise.all([nextEvent(main, 'disconnect'), nextEvent(docs, 'disconnect')]);
      const res = await api.DisconnectSocket({ sid: main.id, reason: 'session revoked', close_connection: true });
      assert.equal(res.found, true);
      assert.deepEqual((await reasons).map((r) => r[0]), ['io server disconnect', 'io server disconnect'],
        'the other namespace on the same connection ends too');
      await until('the connection closed', () => manager.engine?.readyState !== 'open', 5000, 20);
      await registered('kick-dave', 1);
      assert.ok(bystander.connected, 'the user\'s other connection stays');
      manager._close?.();
    });

    it('DisconnectUser: every socket of the user on both nodes, nobody else', async () => {
      const u1 = await client(gwA, 'kick-bob');
      const u2 = await client(gwB, 'kick-bob');
      const other = await client(gwA, 'kick-carol');
      await registered('kick-bob', 2);
      const reasons = Promise.all([nextEvent(u1, 'disconnect'), nextEvent(u2, 'disconnect')]);
      const res = await api.DisconnectUser({ uid: 'kick-bob', reason: 'logged out everywhere' });
      assert.equal(res.sockets, 2);
      assert.deepEqual((await reasons).map((r) => r[0]), ['io server disconnect', 'io server disconnect']);
      await sleep(QUIET_MS);
      assert.ok(other.connected, 'another user stays connected');
      await registered('kick-bob', 0);
      assert.equal((await api.DisconnectUser({ uid: 'kick-bob' })).sockets, 0, 'idempotent');
    });
  });

  describe('Kafka behind SASL/PLAIN: --kafka-option on both daemons', () => {
    const kafkaOptions = (options) => options.flatMap((o) => ['--kafka-option', o]);
    const saslEnv = () => ({ ...env, brokers: env.saslBrokers });

    it('a ws-api and a gateway that reach Kafka only through the SASL listener deliver an Emit', async () => {
      const saslApi = await startApi(saslEnv(), { name: 'routing-sasl-api', extraArgs: kafkaOptions(SASL_OPTIONS) });
      const gw = await startGateway(saslEnv(), { name: 'routing-sasl-gw', jwtSecret: SECRET, extraArgs: kafkaOptions(SASL_OPTIONS) });
      const sapi = apiClient(saslApi.addr);
      try {
        const c = await client(gw, 'sasl-user');
        assert.equal((await sapi.Emit({ sid: c.id, event: 'over-sasl', args_json: '["ok"]' })).target_nodes, 1);
        await until('"over-sasl" delivered', () => received(c, 'over-sasl').length > 0, 10000, 20);
        assert.deepEqual(received(c, 'over-sasl')[0], ['over-sasl', 'ok']);
        c.close();
      } finally {
        sapi.close();
        await gw.stop();
        await saslApi.stop();
      }
    });

    it('a wrong password: the gateway exits at once and says why (authentication), without the password', async () => {
      const wrong = [...SASL_OPTIONS.filter((o) => !o.startsWith('sasl.password=')), 'sasl.password=not-the-secret'];
      const t0 = Date.now();
      const attempt = startGateway(saslEnv(), { name: 'routing-sasl-gw-bad', jwtSecret: SECRET, extraArgs: kafkaOptions(wrong) });
      await assert.rejects(attempt, (err) => {
        // The error carries the daemon's log; its first line is the test launcher's command line.
        const daemonLog = err.message.split('\n').filter((l) => !l.startsWith('# ')).join('\n');
        assert.match(daemonLog, /exited: \{"code":1/, 'the gateway exits with status 1');
        assert.match(daemonLog, /\[critical\].*SASL authentication error/, 'the fatal error names the SASL failure');
        assert.doesNotMatch(daemonLog, /not-the-secret/, 'the password is not logged');
        return true;
      });
      assert.ok(Date.now() - t0 < 15000, `gave up after ${Date.now() - t0} ms (an authentication failure is not retried for long)`);
    });
  });

  describe('component services over mutual TLS: --grpc-tls-cert/-key/-client-ca on ws-api', () => {
    let pkiDir, pki, tlsApi, component;
    const clientCredentials = (ca, cert) => grpc.credentials.createSsl(
      pki.pem(`${ca}.crt`), cert ? pki.pem(`${cert}.key`) : null, cert ? pki.pem(`${cert}.crt`) : null);

    before(async () => {
      pkiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsgw-cluster-pki-'));
      pki = makeTestPki(pkiDir);
      tlsApi = await startApi(env, {
        name: 'routing-tls-api',
        extraArgs: ['--grpc-tls-cert', pki.path('server.crt'), '--grpc-tls-key', pki.path('server.key'),
          '--grpc-tls-client-ca', pki.path('ca.crt')],
      });
    });

    after(async () => {
      await component?.stop();
      await tlsApi?.stop();
      if (pkiDir) fs.rmSync(pkiDir, { recursive: true, force: true });
    });

    it('a client with a certificate from the client CA emits to a socket', async () => {
      const tapi = apiClient(tlsApi.addr, clientCredentials('ca', 'client'));
      try {
        const c = await client(gwA, 'tls-user');
        assert.equal((await tapi.Emit({ sid: c.id, event: 'over-mtls', args_json: '["ok"]' })).target_nodes, 1);
        await until('"over-mtls" delivered', () => received(c, 'over-mtls').length > 0, 10000, 20);
        assert.deepEqual(received(c, 'over-mtls')[0], ['over-mtls', 'ok']);
        c.close();
      } finally {
        tapi.close();
      }
    });

    it('no client certificate, one from another CA, or plaintext: UNAVAILABLE, nothing sent', async () => {
      const c = await client(gwA, 'tls-refused');
      const attempts = {
        'no client certificate': clientCredentials('ca', null),
        'a certificate from another CA': clientCredentials('ca', 'other-client'),
        plaintext: grpc.credentials.createInsecure(),
      };
      for (const [what, credentials] of Object.entries(attempts)) {
        const refused = apiClient(tlsApi.addr, credentials);
        try {
          await assert.rejects(refused.Emit({ sid: c.id, event: 'must-not-arrive', args_json: '[]' }, { timeoutMs: 5000 }),
            (err) => err.code === grpc.status.UNAVAILABLE, `${what}: not refused`);
        } finally {
          refused.close();
        }
      }
      await sleep(QUIET_MS);
      assert.equal(received(c, 'must-not-arrive').length, 0);
      c.close();
    });

    it('the example component (--tls-ca/--tls-cert/--tls-key) answers client events over mutual TLS', async () => {
      component = await startComponent(tlsApi.addr, {
        name: 'routing-tls-component', group: 'routing-tls',
        extraArgs: ['--tls-ca', pki.path('ca.crt'), '--tls-cert', pki.path('client.crt'), '--tls-key', pki.path('client.key')],
      });
      const c = await client(gwA, 'tls-component-user');
      c.emit('message', 'through', 'mTLS');
      await until('"message-back" from the component', () => received(c, 'message-back').length > 0, 10000, 20);
      assert.deepEqual(received(c, 'message-back')[0], ['message-back', 'through', 'mTLS']);
      c.close();
    });
  });
});
