#!/usr/bin/env node
// Example wsgw component service. It talks to ws-api only through the public gRPC API
// (proto/wsgw/v1/api.proto, loaded at run time; no generated code to keep in sync) and
// implements what the official Socket.IO protocol test suite expects from a server:
//   - a socket connects to "/" or "/custom"  -> emit "auth" with its handshake auth object;
//   - the client emits "message"             -> emit "message-back" with the same arguments;
//   - the client emits "message-with-ack"    -> answer its ack with the same arguments.
// Binary arguments travel as `attachments` and come back unchanged.
//
// Usage: node component.mjs [--addr HOST:PORT] [--group NAME] [--namespaces /,/custom]
//          [--tls-ca FILE [--tls-cert FILE --tls-key FILE]]
// (or WSAPI_ADDR, WSAPI_GROUP, WSAPI_NAMESPACES, WSAPI_TLS_CA, WSAPI_TLS_CERT, WSAPI_TLS_KEY);
// see README.md. --tls-ca turns TLS on (ws-api's --grpc-tls-cert); the client certificate is
// for a ws-api that requires one (--grpc-tls-client-ca).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const { values: flags } = parseArgs({
  options: {
    addr: { type: 'string', default: process.env.WSAPI_ADDR || '127.0.0.1:50051' },
    group: { type: 'string', default: process.env.WSAPI_GROUP || 'conformance' },
    namespaces: { type: 'string', default: process.env.WSAPI_NAMESPACES || '/,/custom' },
    proto: { type: 'string', default: process.env.WSGW_PROTO_DIR || path.resolve(HERE, '../../proto') },
    'tls-ca': { type: 'string', default: process.env.WSAPI_TLS_CA || '' },
    'tls-cert': { type: 'string', default: process.env.WSAPI_TLS_CERT || '' },
    'tls-key': { type: 'string', default: process.env.WSAPI_TLS_KEY || '' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log('usage: component.mjs [--addr HOST:PORT] [--group NAME] [--namespaces /,/custom] [--proto DIR]\n' +
              '                    [--tls-ca FILE [--tls-cert FILE --tls-key FILE]]');
  process.exit(0);
}

const log = (...parts) => console.log(new Date().toISOString(), ...parts);

// ---------------------------------------------------------------------------------------------
// The gRPC client, generated from the .proto at start-up.

function loadApi(protoDir) {
  const file = path.join(protoDir, 'wsgw/v1/api.proto');
  if (!fs.existsSync(file)) throw new Error(`api.proto not found at ${file} (set --proto or WSGW_PROTO_DIR)`);
  const definition = protoLoader.loadSync(file, {
    includeDirs: [protoDir],
    keepCase: true,   // field names exactly as in the .proto: args_json, auth_json, ...
    longs: String,    // uint64 ack ids stay exact; they are passed back untouched
    enums: String,
    defaults: true,
    oneofs: true,     // ClientEvent.kind names the field that is set
  });
  return grpc.loadPackageDefinition(definition).wsgw.v1;
}

const api = loadApi(flags.proto);
// Plaintext, or TLS when a CA is given (with a client certificate for mutual TLS).
function credentials() {
  if (!flags['tls-ca']) {
    if (flags['tls-cert'] || flags['tls-key']) throw new Error('--tls-cert/--tls-key need --tls-ca');
    return grpc.credentials.createInsecure();
  }
  if (!flags['tls-cert'] !== !flags['tls-key']) throw new Error('--tls-cert and --tls-key go together');
  const read = (file) => (file ? fs.readFileSync(file) : null);
  return grpc.credentials.createSsl(read(flags['tls-ca']), read(flags['tls-key']), read(flags['tls-cert']));
}

const client = new api.WsApiService(flags.addr, credentials());

// Promise wrapper for a unary call with a deadline.
function call(method, request, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + timeoutMs }, (err, response) =>
      (err ? reject(err) : resolve(response)));
  });
}

// ---------------------------------------------------------------------------------------------
// What the component does with each client event.

async function handle(ev) {
  const ns = ev.namespace || '/';
  switch (ev.kind) {
    case 'connected': {
      // auth_json is the client's CONNECT payload as JSON text ("{}" when it sent none).
      const auth = ev.connected.socket?.auth_json || '{}';
      await call('Emit', { sid: ev.sid, namespace: ns, event: 'auth', args_json: `[${auth}]`,
        trace_id: ev.metadata?.trace_id || '' });
      break;
    }
    case 'event': {
      const e = ev.event;
      if (e.name === 'message') {
        await call('Emit', { sid: ev.sid, namespace: ns, event: 'message-back', args_json: e.args_json,
          attachments: e.attachments, trace_id: ev.metadata?.trace_id || '' });
      } else if (e.name === 'message-with-ack' && e.ack) {
        // The client waits for this answer; the ack reference is copied back as it came.
        await call('AnswerAck', { ack: e.ack, args_json: e.args_json, attachments: e.attachments,
          trace_id: ev.metadata?.trace_id || '' });
      }
      break;
    }
    default:
      break;  // disconnects need nothing here; unknown (newer) kinds are skipped
  }
}

// The events of one socket arrive in order; handling them one after another per socket keeps
// the replies in that order too ("auth" before "message-back"). Sockets run in parallel.
const queues = new Map();  // sid -> tail of that socket's promise chain
function dispatch(ev) {
  const tail = (queues.get(ev.sid) || Promise.resolve())
    .then(() => handle(ev))
    .catch((err) => log(`handling ${ev.kind} of ${ev.sid} failed: ${err.code ?? ''} ${err.message}`));
  queues.set(ev.sid, tail);
  tail.then(() => { if (queues.get(ev.sid) === tail) queues.delete(ev.sid); });
}

// ---------------------------------------------------------------------------------------------
// The Subscribe stream, reopened with back-off whenever it ends (ws-api restarts or drains,
// the network breaks, or this component read too slowly).

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;
let backoffMs = MIN_BACKOFF_MS;
let stream = null;
let stopping = false;

function subscribe() {
  const request = {
    group: flags.group,  // replicas of this component share the group's events
    namespaces: flags.namespaces.split(',').filter(Boolean),
    kinds: ['CLIENT_EVENT_KIND_CONNECTED', 'CLIENT_EVENT_KIND_EVENT'],
    subscriber: `${os.hostname()}-${process.pid}`,
  };
  stream = client.Subscribe(request);
  stream.on('data', (ev) => {
    if (ev.kind === 'subscription_started') {
      backoffMs = MIN_BACKOFF_MS;  // a healthy stream resets the back-off
      const s = ev.subscription_started;
      log(`subscribed group=${s.group} id=${s.subscription_id} api_node=${s.api_node}`);
      return;
    }
    dispatch(ev);
  });
  // Errors are reported through 'status' below; without an 'error' listener Node would throw.
  stream.on('error', () => {});
  // 'status' comes exactly once per stream, however it ended: subscribe again after a pause.
  stream.on('status', (status) => {
    if (stopping) return;
    log(`stream ended: ${grpc.status[status.code] ?? status.code} ${status.details}; retry in ${backoffMs} ms`);
    setTimeout(subscribe, backoffMs);
    backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
  });
}

function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  stream?.cancel();
  client.close();
  // Let replies already in flight finish, but never hang.
  Promise.allSettled([...queues.values()]).then(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

log(`connecting to ws-api at ${flags.addr} (group ${flags.group}, namespaces ${flags.namespaces})`);
subscribe();
