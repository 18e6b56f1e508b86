#!/usr/bin/env node
// The local demo's component service: a "shared document" where every open tab sees who else is
// viewing, everyone's cursor, and a comment feed. Like any team's service it talks to wsgw only
// through ws-api's public gRPC API (proto/wsgw/v1/api.proto):
//   Subscribe (group "demo", namespace /demo)   client connects, disconnects and events;
//   JoinRoom                                    each socket joins its document's room;
//   ListRoomSockets + Emit to the room          the viewer list ("presence");
//   Emit to the room with except_sids, volatile cursor moves, not echoed to their sender;
//   Emit to the room / AnswerAck                comments, acknowledged to their author;
//   Emit to everyone, every --push-period       a periodic server-side push.
// It also serves the web page (public/) and the unmodified socket.io-client bundle from the
// pinned npm package on a small HTTP server; the gateways serve no files.
//
// Usage: node server.mjs [--addr HOST:PORT] [--http HOST:PORT] [--gateways URL,URL]
//                        [--push-period 10s] [--proto DIR]
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NAMESPACE = '/demo';
const GROUP = 'demo';

const { values: flags } = parseArgs({
  options: {
    addr: { type: 'string', default: process.env.WSAPI_ADDR || '127.0.0.1:50051' },
    http: { type: 'string', default: process.env.DEMO_HTTP || '127.0.0.1:8080' },
    gateways: { type: 'string', default: process.env.DEMO_GATEWAYS || 'http://127.0.0.1:3000,https://127.0.0.1:3443' },
    'push-period': { type: 'string', default: process.env.DEMO_PUSH_PERIOD || '10s' },
    proto: { type: 'string', default: process.env.WSGW_PROTO_DIR || path.resolve(HERE, '../../../proto') },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log('usage: server.mjs [--addr HOST:PORT] [--http HOST:PORT] [--gateways URL,URL] [--push-period 10s] [--proto DIR]');
  process.exit(0);
}
const log = (...parts) => console.log(new Date().toISOString(), ...parts);

function parseDurationMs(text) {
  const m = /^(\d+)(ms|s|m)?$/.exec(text);
  if (!m) throw new Error(`bad duration ${text}`);
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60000 }[m[2] || 'ms']);
}
const pushPeriodMs = parseDurationMs(flags['push-period']);

// ---------------------------------------------------------------------------------------------
// gRPC client of wsgw.v1, built from the .proto at start-up (as api/example-component does).

const protoFile = path.join(flags.proto, 'wsgw/v1/api.proto');
const definition = protoLoader.loadSync(protoFile, {
  includeDirs: [flags.proto], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
});
const api = grpc.loadPackageDefinition(definition).wsgw.v1;
const client = new api.WsApiService(flags.addr, grpc.credentials.createInsecure());

function call(method, request, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + timeoutMs }, (err, response) =>
      (err ? reject(Object.assign(err, { message: `${method}: ${err.details || err.message}` })) : resolve(response)));
  });
}

// ---------------------------------------------------------------------------------------------
// Document state. Membership itself lives in wsgw (Redis, read with ListRoomSockets); this
// process only remembers what wsgw does not know: the display names from the clients' auth
// payloads, their colours, and the last comments of each document.

const viewers = new Map();   // sid -> { sid, user, doc, color, node }
const comments = new Map();  // doc -> [{ user, text, at }], the last MAX_COMMENTS
const MAX_COMMENTS = 50;
const COLORS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#9a6324'];

const roomOf = (doc) => `doc:${doc}`;
const cleanText = (value, max) => String(value ?? '').replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, max);
const cleanDoc = (value) => (/^[A-Za-z0-9_-]{1,64}$/.test(value ?? '') ? value : 'welcome');
function colorOf(user) {
  let h = 0;
  for (const ch of user) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return COLORS[h % COLORS.length];
}

