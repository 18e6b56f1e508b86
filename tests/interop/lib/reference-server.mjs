#!/usr/bin/env node
// Reference implementation of the ws-gateway's test-facing behaviour, built on the
// real socket.io 4.8 / engine.io 6 packages. It takes the gateway's command-line
// flags so the interop harness drives both the same way. It is faithful only as
// far as the interop suite needs (conformance mode, JWT, limits, TLS, health).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Server as SocketIoServer } from 'socket.io';
import { Server as EngineServer } from 'engine.io';

const VALUE_FLAGS = new Set([
  'listen', 'tls-listen', 'tls-cert', 'tls-key', 'threads', 'ping-interval', 'ping-timeout',
  'max-payload', 'auth', 'jwt-secret', 'cors-origins', 'worker-id', 'metrics-listen', 'log-level',
]);
const BOOL_FLAGS = new Set(['conformance']);
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'critical', 'off'];
const SHUTDOWN_GRACE_MS = 3000;

function usageError(message) {
  process.stderr.write(`reference-server: ${message}\n`);
  process.exit(2);
}

function parseFlags(argv) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) usageError(`unexpected argument ${arg}`);
    let name = arg.slice(2);
    let value;
    const eq = name.indexOf('=');
    if (eq >= 0) { value = name.slice(eq + 1); name = name.slice(0, eq); }
    if (BOOL_FLAGS.has(name)) { flags[name] = true; continue; }
    if (!VALUE_FLAGS.has(name)) usageError(`unknown flag --${name}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) usageError(`--${name} needs a value`);
      value = argv[++i];
    }
    flags[name] = value;
  }
  return flags;
}

function parseHostPort(text, flag) {
  const m = /^(.*):(\d+)$/.exec(text || '');
  if (!m) usageError(`--${flag} expects HOST:PORT, got ${text}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

function positiveInt(text, flag, fallback) {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) usageError(`--${flag} expects a positive integer, got ${text}`);
  return n;
}

const flags = parseFlags(process.argv.slice(2));
const logLevel = flags['log-level'] || 'info';
if (!LOG_LEVELS.includes(logLevel)) usageError(`unknown --log-level ${logLevel}`);
const debugEnabled = LOG_LEVELS.indexOf(logLevel) <= LOG_LEVELS.indexOf('debug');
const log = (...parts) => process.stderr.write(`${new Date().toISOString()} ${parts.join(' ')}\n`);
const debug = (...parts) => { if (debugEnabled) log(...parts); };

if (!flags.conformance) usageError('the reference server only implements --conformance mode');
if (!flags.listen && !flags['tls-listen']) usageError('need --listen or --tls-listen');
const authMode = flags.auth || 'none';
if (authMode !== 'none' && authMode !== 'jwt') usageError(`--auth must be none or jwt, got ${authMode}`);
if (authMode === 'jwt' && !flags['jwt-secret']) usageError('--auth jwt needs --jwt-secret');

const pingInterval = positiveInt(flags['ping-interval'], 'ping-interval', 25000);
const pingTimeout = positiveInt(flags['ping-timeout'], 'ping-timeout', 20000);
const maxPayload = positiveInt(flags['max-payload'], 'max-payload', 1e6);
const corsOrigins = flags['cors-origins'] ? flags['cors-origins'].split(',').map((s) => s.trim()) : null;

// ---------------------------------------------------------------- metrics
const metrics = {
  handshakes: 0,
  connections: { polling: 0, websocket: 0 },
};

function renderMetrics() {
  return [
    '# HELP wsgw_connections Open Engine.IO connections by current transport.',
    '# TYPE wsgw_connections gauge',
    `wsgw_connections{transport="polling"} ${metrics.connections.polling}`,
    `wsgw_connections{transport="websocket"} ${metrics.connections.websocket}`,
    '# HELP wsgw_handshakes_total Completed Engine.IO handshakes.',
    '# TYPE wsgw_handshakes_total counter',
    `wsgw_handshakes_total ${metrics.handshakes}`,
    '',
  ].join('\n');
}

