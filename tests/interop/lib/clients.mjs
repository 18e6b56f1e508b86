// Helpers around the stock npm clients: connecting with bounded waits, acks with
// timeouts, comparing arguments that contain binary, and closing everything a
// test opened.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { io as ioV4 } from 'socket.io-client';
import { Socket as EngineSocket } from 'engine.io-client';

const require = createRequire(import.meta.url);
// socket.io-client 2.x is CommonJS and installed under an npm alias.
const ioV2 = require('socket.io-client-v2');

export const DEFAULT_WAIT_MS = Number(process.env.WSGW_WAIT_MS || 5000);

// Timers of waits nobody awaits any more (their test already failed) would keep
// the test process alive; ClientPool.closeAll() clears them.
const pendingWaitTimers = new Set();

/** Resolves with the event's arguments (array); rejects with a readable message on timeout. */
export function waitFor(emitter, event, { timeoutMs = DEFAULT_WAIT_MS, what } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pendingWaitTimers.delete(timer);
      emitter.off?.(event, onEvent) ?? emitter.removeListener?.(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what || `event "${event}"`}`));
    }, timeoutMs);
    pendingWaitTimers.add(timer);
    function onEvent(...args) {
      clearTimeout(timer);
      pendingWaitTimers.delete(timer);
      resolve(args);
    }
    emitter.once(event, onEvent);
  });
}

/** Races a promise against a timer that is always cleared; describe() builds the failure message. */
export async function withTimeout(promise, timeoutMs, describe) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(typeof describe === 'function' ? describe() : describe)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls predicate() every 10 ms until true; throws describe() after timeoutMs. */
export async function until(predicate, timeoutMs, describe) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(typeof describe === 'function' ? describe() : describe);
    await sleep(10);
  }
}

/** Keeps every client a test opens, so cleanup can close them all even after a failure. */
export class ClientPool {
  constructor() { this.closers = []; }
  add(closer) { this.closers.push(closer); }
  closeAll() {
    for (const close of this.closers.splice(0)) {
      try { close(); } catch { /* already closed */ }
    }
    for (const timer of pendingWaitTimers) clearTimeout(timer);
    pendingWaitTimers.clear();
  }
}

function describeConnectError(err) {
  if (!err) return String(err);
  const parts = [err.message];
  if (err.description !== undefined) parts.push(`description=${JSON.stringify(String(err.description?.message ?? err.description))}`);
  if (err.data !== undefined) parts.push(`data=${JSON.stringify(err.data)}`);
  return parts.join(' ');
}

/**
 * Opens a socket.io-client 4 socket without waiting. Reconnection is off unless asked
 * for, so a failure surfaces instead of being retried silently.
 */
export function openV4(pool, url, options = {}) {
  const socket = ioV4(url, {
    forceNew: true,
    reconnection: false,
    timeout: DEFAULT_WAIT_MS,
    rejectUnauthorized: false,
    ...options,
  });
  pool.add(() => socket.disconnect());
  return socket;
}

/**
 * Resolves once a v4 socket is connected, with the payload of the server's `auth`
 * event (conformance mode emits it immediately after connect). Rejects with the
 * connect_error otherwise.
 */
export function connectedV4(socket, { timeoutMs = DEFAULT_WAIT_MS, label = 'socket.io-client 4' } = {}) {
  // Listen for `auth` before `connect` fires: the event may arrive in the same read.
  const authEvent = waitFor(socket, 'auth', { timeoutMs, what: `${label}: server "auth" event after connect` });
  authEvent.catch(() => {});
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: not connected within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      authEvent.then(([auth]) => resolve({ socket, auth }), reject);
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      const error = new Error(`${label}: connect_error: ${describeConnectError(err)}`);
      error.connectError = err;
      reject(error);
    });
  });
}

export async function connectV4(pool, url, options = {}, waitOptions = {}) {
  const socket = openV4(pool, url, options);
  return connectedV4(socket, waitOptions);
}

/** Expects the connection to fail; resolves with the connect_error. */
export function expectConnectErrorV4(pool, url, options = {}, { timeoutMs = DEFAULT_WAIT_MS } = {}) {
  const socket = openV4(pool, url, options);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`expected connect_error within ${timeoutMs} ms, got nothing`)), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      reject(new Error('expected connect_error, but the socket connected'));
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      resolve(err);
    });
  });
}

/** Emits with an ack callback (v4 or v2 socket) and resolves with all ack arguments. */
export function emitWithAckArgs(socket, event, args, { timeoutMs = DEFAULT_WAIT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for "${event}" within ${timeoutMs} ms`)), timeoutMs);
    socket.emit(event, ...args, (...ackArgs) => {
      clearTimeout(timer);
      resolve(ackArgs);
    });
  });
}