/** Sends the document's viewer list to everyone in its room. */
async function pushPresence(doc) {
  const room = roomOf(doc);
  const list = [];
  let pageToken = '';
  do {  // wsgw's view of the room: which sockets, on which gateway node
    const page = await call('ListRoomSockets', { namespace: NAMESPACE, room, page_size: 500, page_token: pageToken });
    for (const s of page.sockets) {
      const known = viewers.get(s.sid);
      list.push({ sid: s.sid, node: s.node, user: known?.user ?? '(unknown)', color: known?.color ?? '#888',
      });
    }
    pageToken = page.next_page_token;
  } while (pageToken);
  list.sort((a, b) => a.user.localeCompare(b.user) || a.sid.localeCompare(b.sid));
  await call('Emit', { room, namespace: NAMESPACE, event: 'presence', args_json: JSON.stringify([{ doc, viewers: list }]) });
}

async function onConnected(ev) {
  const socket = ev.connected.socket || {};
  let auth = {};
  try { auth = JSON.parse(socket.auth_json || '{}') || {}; } catch { /* not JSON: no name */ }
  await welcome(ev, auth, socket.node || ev.metadata?.node || '');
}

/** Joins a socket to its document and greets it; also used for the page's "hello" retry. */
async function welcome(ev, info, node) {
  const user = cleanText(info.user, 40) || `guest-${ev.sid.slice(-4)}`;
  const doc = cleanDoc(info.doc);
  const previous = viewers.get(ev.sid);
  const viewer = { sid: ev.sid, user, doc, color: colorOf(user), node: node || previous?.node || '' };
  viewers.set(ev.sid, viewer);
  await call('JoinRoom', { sid: ev.sid, namespace: NAMESPACE, rooms: [roomOf(doc)], trace_id: ev.metadata?.trace_id || '' });
  await call('Emit', { sid: ev.sid, namespace: NAMESPACE, event: 'welcome',
    args_json: JSON.stringify([{ sid: ev.sid, user, doc, color: viewer.color, node: viewer.node,
      comments: comments.get(doc) ?? [] }]) });
  await pushPresence(doc);
}

async function onDisconnected(ev) {
  const viewer = viewers.get(ev.sid);
  viewers.delete(ev.sid);
  if (viewer) await pushPresence(viewer.doc);
}

async function onEvent(ev) {
  const e = ev.event;
  let args = [];
  try { args = JSON.parse(e.args_json || '[]'); } catch { return; }
  const viewer = viewers.get(ev.sid);
  switch (e.name) {
    case 'hello':  // the page did not get "welcome" in time (e.g. it connected while we resubscribed)
      await welcome(ev, args[0] || {}, ev.metadata?.node || '');
      break;
    case 'cursor': {
      if (!viewer) return;
      const { x, y } = args[0] || {};
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      // Everyone in the document but the sender; volatile: the next move supersedes this one.
      await call('Emit', { room: roomOf(viewer.doc), namespace: NAMESPACE, event: 'cursor', is_volatile: true,
        except_sids: [ev.sid],
        args_json: JSON.stringify([{ sid: ev.sid, user: viewer.user, color: viewer.color,
          x: Math.min(Math.max(x, 0), 1), y: Math.min(Math.max(y, 0), 1) }]) });
      break;
    }
    case 'comment': {
      const text = cleanText(args[0]?.text, 500);
      if (!viewer || !text) {
        if (e.ack) await call('AnswerAck', { ack: e.ack, args_json: JSON.stringify([{ ok: false }]) });
        return;
      }
      const comment = { user: viewer.user, color: viewer.color, text, at: new Date().toISOString() };
      const list = comments.get(viewer.doc) ?? [];
      list.push(comment);
      if (list.length > MAX_COMMENTS) list.shift();
      comments.set(viewer.doc, list);
      await call('Emit', { room: roomOf(viewer.doc), namespace: NAMESPACE, event: 'comment',
        args_json: JSON.stringify([comment]), trace_id: ev.metadata?.trace_id || '' });
      if (e.ack) await call('AnswerAck', { ack: e.ack, args_json: JSON.stringify([{ ok: true }]),
        trace_id: ev.metadata?.trace_id || '' });
      break;
    }
    default:
      break;
  }
}

async function handle(ev) {
  switch (ev.kind) {
    case 'connected': return onConnected(ev);
    case 'disconnected': return onDisconnected(ev);
    case 'event': return onEvent(ev);
    default: return undefined;  // newer kinds: skip
  }
}

