// The local demo in a real headless Chromium: deploy/run-local.sh (the same script a newcomer
// runs, with --no-setup --no-build and free ports) starts Redis, wsgw-dev-kafka, ws-api, two
// gateways (gw-1 plain, gw-2 TLS), the example component and the demo component; two pages of
// the demo then check presence, cursors, comments, a push made here through ws-api's gRPC Emit,
// and the fail-over of a page whose gateway is SIGKILLed. Screenshots go to tests/demo/artifacts/.
// Every wait is on a condition; the whole file takes about 30-40 s.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const ARTIFACTS = process.env.WSGW_DEMO_ARTIFACTS || path.join(HERE, 'artifacts');
const STATE = path.join(HERE, '.logs', 'state');
const CHROMIUM = process.env.WSGW_CHROMIUM || '/usr/bin/chromium';
const HOST = '127.0.0.1';
const DOC = `test-${Date.now().toString(36)}`;  // a document of its own: no other tab interferes

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

// ---------------------------------------------------------------------------------------------
// The stack, through deploy/run-local.sh.

let stack = null;  // { child, output(), exited, ports }

async function startStack() {
  const ports = {
    PORT: await freePort(), TLS_PORT: await freePort(), DEMO_PORT: await freePort(),
    API_PORT: await freePort(), API_METRICS_PORT: await freePort(),
  };
  fs.rmSync(STATE, { recursive: true, force: true });
  fs.mkdirSync(STATE, { recursive: true });
  const env = {
    ...process.env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    WSGW_STATE_DIR: STATE, WSGW_BUILD_DIR: process.env.WSGW_BUILD_DIR || path.join(ROOT, 'build'),
    DEMO_PUSH_PERIOD: '10s',
  };
  delete env.KAFKA_BROKERS;  // always the self-contained stack
  delete env.REDIS_URL;
  // detached: the script leads a process group of its own, so the after() hook can end
  // everything even if the script itself misbehaves.
  const child = spawn('bash', [path.join(ROOT, 'deploy/run-local.sh'), '--no-setup', '--no-build'],
    { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (d) => { text += d; });
  child.stderr.on('data', (d) => { text += d; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  stack = { child, ports, exited, output: () => text, demoUrl: `http://${HOST}:${ports.DEMO_PORT}` };
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`run-local.sh not ready within 60 s:\n${text}`)), 60000);
    const check = () => { if (/^wsgw local stack is ready$/m.test(text)) { clearTimeout(timer); resolve(); } };
    child.stdout.on('data', check);
    exited.then((r) => { clearTimeout(timer); reject(new Error(`run-local.sh exited ${JSON.stringify(r)} before ready:\n${text}`)); });
  });
  return stack;
}

const pidOf = (name) => Number(fs.readFileSync(path.join(STATE, `${name}.pid`), 'utf8').split(' ')[0]);

// ---------------------------------------------------------------------------------------------
// gRPC client of wsgw.v1, generated from proto/ at run time.

function apiClient(addr) {
  const protoDir = path.join(ROOT, 'proto');
  const def = protoLoader.loadSync(path.join(protoDir, 'wsgw/v1/api.proto'), {
    includeDirs: [protoDir], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  });
  const client = new (grpc.loadPackageDefinition(def).wsgw.v1.WsApiService)(addr, grpc.credentials.createInsecure());
  const unary = (method) => (request) => new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + 10000 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
  return { Emit: unary('Emit'), ListRoomSockets: unary('ListRoomSockets'), close: () => client.close() };
}

// ---------------------------------------------------------------------------------------------
// Browser helpers.

let browser;
let api;
const pages = {};   // alice, bob: { page, errors }
const shots = [];

async function openPage(user, gw) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 760 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${stack.demoUrl}/?user=${user}&doc=${DOC}&gw=${gw}`);
  return { page, errors };
}

async function screenshot(name, page) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
}

/** Waits until `selector` exists in the page, with a message saying what was expected. */
async function expectSelector(page, selector, what, timeout = 15000) {
  try {
    await page.waitForSelector(selector, { state: 'attached', timeout });
  } catch (err) {
    const log = await page.locator('#log').innerText().catch(() => '?');
    const viewers = await page.locator('#viewers').innerText().catch(() => '?');
    throw new Error(`${what}: ${selector} not within ${timeout} ms\nviewers:\n${viewers}\npage log:\n${log}`);
  }
}
const feedHas = (page, kind, text, what) =>
  page.waitForFunction(([k, t]) => [...document.querySelectorAll(`#feed li.${k} .text`)].some((el) => el.textContent === t),
    [kind, text], { timeout: 15000 }).catch((err) => { throw new Error(`${what}: "${text}" not in the feed (${err.message})`); });

