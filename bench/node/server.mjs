// The reference server of the wsgw benchmarks: a stock Node.js Socket.IO 4.8 server with
// the default `ws` engine, configured like ws-gateway is in the same benchmark (bench/README.md).
//
//   node server.mjs --listen 127.0.0.1:3000 [--ping-interval 25000] [--ping-timeout 20000]
//   node server.mjs --tls-listen 127.0.0.1:3443 --tls-cert cert.pem --tls-key key.pem
//                   [--admin-listen 127.0.0.1:3001]
//
// Besides Socket.IO on --path it answers GET /healthz (200 "ok") and GET /stats (JSON:
// Engine.IO clients, sockets in "/", client events received, and process.memoryUsage()), on
// the client listener and, when given, on the plain --admin-listen one (so a TLS run can be
// checked over plain HTTP). POST /admin/broadcast?event=NAME with a JSON array body emits
// the event with those arguments to every socket of "/" (io.emit: encoded once, like the
// gateway's endpoint of the same name); loopback clients only.
// Durations are milliseconds or take a unit (500ms, 25s, 2m).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Server } from 'socket.io';

const HELP = `usage: node server.mjs (--listen HOST:PORT | --tls-listen HOST:PORT --tls-cert F --tls-key F)
       [--admin-listen HOST:PORT] [--ping-interval 25s] [--ping-timeout 20s]
       [--max-payload 1000000] [--path /socket.io/] [--connect-timeout 45s]`;

function fail(message) {
  process.stderr.write(`server.mjs: ${message}\n${HELP}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    listen: '',
    tlsListen: '',
    tlsCert: '',
    tlsKey: '',
    adminListen: '',
    pingInterval: 25000,
    pingTimeout: 20000,
    connectTimeout: 45000,
    maxPayload: 1000000,
    path: '/socket.io/',
  };
  const names = {
    '--listen': 'listen',
    '--tls-listen': 'tlsListen',
    '--tls-cert': 'tlsCert',
    '--tls-key': 'tlsKey',
    '--admin-listen': 'adminListen',
    '--ping-interval': 'pingInterval',
    '--ping-timeout': 'pingTimeout',
    '--connect-timeout': 'connectTimeout',
    '--max-payload': 'maxPayload',
    '--path': 'path',
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(`${HELP}\n`);
      process.exit(0);
    }
    let value;
    const eq = arg.indexOf('=');
    if (eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    } else {
      value = argv[++i];
    }
    const key = names[arg];
    if (!key) fail(`unknown option ${arg}`);
    if (value === undefined) fail(`${arg} needs a value`);
    opts[key] = value;
  }
  for (const key of ['pingInterval', 'pingTimeout', 'connectTimeout']) {
    opts[key] = parseDurationMs(String(opts[key]), key);
  }
  opts.maxPayload = Number(opts.maxPayload);
  if (!Number.isInteger(opts.maxPayload) || opts.maxPayload <= 0) fail('--max-payload must be a positive integer');
  if (!opts.listen && !opts.tlsListen) fail('give --listen or --tls-listen');
  if (opts.listen && opts.tlsListen) fail('give one of --listen and --tls-listen (one server per run)');
  if (opts.tlsListen && (!opts.tlsCert || !opts.tlsKey)) fail('--tls-listen needs --tls-cert and --tls-key');
  return opts;
}

function parseDurationMs(text, name) {
  const m = /^(\d+)(ms|s|m)?$/.exec(text);
  if (!m) fail(`bad duration for ${name}: ${text}`);
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60000 : n;
}

function parseHostPort(text) {
  const colon = text.lastIndexOf(':');
  const port = Number(text.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) fail(`bad HOST:PORT ${text}`);
  return { host: text.slice(0, colon) || '0.0.0.0', port };
}

const opts = parseArgs(process.argv.slice(2));
let io;
// Client events of any name (the benchmarks' receipts), as the gateway's
// wsgw_events_unrouted_total counts them in standalone mode.
let eventsReceived = 0;
let lastEventMs = 0;  // when the last event, or a broadcast's acks, were counted
let broadcastsSent = 0;
const MAX_ADMIN_BODY = 1 << 20;
const ACK_TIMEOUT_MS = 60000;  // a broadcast with acks reports its answers when all came or then

function adminBroadcast(req, res, query) {
  const reply = (status, body) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const remote = req.socket.remoteAddress || '';
  if (!(remote.startsWith('127.') || remote === '::1' || remote.startsWith('::ffff:127.'))) {
    reply(403, { error: 'loopback clients only' });
    return;
  }
  const event = query.get('event');
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size <= MAX_ADMIN_BODY) chunks.push(c);
  });
  req.on('end', () => {
    let args;
    try {
      args = JSON.parse(Buffer.concat(chunks).toString('utf8') || '[]');
    } catch {
      args = undefined;
    }
    if (req.method !== 'POST' || !event || size > MAX_ADMIN_BODY || !Array.isArray(args)) {
      reply(400, { error: 'POST with ?event=NAME and a JSON array body' });
      return;
    }
    if (query.get('ack') === '1') {
      // Socket.IO's broadcast with acks: one ack id for every client; the answers are counted
      // with the client events, as the gateway counts them in standalone mode.
      io.timeout(ACK_TIMEOUT_MS).emit(event, ...args, (err, responses) => {
        eventsReceived += responses ? responses.length : 0;
        lastEventMs = Date.now();
      });
    } else {
      io.emit(event, ...args);
    }
    broadcastsSent++;
    reply(200, { queued: true });
  });
}

function adminHandler(req, res) {
  const path = (req.url || '').split('?')[0];
  if (path === '/admin/broadcast') {
    adminBroadcast(req, res, new URL(req.url || '/', 'http://localhost').searchParams);
  } else if (req.method === 'GET' && path === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok\n');
  } else if (req.method === 'GET' && path === '/stats') {
    const body = JSON.stringify({
      engine_clients: io ? io.engine.clientsCount : 0,
      sockets: io ? io.of('/').sockets.size : 0,
      events_received: eventsReceived,
      last_event_ms: lastEventMs,
      broadcasts_sent: broadcastsSent,
      memory: process.memoryUsage(),
      pid: process.pid,
    });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(body);
  } else {
    // Socket.IO's own requests never get here: engine.io intercepts its path on `server`.
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
  }
}

const server = opts.tlsListen
  ? https.createServer({ cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey) }, adminHandler)
  : http.createServer(adminHandler);

io = new Server(server, {
  path: opts.path,
  transports: ['websocket', 'polling'],
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  connectTimeout: opts.connectTimeout,
  maxHttpBufferSize: opts.maxPayload,
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  // wsEngine: the default, the `ws` package.
});

// Accept and keep every client, as the gateway does with --auth none.
io.on('connection', (socket) => {
  socket.onAny(() => {
    eventsReceived++;
    lastEventMs = Date.now();
  });
});

const { host, port } = parseHostPort(opts.tlsListen || opts.listen);
server.listen({ host, port, backlog: 4096 }, () => {
  process.stderr.write(
    `server.mjs: socket.io on ${opts.tlsListen ? 'https' : 'http'}://${host}:${server.address().port}${opts.path} ` +
      `(node ${process.version}, pid ${process.pid})\n`,
  );
});

let admin;
if (opts.adminListen) {
  const a = parseHostPort(opts.adminListen);
  admin = http.createServer(adminHandler);
  admin.listen({ host: a.host, port: a.port });
}

function shutdown() {
  io.close();
  if (admin) admin.close();
  // Do not wait for idle clients to go: the benchmark driver closes them itself.
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
