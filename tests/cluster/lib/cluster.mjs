// Shared helpers of the cluster tests: a real Kafka broker and redis-server (tests/infra), ws-api,
// ws-gateway nodes in cluster mode, the example component, a gRPC client of wsgw.v1 generated
// at run time from proto/ (@grpc/grpc-js + @grpc/proto-loader: the "any language" client), and
// socket.io-client connections. Every process started here is SIGKILLed when the test process
// exits, so a failed test never leaves a gateway or ws-api behind.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { io, Manager } from '../../interop/node_modules/socket.io-client/build/esm-debug/index.js';

export { grpc };
export const CLUSTER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = path.resolve(CLUSTER_DIR, '../..');
export const LOG_DIR = path.join(CLUSTER_DIR, '.logs');
export const GATEWAY_BIN = process.env.WSGW_GATEWAY_BIN || path.join(ROOT, 'build/gateway/app/ws-gateway');
export const API_BIN = process.env.WSGW_API_BIN || path.join(ROOT, 'build/api/app/ws-api');
export const COMPONENT = path.join(ROOT, 'api/example-component/component.mjs');
export const HOST = '127.0.0.1';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Processes.

const children = new Set();
process.on('exit', () => { for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } } });

function tail(file, max = 3000) {
  try { const t = fs.readFileSync(file, 'utf8'); return t.length > max ? '...' + t.slice(-max) : t; } catch { return '(no log)'; }
}

