// Starts and stops the server under test (the ws-gateway binary or the socket.io
// reference server) with the same command-line flags, so both go through the
// same code path. Which one is chosen by WSGW_TARGET (reference | gateway).
//
// Opt-in: WSGW_EXTERNAL_URL=http://HOST:PORT points startServer() at a gateway that is already
// running (e.g. a cluster-mode node in front of ws-api and a component, see
// tests/cluster/api-conformance.test.mjs) instead of spawning one. That gateway must already run
// with the settings the suite asks for (startServer's options are not applied); stop() and
// kill() leave it running, since its owner stops it. WSGW_TARGET then defaults to "gateway".
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LIB_DIR = path.dirname(fileURLToPath(import.meta.url));
export const INTEROP_DIR = path.resolve(LIB_DIR, '..');
export const LOG_DIR = path.join(INTEROP_DIR, '.logs');
const REFERENCE_SERVER = path.join(LIB_DIR, 'reference-server.mjs');

export const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = Number(process.env.WSGW_READY_TIMEOUT_MS || 15000);
// How long a SIGTERMed server may take to exit; the gateway's default grace
// period is "a few seconds", so leave headroom on a loaded 2-core machine.
export const EXIT_TIMEOUT_MS = Number(process.env.WSGW_EXIT_TIMEOUT_MS || 12000);

const EXTERNAL_URL = process.env.WSGW_EXTERNAL_URL || '';

export function targetName() {
  const target = process.env.WSGW_TARGET || (EXTERNAL_URL ? 'gateway' : 'reference');
  if (target !== 'reference' && target !== 'gateway') {
    throw new Error(`WSGW_TARGET must be "reference" or "gateway", got "${target}"`);
  }
  return target;
}

export const isGateway = () => targetName() === 'gateway';
export const isReference = () => targetName() === 'reference';

// The gateway cannot report a port it bound to port 0, so pick one here.
// There is a tiny window in which another process could take it; acceptable for tests.
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function commandFor(args) {
  if (isGateway()) {
    const bin = process.env.WSGW_GATEWAY_BIN;
    if (!bin) throw new Error('WSGW_TARGET=gateway needs WSGW_GATEWAY_BIN=/path/to/ws-gateway');
    if (!fs.existsSync(bin)) throw new Error(`WSGW_GATEWAY_BIN does not exist: ${bin}`);
    return { command: bin, args };
  }
  return { command: process.execPath, args: [REFERENCE_SERVER, ...args] };
}

function sanitize(name) {
  return name.replace(/[^A-Za-z0-9_.-]+/g, '_');
}

export function logTail(logFile, maxChars = 4000) {
  try {
    const text = fs.readFileSync(logFile, 'utf8');
    return text.length > maxChars ? '...' + text.slice(-maxChars) : text;
  } catch {
    return '(no log)';
  }
}