async function pushOverGrpc(text) {
  const res = await api.Emit({ room: `doc:${DOC}`, namespace: '/demo', event: 'announcement',
    args_json: JSON.stringify([{ text, from: 'tests/demo (gRPC Emit)', at: new Date().toISOString() }]) });
  assert.ok(res.target_nodes >= 1, `Emit reached ${res.target_nodes} nodes`);
  return res;
}

// ---------------------------------------------------------------------------------------------

describe('local demo (deploy/run-local.sh) in headless Chromium', () => {
  before(async () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} not found (apt-get install chromium; deploy/setup-debian.sh does)`);
    await startStack();
    api = apiClient(`${HOST}:${stack.ports.API_PORT}`);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  });

  after(async () => {
    for (const p of Object.values(pages)) await p.page.context().close().catch(() => {});
    await browser?.close().catch(() => {});
    api?.close();
    if (stack && stack.child.exitCode === null && stack.child.signalCode === null) {
      try { process.kill(-stack.child.pid, 'SIGTERM'); } catch { /* gone */ }
      // Should the script hang, kill it and every daemon group it recorded.
      const t = setTimeout(() => {
        for (const f of fs.readdirSync(STATE).filter((n) => n.endsWith('.pid'))) {
          try { process.kill(-pidOf(f.slice(0, -4)), 'SIGKILL'); } catch { /* gone */ }
        }
        try { process.kill(-stack.child.pid, 'SIGKILL'); } catch { /* gone */ }
      }, 20000);
      await stack.exited;
      clearTimeout(t);
    }
    if (shots.length) console.log(`screenshots:\n${shots.map((f) => `  ${f}`).join('\n')}`);
  });

  it('serves the page with the socket.io-client bundle of the pinned npm package', async () => {
    const bundle = await (await fetch(`${stack.demoUrl}/socket.io.min.js`)).text();
    const pinned = fs.readFileSync(path.join(ROOT, 'deploy/local/demo/node_modules/socket.io-client/dist/socket.io.min.js'), 'utf8');
    assert.equal(bundle, pinned);
    const config = await (await fetch(`${stack.demoUrl}/config.json`)).json();
    assert.deepEqual(config.gateways, [`http://${HOST}:${stack.ports.PORT}`, `https://${HOST}:${stack.ports.TLS_PORT}`]);
  });

  it('two pages on two gateways (plain and TLS) see each other', async () => {
    pages.alice = await openPage('alice', 0);
    pages.bob = await openPage('bob', 1);
    const { alice, bob } = pages;
    await expectSelector(alice.page, 'body[data-node="gw-1"]', 'alice on gw-1');
    await expectSelector(bob.page, 'body[data-node="gw-2"]', 'bob on gw-2');
    // socket.io-client starts with polling and upgrades to WebSocket (wss for bob).
    await expectSelector(alice.page, 'body[data-transport="websocket"]', 'alice upgraded');
    await expectSelector(bob.page, 'body[data-transport="websocket"]', 'bob upgraded');
    await expectSelector(alice.page, '#viewers li[data-user="bob"][data-node="gw-2"]', 'alice sees bob');
    await expectSelector(bob.page, '#viewers li[data-user="alice"][data-node="gw-1"]', 'bob sees alice');
    await expectSelector(alice.page, '#viewers li.me[data-user="alice"]', 'alice sees herself');
    const log = await alice.page.locator('#log').innerText();
    assert.match(log, /upgraded to websocket/);
  });

  it('cursors and comments travel through the component to the other page only', async () => {
    const { alice, bob } = pages;
    const box = await alice.page.locator('#doc').boundingBox();
    await alice.page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.4);
    await alice.page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5, { steps: 5 });
    await expectSelector(bob.page, '#cursors .cursor[data-user="alice"]', 'bob sees alice\'s cursor');
    // The component excludes the sender (except_sids): alice never gets her own cursor.
    assert.equal(await alice.page.locator('#cursors .cursor').count(), 0);

    await alice.page.fill('#comment-text', 'hello from alice');
    await alice.page.press('#comment-text', 'Enter');
    await feedHas(bob.page, 'comment', 'hello from alice', 'bob gets alice\'s comment');
    await feedHas(alice.page, 'comment', 'hello from alice', 'alice gets her own comment');
  });

  it('a push through ws-api\'s gRPC Emit reaches both pages', async () => {
    const text = `gRPC push ${Date.now()}`;
    const res = await pushOverGrpc(text);
    assert.equal(res.target_nodes, 2);
    await feedHas(pages.alice.page, 'announcement', text, 'alice gets the push');
    await feedHas(pages.bob.page, 'announcement', text, 'bob gets the push');
    await screenshot('01-alice-on-gw-1', pages.alice.page);
    await screenshot('02-bob-on-gw-2', pages.bob.page);
  });

  it('SIGKILL of gw-1 moves alice to gw-2 without user action', async () => {
    const { alice, bob } = pages;
    process.kill(pidOf('gw-1'), 'SIGKILL');
    const started = Date.now();
    await expectSelector(alice.page, 'body[data-node="gw-2"][data-status="connected"]', 'alice failed over to gw-2');
    console.log(`fail-over took ${Date.now() - started} ms`);
    assert.match(await alice.page.locator('#gateway-url').innerText(), new RegExp(`^https://${HOST}:${stack.ports.TLS_PORT}$`));
    // Presence works again: bob sees alice's new socket on gw-2 ...
    await expectSelector(bob.page, '#viewers li[data-user="alice"][data-node="gw-2"]', 'bob sees alice on gw-2');
    await expectSelector(alice.page, '#viewers li[data-user="bob"][data-node="gw-2"]', 'alice sees bob again');
    // ... and a gRPC push reaches both pages, now on one node.
    const text = `gRPC push after fail-over ${Date.now()}`;
    // (ws-api still counts gw-1 until its reaper removed the dead node: the record is sent there
    // too and simply never consumed.)
    await pushOverGrpc(text);
    await feedHas(alice.page, 'announcement', text, 'alice gets the push after fail-over');
    await feedHas(bob.page, 'announcement', text, 'bob gets the push after fail-over');
    await alice.page.fill('#comment-text', 'alice is back');
    await alice.page.press('#comment-text', 'Enter');
    await feedHas(bob.page, 'comment', 'alice is back', 'bob gets alice\'s comment after fail-over');
    await screenshot('03-alice-after-failover', alice.page);
  });

  it('ws-api reaps the dead node: alice\'s old gw-1 socket leaves the viewer list', async () => {
    const { bob } = pages;
    // --node-timeout (10 s) + --reaper-period (2 s) after the kill at most.
    await bob.page.waitForFunction(() => !document.querySelector('#viewers li[data-node="gw-1"]'), null, { timeout: 25000 });
    const listed = await api.ListRoomSockets({ namespace: '/demo', room: `doc:${DOC}` });
    assert.deepEqual(listed.sockets.map((s) => s.node).sort(), ['gw-2', 'gw-2']);
    const text = `gRPC push after the reap ${Date.now()}`;
    const res = await pushOverGrpc(text);
    assert.equal(res.target_nodes, 1, 'only gw-2 holds members of the room now');
    await feedHas(pages.alice.page, 'announcement', text, 'alice gets the push after the reap');
    await feedHas(bob.page, 'announcement', text, 'bob gets the push after the reap');
    await screenshot('04-bob-after-reap', bob.page);
    assert.deepEqual(pages.alice.errors, [], 'no uncaught error in alice\'s page');
    assert.deepEqual(bob.errors, [], 'no uncaught error in bob\'s page');
  });

  it('SIGTERM stops the whole stack and leaves no process behind', async () => {
    const names = fs.readdirSync(STATE).filter((f) => f.endsWith('.pid')).map((f) => f.slice(0, -4));
    const pids = names.map((n) => pidOf(n));
    assert.deepEqual(names.sort(), ['demo-component', 'example-component', 'gw-1', 'gw-2', 'kafka', 'redis', 'ws-api']);
    process.kill(stack.child.pid, 'SIGTERM');
    let timer;
    const r = await Promise.race([stack.exited, new Promise((res) => { timer = setTimeout(() => res('timeout'), 30000); })]);
    clearTimeout(timer);
    assert.deepEqual(r, { code: 0, signal: null }, stack.output());
    assert.match(stack.output(), /all stopped, no process left/);
    for (const [i, pid] of pids.entries()) assert.ok(!alive(pid), `${names[i]} (pid ${pid}) still running`);
    // Nothing in the script's own process group either (pgrep exits 1 when it finds nothing).
    let left = '';
    try { left = execFileSync('pgrep', ['-g', String(stack.child.pid)], { encoding: 'utf8' }); } catch { /* none */ }
    assert.equal(left.trim(), '', `processes left in the group: ${left}`);
  });
});