// One promise chain per socket keeps each socket's events in order (welcome before its cursors).
const queues = new Map();
function dispatch(ev) {
  const tail = (queues.get(ev.sid) || Promise.resolve())
    .then(() => handle(ev))
    .catch((err) => log(`handling ${ev.kind} of ${ev.sid} failed: ${err.message}`));
  queues.set(ev.sid, tail);
  tail.then(() => { if (queues.get(ev.sid) === tail) queues.delete(ev.sid); });
}

// ---------------------------------------------------------------------------------------------
// Subscribe, reopened with back-off whenever the stream ends.

let backoffMs = 100;
let stream = null;
let stopping = false;
function subscribe() {
  stream = client.Subscribe({
    group: GROUP,
    namespaces: [NAMESPACE],
    kinds: ['CLIENT_EVENT_KIND_CONNECTED', 'CLIENT_EVENT_KIND_DISCONNECTED', 'CLIENT_EVENT_KIND_EVENT'],
    subscriber: `demo-${os.hostname()}-${process.pid}`,
  });
  stream.on('data', (ev) => {
    if (ev.kind === 'subscription_started') {
      backoffMs = 100;
      log(`subscribed group=${ev.subscription_started.group} api_node=${ev.subscription_started.api_node}`);
      return;
    }
    dispatch(ev);
  });
  stream.on('error', () => {});
  stream.on('status', (status) => {
    if (stopping) return;
    log(`stream ended: ${grpc.status[status.code] ?? status.code} ${status.details}; retry in ${backoffMs} ms`);
    setTimeout(subscribe, backoffMs);
    backoffMs = Math.min(backoffMs * 2, 5000);
  });
}

// The periodic server-side push: one Emit to every socket of the namespace (a single broadcast
// record that every gateway applies).
let pushSeq = 0;
const pushTimer = setInterval(() => {
  pushSeq += 1;
  call('Emit', { everyone: {}, namespace: NAMESPACE, event: 'announcement',
    args_json: JSON.stringify([{ text: `server tick #${pushSeq}: ${viewers.size} viewer(s) connected`,
      from: 'demo component (timer)', at: new Date().toISOString() }]) })
    .catch((err) => log(`periodic push failed: ${err.message}`));
}, pushPeriodMs);

// ---------------------------------------------------------------------------------------------
// The web page: public/ plus the socket.io-client bundle of the pinned npm package.

const gatewayUrls = flags.gateways.split(',').map((s) => s.trim()).filter(Boolean);
const files = {
  '/': ['public/index.html', 'text/html; charset=utf-8'],
  '/index.html': ['public/index.html', 'text/html; charset=utf-8'],
  '/app.js': ['public/app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['public/style.css', 'text/css; charset=utf-8'],
  '/socket.io.min.js': ['node_modules/socket.io-client/dist/socket.io.min.js', 'text/javascript; charset=utf-8'],
  '/socket.io.min.js.map': ['node_modules/socket.io-client/dist/socket.io.min.js.map', 'application/json'],
};
const [httpHost, httpPort] = [flags.http.slice(0, flags.http.lastIndexOf(':')), Number(flags.http.slice(flags.http.lastIndexOf(':') + 1))];
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405).end(); return; }
  if (url.pathname === '/config.json') {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ gateways: gatewayUrls, namespace: NAMESPACE }));
    return;
  }
  if (url.pathname === '/healthz') { res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n'); return; }
  const entry = files[url.pathname];
  if (!entry) { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n'); return; }
  fs.readFile(path.join(HERE, entry[0]), (err, body) => {
    if (err) { res.writeHead(500).end(); return; }
    res.writeHead(200, { 'content-type': entry[1], 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
});
server.listen(httpPort, httpHost, () => log(`demo page on http://${flags.http}/ (gateways ${gatewayUrls.join(' ')})`));

function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  clearInterval(pushTimer);
  stream?.cancel();
  server.close();
  server.closeAllConnections?.();
  Promise.allSettled([...queues.values()]).then(() => { client.close(); process.exit(0); });
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

log(`connecting to ws-api at ${flags.addr} (group ${GROUP}, namespace ${NAMESPACE})`);
subscribe();
