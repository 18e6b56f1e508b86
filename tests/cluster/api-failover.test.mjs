// Failures around ws-api, checked from a Node gRPC client: a Kafka broker restart must not lose
// client events on their way to a Subscribe stream, and a gateway node killed with SIGKILL must
// be reaped (its sessions leave Redis, `disconnected` events with reason "node_lost" reach the
// subscribers) while its clients reconnect to the other node.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  ROOT, apiClient, assert, connectClient, nextEvent, sleep, startApi, startGateway, startInfra, until,
} from './lib/cluster.mjs';
import { startBalancer } from './lib/tcp-balancer.mjs';

const NODE_TIMEOUT_MS = 3000;
const REAPER_PERIOD_MS = 500;
const run = promisify(execFile);

describe('ws-api under failures (broker restart, gateway crash)', () => {
  let env, wsApi, gwA, gwB, api, balancer;
  const opened = [];
  const streams = [];

  before(async () => {
    env = await startInfra();
    wsApi = await startApi(env, { name: 'failover-api', nodeTimeout: `${NODE_TIMEOUT_MS}ms`, reaperPeriod: `${REAPER_PERIOD_MS}ms` });
    [gwA, gwB] = await Promise.all([
      startGateway(env, { name: 'failover-gw-a' }),
      startGateway(env, { name: 'failover-gw-b' }),
    ]);
    api = apiClient(wsApi.addr);
  });

  after(async () => {
    for (const s of opened) s.close();
    for (const s of streams) s.cancel();
    balancer?.close();
    api?.close();
    await Promise.all([gwA, gwB].filter(Boolean).map((g) => g.stop()));
    await wsApi?.stop();
    env?.clean();
  });

  it('Kafka broker restart: every client event sent before, during and after it reaches the stream', async (t) => {
    const sub = await api.subscribe({ group: 'failover-restart', kinds: ['CLIENT_EVENT_KIND_EVENT'], events: ['seq'] });
    streams.push(sub);
    const senders = [await connectClient(gwA.url), await connectClient(gwB.url)];
    opened.push(...senders);
    // A first event end to end, so the path is known to work before the broker goes away.
    senders[0].emit('seq', 'warm-up');
    await sub.waitFor((e) => e.event.args_json === '["warm-up"]', 20000, 'the warm-up event');

    let sent = 0;
    let sending = true;
    const loop = (async () => {
      while (sending) {
        senders[sent % 2].emit('seq', sent);
        sent++;
        await sleep(50);
      }
    })();
    await sleep(1000);
    const kafka = path.join(ROOT, 'tests/infra/kafka.sh');
    const t0 = Date.now();
    await run(kafka, ['stop', '--port', String(env.kafkaPort)]);
    const sentWhileDown = sent;
    await sleep(1000);  // events keep coming while no broker is up
    await run(kafka, ['start', '--port', String(env.kafkaPort)]);
    await run(kafka, ['wait', '--port', String(env.kafkaPort)]);
    const restartMs = Date.now() - t0;
    await sleep(1500);
    sending = false;
    await loop;
    assert.ok(senders.every((s) => s.connected), 'the clients stayed connected to their gateways');

    const seen = () => new Set(sub.events.map((e) => JSON.parse(e.event.args_json)[0]).filter((v) => typeof v === 'number'));
    await until(`all ${sent} events in the stream`, () => seen().size >= sent, 60000, 100).catch(() => {});
    const got = seen();
    const missing = [...Array(sent).keys()].filter((i) => !got.has(i));
    const ids = sub.events.map((e) => e.event_id);
    const duplicates = ids.length - new Set(ids).size;
    assert.ok(sentWhileDown > 0 && sent > sentWhileDown + 20, `events sent around the outage (${sentWhileDown} before stop, ${sent} total)`);
    assert.deepEqual(missing, [], `lost ${missing.length} of ${sent} events (restart took ${restartMs} ms)`);
    t.diagnostic(`${sent} events (${sentWhileDown} before the stop), broker down and back in ${restartMs} ms, ` +
      `${duplicates} delivered twice (allowed: same event_id)`);
  });

  it('kill -9 of a gateway: sessions leave Redis, node_lost reaches the stream, clients reconnect to the other node', async (t) => {
    const sub = await api.subscribe({ group: 'failover-kill', kinds: ['CLIENT_EVENT_KIND_DISCONNECTED', 'CLIENT_EVENT_KIND_CONNECTED'] });
    streams.push(sub);
    // Both clients reach the gateways through one address, as through a Kubernetes Service:
    // gw-b while it lives, gw-a after. Their own reconnection logic finds the live node.
    const backend = (g) => ({ host: '127.0.0.1', port: g.port });
    balancer = await startBalancer([backend(gwB), backend(gwA)]);
    const victims = [];
    for (let i = 0; i < 2; i++) {
      victims.push(await connectClient(balancer.url, { reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 500 }));
    }
    const survivor = await connectClient(gwA.url);
    opened.push(...victims, survivor);
    const victimSids = victims.map((v) => v.id);
    const sessionKeys = victimSids.map((sid) => `wsgw:sess:${sid}`);
    await until('the victims\' sessions in Redis', () => env.redis('EXISTS', ...sessionKeys) === '2', 5000);
    for (const sid of victimSids) {
      const ev = await sub.waitFor((e) => e.kind === 'connected' && e.sid === sid, 10000, `connected of ${sid}`);
      assert.equal(ev.connected.socket.node, gwB.name, 'the victims are on gw-b');
    }

    const reconnected = victims.map((v) => nextEvent(v, 'connect', 20000));
    const killedAt = Date.now();
    await gwB.kill();

    const budget = NODE_TIMEOUT_MS + REAPER_PERIOD_MS + 5000;
    const lost = [];
    for (const sid of victimSids) {
      const ev = await sub.waitFor((e) => e.kind === 'disconnected' && e.sid === sid, budget, `node_lost disconnect of ${sid}`);
      assert.equal(ev.disconnected.reason, 'node_lost');
      assert.equal(ev.metadata.node || gwB.name, gwB.name);
      lost.push(Date.now() - killedAt);
    }
    assert.ok(Math.max(...lost) < budget, `reaped after ${lost} ms`);
    t.diagnostic(`node_lost events ${lost.join(', ')} ms after the SIGKILL (node timeout ${NODE_TIMEOUT_MS} ms)`);
    assert.equal(env.redis('EXISTS', ...sessionKeys), '0', 'the dead node\'s sessions are gone from Redis');
    assert.equal(env.redis('EXISTS', `wsgw:sess:${survivor.id}`), '1', 'the live node\'s session stays');
    assert.equal(sub.events.filter((e) => e.kind === 'disconnected' && e.sid === survivor.id).length, 0, 'no disconnect for the survivor');
    // No double report for the victims.
    for (const sid of victimSids) {
      assert.equal(sub.events.filter((e) => e.kind === 'disconnected' && e.sid === sid).length, 1, `one disconnect for ${sid}`);
    }

    await Promise.all(reconnected);
    for (const v of victims) {
      assert.ok(v.connected && !victimSids.includes(v.id), 'reconnected with a new socket id');
      const ev = await sub.waitFor((e) => e.kind === 'connected' && e.sid === v.id, 10000, `connected of the new ${v.id}`);
      assert.equal(ev.connected.socket.node, gwA.name, 'the new session lives on the surviving node');
    }
    // And the API reaches them there.
    const res = await api.Emit({ sid: victims[0].id, event: 'welcome-back', args_json: '[1]' });
    assert.equal(res.target_nodes, 1);
    assert.deepEqual(await nextEvent(victims[0], 'welcome-back'), [1]);
  });
});