function trackEngineSocket(socket) {
  metrics.handshakes++;
  let transport = socket.transport.name;
  metrics.connections[transport]++;
  socket.on('upgrade', () => {
    metrics.connections[transport]--;
    transport = socket.transport.name;
    metrics.connections[transport]++;
  });
  socket.once('close', (reason) => {
    metrics.connections[transport]--;
    debug('engine close', socket.id, reason);
  });
}

// ---------------------------------------------------------------- JWT (HS256)
function base64UrlDecode(text) {
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

function verifyJwt(token, secret) {
  if (typeof token !== 'string' || token === '') return { ok: false, reason: 'missing token' };
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed token' };
  let header;
  let claims;
  try {
    header = JSON.parse(base64UrlDecode(parts[0]).toString('utf8'));
    claims = JSON.parse(base64UrlDecode(parts[1]).toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed token' };
  }
  if (!header || header.alg !== 'HS256') return { ok: false, reason: 'unsupported algorithm' };
  const expected = crypto.createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = base64UrlDecode(parts[2]);
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'invalid signature' };
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp === 'number' && claims.exp <= now) return { ok: false, reason: 'token expired' };
  if (typeof claims.nbf === 'number' && claims.nbf > now) return { ok: false, reason: 'token not yet valid' };
  if (typeof claims.sub !== 'string' || claims.sub === '') return { ok: false, reason: 'missing sub' };
  return { ok: true, claims };
}

function tokenFromHandshake(handshake) {
  if (handshake.auth && typeof handshake.auth.token === 'string') return handshake.auth.token;
  const authorization = handshake.headers.authorization;
  if (typeof authorization === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(authorization);
    if (m) return m[1].trim();
  }
  if (typeof handshake.query.token === 'string') return handshake.query.token;
  return null;
}

function jwtMiddleware(socket, next) {
  const result = verifyJwt(tokenFromHandshake(socket.handshake), flags['jwt-secret']);
  if (!result.ok) {
    debug('jwt rejected', socket.nsp.name, result.reason);
    const err = new Error('unauthorized');
    err.data = { reason: result.reason };
    return next(err);
  }
  socket.data.user = result.claims.sub;
  if (Array.isArray(result.claims.rooms)) {
    for (const room of result.claims.rooms) if (typeof room === 'string') socket.join(room);
  }
  next();
}

// ---------------------------------------------------------------- servers
const engineOptions = {
  pingInterval,
  pingTimeout,
  maxHttpBufferSize: maxPayload,
  allowEIO3: true,
  // No new sessions while draining (existing ones still get their close packet).
  allowRequest: (req, callback) => callback(shuttingDown ? 'server shutting down' : null, !shuttingDown),
  cors: corsOrigins ? { origin: corsOrigins, credentials: true } : undefined,
};

function handleOpsRequest(req, res) {
  const url = (req.url || '/').split('?')[0];
  if (url === '/healthz' || url === '/readyz') {
    res.writeHead(shuttingDown && url === '/readyz' ? 503 : 200, { 'Content-Type': 'text/plain' });
    res.end(shuttingDown && url === '/readyz' ? 'draining\n' : 'ok\n');
    return true;
  }
  if (url === '/metrics') {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(renderMetrics());
    return true;
  }
  return false;
}

const opsOnMainListener = !flags['metrics-listen'];
function mainRequestHandler(req, res) {
  // Engine.IO paths are intercepted by the engines' attach() wrappers before this runs.
  if (opsOnMainListener && handleOpsRequest(req, res)) return;
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found\n');
}

// Socket.IO at /socket.io/ and a raw Engine.IO echo server at /engine.io/ share
// each listener: both engines are attach()ed to the same http server, each one
// intercepting only its own path and handing other requests down the chain.
// destroyUpgrade: false stops each engine from killing the other's upgrades.
const socketIoEngine = new EngineServer({ ...engineOptions, path: '/socket.io' });
const echoEngine = new EngineServer({ ...engineOptions, path: '/engine.io' });
const io = new SocketIoServer({ serveClient: false, ...engineOptions });
io.bind(socketIoEngine);

