// The Socket.IO protocol conformance behaviours, served by the CLUSTER instead of the gateway's
// built-in --conformance app: a cluster-mode ws-gateway (no --conformance) in front of Kafka,
// ws-api and the example component (api/example-component), which implements "auth",
// "message-back" and "message-with-ack" through the public gRPC API. Every Socket.IO answer
// takes the path gateway -> Kafka -> ws-api -> component -> ws-api -> Kafka -> gateway.
//
// tests/interop/test/14-protocol-conformance.test.mjs runs unchanged against that gateway
// (WSGW_EXTERNAL_URL, tests/interop/lib/harness.mjs). Not applicable in cluster mode, and so
// allowed to fail: the raw Engine.IO echo endpoint /engine.io/, which only --conformance serves
// (Engine.IO-level checks of the official suite, with no Socket.IO app behind them). Every
// other test of the suite must pass.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CLUSTER_DIR, ROOT, apiClient, assert, connectClient, nextEvent, sleep, startApi, startComponent, startGateway, startInfra, until, waitDownstreamLive,
} from './lib/cluster.mjs';

const SUITE = path.join(ROOT, 'tests/interop/test/14-protocol-conformance.test.mjs');
// Tests that use /engine.io/ (the --conformance echo endpoint).
const NOT_IN_CLUSTER_MODE = new Set([
  'echoes text and binary over WebSocket',
  'echoes a polling payload of text and base64 binary packets',
  'an invalid polling payload gets 400 and ends the session',
  'two concurrent GETs: the first gets a close packet, the second 400, the session ends',
]);
// The tests whose answers come from the component: they must pass.
const THROUGH_THE_COMPONENT = [
  'CONNECT to "/" answers with a sid only, then the auth event',
  'CONNECT to "/custom" with an auth payload',
  'leaving "/custom" leaves "/" working',
  'event with mixed arguments comes back verbatim',
  'binary event: header and both attachments come back',
  'ack with the same arguments',
  'binary ack',
];

function runSuite(extraEnv) {
  // A child of a node:test file inherits NODE_TEST_CONTEXT, which would make it skip its files.
  const { NODE_TEST_CONTEXT, ...env } = { ...process.env, ...extraEnv };
  void NODE_TEST_CONTEXT;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--test', `--test-reporter=${path.join(CLUSTER_DIR, 'lib/json-reporter.mjs')}`, SUITE],
      { cwd: path.join(ROOT, 'tests/interop'), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const t = setTimeout(() => child.kill('SIGKILL'), 150000);
    child.on('exit', (code) => {
      clearTimeout(t);
      const results = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      if (!results.length) reject(new Error(`the suite reported nothing (exit ${code}): ${out.slice(-2000)} ${err.slice(-2000)}`));
      else resolve(results);
    });
  });
}

describe('Socket.IO conformance through gateway -> Kafka -> ws-api -> example component', () => {
  let env, wsApi, gw, component;

  before(async () => {
    env = await startInfra();
    wsApi = await startApi(env, { name: 'conformance-api' });
    // The suite's settings; no --metrics-listen, so /admin/broadcast is served on the client port.
    gw = await startGateway(env, {
      name: 'conformance-gw', namespaces: '/,/custom', metrics: false,
      extraArgs: ['--ping-interval', '300', '--ping-timeout', '200', '--max-payload', '1000000'],
    });
    const probeApi = apiClient(wsApi.addr);
    await waitDownstreamLive(probeApi, gw).finally(() => probeApi.close());
    component = await startComponent(wsApi.addr);
  });

  after(async () => {
    await component?.stop();
    await gw?.stop();
    await wsApi?.stop();
    env?.clean();
  });

  it('a socket.io-client gets "auth" and "message-back" from the component', async () => {
    const s = await connectClient(gw.url, { auth: { who: 'me' } }).catch((err) => { throw new Error(`connect: ${err.message}`); });
    try {
      const [auth] = await nextEvent(s, 'auth', 10000);
      assert.deepEqual(auth, { who: 'me' });
      const back = nextEvent(s, 'message-back', 10000);
      s.emit('message', 1, 'two', { three: [true] });
      assert.deepEqual(await back, [1, 'two', { three: [true] }]);
      const ack = await s.timeout(10000).emitWithAck('message-with-ack', 'x', 2);
      assert.equal(ack, 'x');  // the first ack argument (emitWithAck resolves with one value)
    } finally {
      s.close();
    }
  });

  it('the component resubscribes by itself after ws-api restarts', async () => {
    const subscribedLines = () => (component.log().match(/subscribed group=/g) || []).length;
    const before = subscribedLines();
    await wsApi.stop();
    wsApi = await startApi(env, { name: 'conformance-api-2', grpcPort: wsApi.grpcPort });
    await until('the component subscribed again', () => subscribedLines() > before, 20000)
      .catch((err) => { throw new Error(`${err.message}\n${component.log()}`); });
    const s = await connectClient(gw.url, { auth: { again: true } });
    try {
      assert.deepEqual(await nextEvent(s, 'auth', 10000), [{ again: true }]);
    } finally {
      s.close();
    }
  });

  it('14-protocol-conformance passes against the cluster-mode gateway (except the /engine.io/ echo tests)', async (t) => {
    const results = await runSuite({ WSGW_EXTERNAL_URL: gw.url, WSGW_TARGET: 'gateway' });
    const failed = results.filter((r) => r.result === 'fail');
    const passed = new Set(results.filter((r) => r.result === 'pass').map((r) => r.name));
    const unexpected = failed.filter((r) => !NOT_IN_CLUSTER_MODE.has(r.name));
    for (const r of failed) t.diagnostic(`${NOT_IN_CLUSTER_MODE.has(r.name) ? 'n/a in cluster mode' : 'FAILED'}: ${r.name}: ${r.error}`);
    t.diagnostic(`suite: ${passed.size} passed, ${failed.length} failed, ${results.filter((r) => r.result === 'skip').length} skipped`);
    assert.deepEqual(unexpected.map((r) => `${r.name}: ${r.error}`), [], 'tests that must pass in cluster mode');
    for (const name of THROUGH_THE_COMPONENT) assert.ok(passed.has(name), `"${name}" passed`);
    assert.ok(passed.size >= 25, `${passed.size} tests passed`);
  });
});