/** Emits `message` and resolves with the arguments of the next `message-back`. */
export async function echoRoundTrip(socket, args, { timeoutMs = DEFAULT_WAIT_MS } = {}) {
  const back = waitFor(socket, 'message-back', { timeoutMs, what: '"message-back" after emitting "message"' });
  socket.emit('message', ...args);
  return back;
}

/** Opens a socket.io-client 2.x socket (Engine.IO 3 protocol). */
export function openV2(pool, url, options = {}) {
  const socket = ioV2(url, {
    forceNew: true,
    reconnection: false,
    timeout: DEFAULT_WAIT_MS,
    rejectUnauthorized: false,
    ...options,
  });
  pool.add(() => socket.close());
  return socket;
}

/** v2 equivalent of connectedV4: resolves with { socket, auth }. */
export function connectedV2(socket, { timeoutMs = DEFAULT_WAIT_MS, label = 'socket.io-client 2' } = {}) {
  const authEvent = waitFor(socket, 'auth', { timeoutMs, what: `${label}: server "auth" event after connect` });
  authEvent.catch(() => {});
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: not connected within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      authEvent.then(([auth]) => resolve({ socket, auth }), reject);
    });
    // v2 reports namespace errors as `error`, transport failures as `connect_error`.
    for (const event of ['connect_error', 'error']) {
      socket.once(event, (err) => {
        clearTimeout(timer);
        reject(new Error(`${label}: ${event}: ${typeof err === 'string' ? err : describeConnectError(err)}`));
      });
    }
  });
}

export async function connectV2(pool, url, options = {}, waitOptions = {}) {
  return connectedV2(openV2(pool, url, options), waitOptions);
}

/** Opens a raw engine.io-client 6 socket and resolves once it is open. */
export function connectEngine(pool, url, options = {}, { timeoutMs = DEFAULT_WAIT_MS } = {}) {
  const socket = new EngineSocket(url, { rejectUnauthorized: false, ...options });
  pool.add(() => socket.close());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`engine.io-client: not open within ${timeoutMs} ms`)), timeoutMs);
    socket.once('open', () => { clearTimeout(timer); resolve(socket); });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`engine.io-client: error before open: ${err?.message ?? err}`));
    });
  });
}

// ---------------------------------------------------------------- binary-aware comparison
export function isBinary(value) {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

export function toBuffer(value) {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`not binary: ${Object.prototype.toString.call(value)}`);
}

/** Replaces every binary value by { binary: <hex> } so deepEqual ignores Buffer vs ArrayBuffer. */
export function normalize(value) {
  if (isBinary(value)) return { binary: toBuffer(value).toString('hex') };
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  }
  return value;
}

export function assertSameArgs(actual, expected, what) {
  assert.deepEqual(normalize(actual), normalize(expected),
    `${what}: expected the server to return exactly the arguments sent`);
}

// ---------------------------------------------------------------- argument fixtures
export const MIXED_ARGS = Object.freeze([
  1,
  'two',
  { three: [3, true, null], nested: { 'key with space': 'ünïcödé ✓ 😀' } },
  [4.5, -0.25, 'x'],
  false,
]);

export function binaryArgs() {
  const random = Buffer.alloc(4096);
  for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) & 0xff;
  return [
    Buffer.from([0, 1, 2, 3, 255]),
    'text between',
    new Uint8Array([9, 8, 7, 6]),
    { nested: Buffer.from('nested binary', 'utf8'), list: [Buffer.from([0xde, 0xad, 0xbe, 0xef])] },
    random,
  ];
}