export function httpGet(url, { timeoutMs = 2000, headers = {} } = {}) {
  const lib = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.get(url, { headers, rejectUnauthorized: false, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the target server.
 * options: {
 *   name: string (used for the log file),
 *   pingInterval, pingTimeout, maxPayload: numbers (ms / bytes),
 *   auth: 'none' | 'jwt', jwtSecret,
 *   tls: { cert, key } (then the server listens with TLS only, health on metrics port),
 *   metricsListen: boolean (serve /healthz, /metrics on a separate port),
 *   corsOrigins: string, extraArgs: string[],
 * }
 */
export async function startServer(options = {}) {
  const name = options.name || 'server';
  if (EXTERNAL_URL) return externalServer(name);
  const port = await freePort();
  const args = ['--conformance', '--log-level', process.env.WSGW_LOG_LEVEL || 'debug'];
  let scheme = 'http';
  if (options.tls) {
    scheme = 'https';
    args.push('--tls-listen', `${HOST}:${port}`, '--tls-cert', options.tls.cert, '--tls-key', options.tls.key);
  } else {
    args.push('--listen', `${HOST}:${port}`);
  }
  let metricsPort = null;
  if (options.metricsListen || options.tls) {
    metricsPort = await freePort();
    args.push('--metrics-listen', `${HOST}:${metricsPort}`);
  }
  if (isGateway()) args.push('--threads', process.env.WSGW_THREADS || '2');
  if (options.pingInterval !== undefined) args.push('--ping-interval', String(options.pingInterval));
  if (options.pingTimeout !== undefined) args.push('--ping-timeout', String(options.pingTimeout));
  if (options.maxPayload !== undefined) args.push('--max-payload', String(options.maxPayload));
  if (options.auth) args.push('--auth', options.auth);
  if (options.jwtSecret) args.push('--jwt-secret', options.jwtSecret);
  if (options.corsOrigins) args.push('--cors-origins', options.corsOrigins);
  if (options.extraArgs) args.push(...options.extraArgs);

  const { command, args: fullArgs } = commandFor(args);
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const logFile = path.join(LOG_DIR, `${sanitize(name)}.${targetName()}.log`);
  const logFd = fs.openSync(logFile, 'w');
  fs.writeSync(logFd, `# ${new Date().toISOString()} ${command} ${fullArgs.join(' ')}\n`);
  const child = spawn(command, fullArgs, { stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);

  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal, at: Date.now() };
      resolve(exitInfo);
    });
    child.on('error', (err) => {
      exitInfo = { code: null, signal: null, error: err, at: Date.now() };
      resolve(exitInfo);
    });
  });

  const url = `${scheme}://${HOST}:${port}`;
  const healthBase = metricsPort ? `http://${HOST}:${metricsPort}` : url;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = null;
  for (;;) {
    if (exitInfo) {
      throw new Error(`${targetName()} "${name}" exited before becoming ready ` +
        `(code=${exitInfo.code} signal=${exitInfo.signal} ${exitInfo.error || ''}); log ${logFile}:\n${logTail(logFile)}`);
    }
    try {
      const res = await httpGet(`${healthBase}/healthz`, { timeoutMs: 1000 });
      if (res.status === 200) break;
      lastError = new Error(`/healthz answered ${res.status}`);
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${targetName()} "${name}" not ready within ${READY_TIMEOUT_MS} ms ` +
        `(last: ${lastError?.message}); log ${logFile}:\n${logTail(logFile)}`);
    }
    await sleep(50);
  }

  let stopped = false;
  return {
    name,
    url,
    host: HOST,
    port,
    metricsUrl: metricsPort ? `http://${HOST}:${metricsPort}` : null,
    healthUrl: healthBase,
    logFile,
    pid: child.pid,
    exited,
    isRunning: () => exitInfo === null,
    /**
     * SIGTERM, wait for exit, and throw on a crash, a hang, a non-zero exit code or
     * death by any signal other than the SIGTERM sent (requireZeroExit: also reject
     * death by SIGTERM, i.e. demand a handled, graceful exit with code 0).
     * Returns { code, signal, elapsedMs }.
     */
    async stop({ timeoutMs = EXIT_TIMEOUT_MS, requireZeroExit = false } = {}) {
      if (stopped) return exitInfo;
      stopped = true;
      if (exitInfo) {
        throw new Error(`${targetName()} "${name}" had already exited before it was stopped ` +
          `(code=${exitInfo.code} signal=${exitInfo.signal}) — it crashed; log ${logFile}:\n${logTail(logFile)}`);
      }
      const started = Date.now();
      child.kill('SIGTERM');
      let timer;
      const timedOut = new Promise((resolve) => { timer = setTimeout(() => resolve(null), timeoutMs); });
      const result = await Promise.race([exited, timedOut]);
      clearTimeout(timer);
      if (!result) {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`${targetName()} "${name}" did not exit within ${timeoutMs} ms of SIGTERM; ` +
          `killed it. log ${logFile}:\n${logTail(logFile)}`);
      }
      const elapsedMs = result.at - started;
      const clean = result.code === 0 || (!requireZeroExit && result.signal === 'SIGTERM');
      if (!clean) {
        throw new Error(`${targetName()} "${name}" expected to exit with code 0` +
          `${requireZeroExit ? '' : ' (or by the SIGTERM sent)'} after SIGTERM, got ` +
          `code=${result.code} signal=${result.signal}; log ${logFile}:\n${logTail(logFile)}`);
      }
      return { ...result, elapsedMs };
    },
    /** For after-hooks of failed setups: never throws, never leaves the process behind. */
    async kill() {
      if (exitInfo) return;
      stopped = true;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The handle startServer() returns for WSGW_EXTERNAL_URL: nothing to spawn, stop or kill. */
async function externalServer(name) {
  const url = EXTERNAL_URL.replace(/\/+$/, '');
  const { hostname, port } = new URL(url);
  const res = await httpGet(`${url}/healthz`, { timeoutMs: 2000 }).catch((err) => ({ status: err.message }));
  if (res.status !== 200) throw new Error(`WSGW_EXTERNAL_URL ${url}: /healthz answered ${res.status}`);
  const exitInfo = { code: 0, signal: null, at: Date.now(), external: true };
  return {
    name,
    url,
    host: hostname,
    port: Number(port),
    metricsUrl: process.env.WSGW_EXTERNAL_METRICS_URL || null,
    healthUrl: url,
    logFile: null,
    pid: null,
    exited: new Promise(() => {}),  // never exits on our account
    isRunning: () => true,
    async stop() { return { ...exitInfo, elapsedMs: 0 }; },
    async kill() {},
  };
}

/**
 * The last test of a suite: SIGTERM the suite's server and require a clean exit
 * (code 0 or death by that SIGTERM, within EXIT_TIMEOUT_MS; 12-shutdown demands code 0). Being a test rather than an after()
 * hook, a crash or hang is counted and reported like any other failure.
 */
export function itExitsCleanlyOnSigterm(getServer) {
  const skip = EXTERNAL_URL ? 'WSGW_EXTERNAL_URL: the external gateway is stopped by its owner' : false;
  it('the server exits cleanly on SIGTERM (no crash, no hang)', { skip }, async () => {
    const server = getServer();
    if (!server) throw new Error('the server was never started (see the before() hook failure)');
    await server.stop();
  });
}