const listeners = [];
function createListener(hostPort, flagName, tlsOptions) {
  const { host, port } = parseHostPort(hostPort, flagName);
  const server = tlsOptions ? https.createServer(tlsOptions, mainRequestHandler) : http.createServer(mainRequestHandler);
  socketIoEngine.attach(server, { path: '/socket.io', destroyUpgrade: false });
  echoEngine.attach(server, { path: '/engine.io', destroyUpgrade: false });
  listeners.push({ server, host, port, label: `${tlsOptions ? 'tls' : 'plain'} ${host}:${port}` });
}
if (flags.listen) createListener(flags.listen, 'listen', null);
if (flags['tls-listen']) {
  if (!flags['tls-cert'] || !flags['tls-key']) usageError('--tls-listen needs --tls-cert and --tls-key');
  createListener(flags['tls-listen'], 'tls-listen', {
    cert: fs.readFileSync(flags['tls-cert']),
    key: fs.readFileSync(flags['tls-key']),
  });
}
if (flags['metrics-listen']) {
  const { host, port } = parseHostPort(flags['metrics-listen'], 'metrics-listen');
  const server = http.createServer((req, res) => {
    if (!handleOpsRequest(req, res)) { res.writeHead(404); res.end(); }
  });
  listeners.push({ server, host, port, label: `metrics ${host}:${port}` });
}

socketIoEngine.on('connection', trackEngineSocket);
echoEngine.on('connection', (socket) => {
  trackEngineSocket(socket);
  socket.on('message', (data) => socket.send(data));
});

// ---------------------------------------------------------------- conformance namespaces
function installConformanceHandlers(namespace) {
  if (authMode === 'jwt') namespace.use(jwtMiddleware);
  namespace.on('connection', (socket) => {
    debug('connect', namespace.name, socket.id, 'eio', socket.conn.protocol, socket.conn.transport.name);
    socket.emit('auth', socket.handshake.auth || {});
    socket.on('message', (...args) => socket.emit('message-back', ...args));
    socket.on('message-with-ack', (...args) => {
      const ack = args.length > 0 && typeof args[args.length - 1] === 'function' ? args.pop() : null;
      if (ack) ack(...args);
    });
    socket.on('disconnect', (reason) => debug('disconnect', namespace.name, socket.id, reason));
  });
}
installConformanceHandlers(io.of('/'));
installConformanceHandlers(io.of('/custom'));

// ---------------------------------------------------------------- lifecycle
let shuttingDown = false;
function shutdown(signal) {
  if (shuttingDown) return;
  shuttingDown = true;
  log(`received ${signal}, shutting down (grace ${SHUTDOWN_GRACE_MS} ms)`);
  setTimeout(() => {
    log('grace period over, exiting');
    process.exit(0);
  }, SHUTDOWN_GRACE_MS).unref();
  // Closing the engines closes every Engine.IO session: WebSocket clients see the
  // socket close, polling clients get a close packet in their pending or next GET —
  // both report "transport close". The listeners stay open until every session is
  // gone, because a polling client between two polls would otherwise meet a refused
  // connection and report "transport error" instead.
  // (engine.close() / io.close() would discard polling sessions that have no GET
  // pending at that instant, and their next GET would then fail with 400.)
  for (const engine of [socketIoEngine, echoEngine]) {
    for (const session of Object.values(engine.clients)) session.close();
  }
  const waitForSessions = setInterval(() => {
    if (socketIoEngine.clientsCount + echoEngine.clientsCount > 0) return;
    clearInterval(waitForSessions);
    log('all sessions closed');
    let open = listeners.length;
    for (const { server } of listeners) {
      server.close(() => { if (--open === 0) { log('all listeners closed'); process.exit(0); } });
      server.closeIdleConnections?.();
    }
  }, 20);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

await Promise.all(listeners.map(({ server, host, port, label }) => new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, host, () => { log(`listening ${label}`); resolve(); });
})));
log(`reference server ready (ping ${pingInterval}/${pingTimeout} ms, max payload ${maxPayload} B, auth ${authMode}, ` +
  `threads ${flags.threads || 'n/a'}, worker ${flags['worker-id'] || 'n/a'})`);