/** Spawns a long-running process with its output in .logs/<name>.log. */
function launch(name, command, args, env) {
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const logFile = path.join(LOG_DIR, `${name}.log`);
  const fd = fs.openSync(logFile, 'w');
  fs.writeSync(fd, `# ${new Date().toISOString()} ${command} ${args.join(' ')}\n`);
  const child = spawn(command, args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
  fs.closeSync(fd);
  children.add(child);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => { exitInfo = { code, signal }; children.delete(child); resolve(exitInfo); });
    child.once('error', (error) => { exitInfo = { code: null, signal: null, error }; children.delete(child); resolve(exitInfo); });
  });
  return {
    name, child, pid: child.pid, exited, logFile,
    running: () => exitInfo === null,
    log: () => tail(logFile),
    /** SIGKILL at once (crash simulation). */
    async kill() { if (exitInfo) return exitInfo; child.kill('SIGKILL'); return exited; },
    /** SIGTERM, SIGKILL after timeoutMs. */
    async stop(timeoutMs = 10000) {
      if (exitInfo) return exitInfo;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, HOST, () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

/** A free port whose successor is free too (Kafka's controller listens on PORT+1). */
export async function freePortPair() {
  for (let i = 0; i < 50; i++) {
    const p = await freePort();
    if (p < 65535 && await portIsFree(p + 1)) return p;
  }
  throw new Error('no two consecutive free ports');
}

async function until(what, predicate, timeoutMs, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try { if (await predicate()) return; } catch (err) { if (err.fatal) throw err; last = err; }
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms${last ? ` (last: ${last.message})` : ''}`);
    await sleep(intervalMs);
  }
}
export { until };

// ---------------------------------------------------------------------------------------------
// Kafka and Redis (tests/infra).

export const infra = (script, ...args) => execFileSync(path.join(ROOT, 'tests/infra', script), args,
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** librdkafka properties for the broker's SASL/PLAIN listener (saslBrokers), as --kafka-option. */
export const SASL_OPTIONS = ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanisms=PLAIN',
  'sasl.username=wsgw', 'sasl.password=wsgw-secret'];

/**
 * Starts a fresh Kafka broker and redis-server on free ports. The broker also listens with
 * SASL/PLAIN on saslBrokers (tests/infra/kafka.sh, WSGW_KAFKA_SASL_PORT; credentials SASL_OPTIONS).
 */
export async function startInfra() {
  const kafkaPort = await freePortPair();
  const redisPort = await freePort();
  const saslPort = await freePort();
  infra('redis.sh', 'start', '--port', String(redisPort));
  process.env.WSGW_KAFKA_SASL_PORT = String(saslPort);
  try {
    infra('kafka.sh', 'start', '--port', String(kafkaPort));
  } finally {
    delete process.env.WSGW_KAFKA_SASL_PORT;
  }
  infra('redis.sh', 'wait', '--port', String(redisPort));
  infra('kafka.sh', 'wait', '--port', String(kafkaPort));
  return {
    kafkaPort,
    redisPort,
    brokers: `${HOST}:${kafkaPort}`,
    saslBrokers: `${HOST}:${saslPort}`,
    redisUrl: `redis://${HOST}:${redisPort}`,
    redis: (...args) => infra('redis.sh', 'cli', '--port', String(redisPort), '--', ...args).trim(),
    kafka: (command) => infra('kafka.sh', command, '--port', String(kafkaPort)),
    clean() {
      try { infra('kafka.sh', 'clean', '--port', String(kafkaPort)); } catch { /* best effort */ }
      try { infra('redis.sh', 'clean', '--port', String(redisPort)); } catch { /* best effort */ }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// ws-api, gateways, the example component.

async function waitHttp(url, proc, timeoutMs = 30000) {
  await until(`${proc.name} answering ${url}`, async () => {
    if (!proc.running()) {
      // Fatal for until(): a process that exited will not answer later.
      throw Object.assign(new Error(`${proc.name} exited: ${JSON.stringify(await proc.exited)}`), { fatal: true });
    }
    const r = await fetch(url);
    return r.ok;
  }, timeoutMs).catch((err) => { throw new Error(`${err.message}\n${proc.log()}`); });
}

/**
 * ws-api in cluster mode. options: name, nodeTimeout ('3s'), reaperPeriod ('500ms'),
 * partitions (4), grpcPort (default: a free one), extraArgs. Resolves once /readyz answers 200.
 */
export async function startApi(env, { name = 'api-1', nodeTimeout = '3s', reaperPeriod = '500ms', partitions = 4, grpcPort, extraArgs = [] } = {}) {
  grpcPort ??= await freePort();
  const metricsPort = await freePort();
  const args = ['--grpc-listen', `${HOST}:${grpcPort}`, '--metrics-listen', `${HOST}:${metricsPort}`,
    '--kafka-brokers', env.brokers, '--redis', env.redisUrl, '--node-name', name,
    '--downstream-partitions', String(partitions), '--node-timeout', nodeTimeout,
    '--reaper-period', reaperPeriod, '--log-level', process.env.WSGW_API_LOG_LEVEL || 'debug', ...extraArgs];
  const proc = launch(name, API_BIN, args);
  const metricsUrl = `http://${HOST}:${metricsPort}`;
  await waitHttp(`${metricsUrl}/readyz`, proc);
  return { ...proc, addr: `${HOST}:${grpcPort}`, grpcPort, metricsUrl };
}

/**
 * A ws-gateway node in cluster mode. options: name, partitions, jwtSecret (then --auth jwt),
 * metrics (serve /metrics on a separate port; off: on the client port, plus /admin/*),
 * extraArgs (e.g. ['--ping-interval', '300']).
 */
export async function startGateway(env, { name, partitions = 4, jwtSecret, namespaces = '/,/docs', metrics = true, extraArgs = [] }) {
  const port = await freePort();
  const args = ['--listen', `${HOST}:${port}`, '--threads', '2', '--log-level', process.env.WSGW_GATEWAY_LOG_LEVEL || 'debug',
    '--kafka-brokers', env.brokers, '--redis', env.redisUrl, '--node-name', name,
    '--downstream-partitions', String(partitions), '--namespaces', namespaces];
  let metricsUrl = `http://${HOST}:${port}`;
  if (metrics) {
    const metricsPort = await freePort();
    args.push('--metrics-listen', `${HOST}:${metricsPort}`);
    metricsUrl = `http://${HOST}:${metricsPort}`;
  }
  if (jwtSecret) args.push('--auth', 'jwt', '--jwt-secret', jwtSecret);
  args.push(...extraArgs);
  const proc = launch(name, GATEWAY_BIN, args);
  await waitHttp(`${metricsUrl}/readyz`, proc);
  return { ...proc, url: `http://${HOST}:${port}`, port, metricsUrl };
}

/**
 * Certificates made with the `openssl` command in `dir`: a CA "ca" with a server certificate
 * for 127.0.0.1 ("server") and a client certificate ("client"), and a second CA "other-ca"
 * with a client certificate ("other-client"). Returns { path(name), pem(name) }, where name is
 * e.g. 'server.crt' or 'client.key'.
 */
export function makeTestPki(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const file = (name) => path.join(dir, name);
  const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  for (const ca of ['ca', 'other-ca']) {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${ca}`,
      '-keyout', file(`${ca}.key`), '-out', file(`${ca}.crt`));
  }
  const leaf = (name, ca, extensions) => {
    fs.writeFileSync(file(`${name}.ext`), extensions);
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', file(`${name}.key`),
      '-out', file(`${name}.csr`));
    openssl('x509', '-req', '-days', '2', '-in', file(`${name}.csr`), '-CA', file(`${ca}.crt`), '-CAkey',
      file(`${ca}.key`), '-CAcreateserial', '-extfile', file(`${name}.ext`), '-out', file(`${name}.crt`));
  };
  leaf('server', 'ca', `subjectAltName=IP:${HOST},DNS:localhost\nextendedKeyUsage=serverAuth\n`);
  leaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  leaf('other-client', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  return { path: file, pem: (name) => fs.readFileSync(file(name)) };
}

/** The example component (api/example-component), resolved once it logged its subscription. */
export async function startComponent(apiAddr, { name = 'component', group = 'conformance', extraArgs = [] } = {}) {
  const proc = launch(name, process.execPath, [COMPONENT, '--addr', apiAddr, '--group', group, ...extraArgs]);
  await until(`${name} subscribed`, () => {
    if (!proc.running()) throw new Error(`component exited\n${proc.log()}`);
    return /subscribed group=/.test(fs.readFileSync(proc.logFile, 'utf8'));
  }, 20000).catch((err) => { throw new Error(`${err.message}\n${proc.log()}`); });
  await sleep(SUBSCRIBE_SETTLE_MS);  // see apiClient().subscribe
  return proc;
}

// ---------------------------------------------------------------------------------------------
// Metrics.

/** Sum of every series of one metric (all label sets) in a Prometheus text page. */
export async function metricSum(metricsUrl, name) {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/);
    if (m && m[1] === name) sum += Number(m[3]);
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------
// The gRPC client of wsgw.v1, generated from proto/ at run time.

// Extra wait after subscription_started (0: none). ws-api promises that events after
// subscription_started are delivered; the knob exists only to diagnose that promise.
export const SUBSCRIBE_SETTLE_MS = Number(process.env.WSGW_SUBSCRIBE_SETTLE_MS ?? 0);

let apiPackage;
export function loadApi() {
  if (!apiPackage) {
    const protoDir = path.join(ROOT, 'proto');
    const def = protoLoader.loadSync(path.join(protoDir, 'wsgw/v1/api.proto'), {
      includeDirs: [protoDir], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
    });
    apiPackage = grpc.loadPackageDefinition(def).wsgw.v1;
  }
  return apiPackage;
}

/**
 * A client whose unary methods return promises: await api.Emit({...}).
 * A rejected call carries err.code (grpc.status) and err.details.
 * credentials: plaintext by default; grpc.credentials.createSsl(...) for a ws-api with TLS.
 */
export function apiClient(addr, credentials = grpc.credentials.createInsecure()) {
  const client = new (loadApi().WsApiService)(addr, credentials);
  const unary = (method) => (request, { timeoutMs = 10000 } = {}) => new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) { err.message = `${method}: ${grpc.status[err.code]} ${err.details}`; reject(err); } else resolve(res);
    });
  });
  const methods = ['Emit', 'EmitWithAck', 'JoinRoom', 'LeaveRoom', 'DisconnectSocket', 'DisconnectUser',
    'ListRoomSockets', 'ListRoomUsers', 'ListUserSockets', 'CountRooms', 'AnswerAck'];
  const api = Object.fromEntries(methods.map((m) => [m, unary(m)]));
  api.raw = client;
  api.close = () => client.close();
  /**
   * Opens a Subscribe stream. Resolves after subscription_started with
   * { started, events (array, filled as they come), waitFor(pred, ms), cancel(), status }.
   * settleMs: extra wait after subscription_started before resolving (default 0). The contract
   * says events flow from subscription_started on, and ws-api keeps it (the consumer's start
   * offsets are pinned before its partitions count as assigned); api-routing's "right after
   * subscription_started" test checks exactly that.
   */
  api.subscribe = (request = {}, { timeoutMs = 15000, settleMs = SUBSCRIBE_SETTLE_MS } = {}) => new Promise((resolve, reject) => {
    const stream = client.Subscribe(request);
    const sub = { events: [], status: null, stream, waiters: new Set() };
    const timer = setTimeout(() => { stream.cancel(); reject(new Error(`Subscribe: no subscription_started within ${timeoutMs} ms`)); }, timeoutMs);
    stream.on('data', (ev) => {
      if (ev.kind === 'subscription_started') {
        clearTimeout(timer);
        sub.started = ev.subscription_started;
        setTimeout(() => resolve(sub), settleMs);
        return;
      }
      sub.events.push(ev);
      for (const w of [...sub.waiters]) w();
    });
    stream.on('error', () => {});
    stream.on('status', (status) => {
      sub.status = status;
      clearTimeout(timer);
      reject(Object.assign(new Error(`Subscribe: ${grpc.status[status.code]} ${status.details}`), { code: status.code }));
      for (const w of [...sub.waiters]) w();
    });
    /** Resolves with the first received event matching pred (already received ones count). */
    sub.waitFor = (pred, ms = 10000, what = 'a matching event') => new Promise((res, rej) => {
      const check = () => {
        const found = sub.events.find(pred);
        if (found) { done(); res(found); return true; }
        if (sub.status) { done(); rej(new Error(`stream ended (${grpc.status[sub.status.code]} ${sub.status.details}) before ${what}`)); return true; }
        return false;
      };
      const t = setTimeout(() => { done(); rej(new Error(`no ${what} within ${ms} ms; got ${sub.events.length} events: ${summarize(sub.events)}`)); }, ms);
      const done = () => { clearTimeout(t); sub.waiters.delete(check); };
      if (!check()) sub.waiters.add(check);
    });
    sub.cancel = () => { stream.cancel(); };
  });
  return api;
}

/**
 * Waits until `gateway` applies API commands: a probe client gets Emits until one arrives.
 * A gateway answers /readyz before its downstream consumer has resolved its start offset, so
 * records produced in the first moments are skipped (api-routing's "from the moment /readyz"
 * test checks that strictly); the other tests wait here so they check what they are about.
 */
export async function waitDownstreamLive(api, gateway, options = {}, ms = 20000) {
  const probe = record(await connectClient(gateway.url, options));
  try {
    await until(`${gateway.name} delivering API emits`, async () => {
      await api.Emit({ sid: probe.id, event: 'probe' });
      await sleep(200);
      return probe.received.length > 0;
    }, ms, 0);
  } finally {
    probe.close();
  }
}

export function summarize(events, max = 20) {
  return events.slice(-max).map((e) => `${e.kind}:${e.sid}${e.event ? `:${e.event.name}` : ''}${e.disconnected ? `:${e.disconnected.reason}` : ''}`).join(', ');
}

// ---------------------------------------------------------------------------------------------
// socket.io-client.

/** Connects a socket.io-client (no automatic reconnection) and resolves once connected. */
export function connectClient(url, options = {}, ms = 10000) {
  const s = io(url, { reconnection: false, transports: ['websocket'], forceNew: true, ...options });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { s.close(); reject(new Error(`no connect to ${url} within ${ms} ms`)); }, ms);
    s.once('connect', () => { clearTimeout(t); resolve(s); });
    s.once('connect_error', (err) => { clearTimeout(t); s.close(); reject(err); });
  });
}

/** Records every event a client receives: socket.received = [[event, ...args], ...]. */
export function record(socket) {
  socket.received = [];
  socket.onAny((event, ...args) => socket.received.push([event, ...args]));
  return socket;
}

/** Resolves with the arguments of the next `event` on an emitter (socket or manager). */
export function nextEvent(emitter, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const handler = (...args) => { clearTimeout(t); resolve(args); };
    const t = setTimeout(() => { emitter.off(event, handler); reject(new Error(`no "${event}" within ${ms} ms`)); }, ms);
    emitter.once(event, handler);
  });
}

export { assert };
/** socket.io-client's Manager: several namespace sockets on one connection. */
export { Manager };
