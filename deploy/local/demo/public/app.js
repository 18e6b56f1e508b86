// The demo page: a shared document with presence, live cursors and a comment feed, over the
// unmodified socket.io-client (the global `io` from /socket.io.min.js).
//
// URL parameters: ?user=NAME (default: a random guest name), ?doc=ID (default "welcome"),
// ?gw=N (index of the gateway to try first; default random), ?transports=websocket (default
// polling first, then the upgrade to WebSocket, as socket.io-client does by default).
//
// Everything the page receives is pushed by the demo component through ws-api's gRPC API; the
// page only emits "cursor", "comment" (with an ack) and, as a fallback, "hello".
/* global io */

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const config = await (await fetch('/config.json')).json();
const gateways = config.gateways;
const user = (params.get('user') || `guest-${Math.random().toString(36).slice(2, 6)}`).slice(0, 40);
const doc = params.get('doc') || 'welcome';
const transports = params.get('transports') ? params.get('transports').split(',') : ['polling', 'websocket'];
let gatewayIndex = params.has('gw') ? Number(params.get('gw')) % gateways.length : Math.floor(Math.random() * gateways.length);

$('user').textContent = user;
$('doc-name').textContent = `· ${doc}`;

let socket = null;
let me = null;            // the component's "welcome": { sid, user, color, node, ... }
let failures = 0;         // connection attempts in a row that did not end in a welcome
let helloTimer = null;

function logLine(text) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $('log').prepend(li);
  while ($('log').children.length > 60) $('log').lastChild.remove();
}
function setStatus(status) {
  document.body.dataset.status = status;
  $('status').textContent = status;
}
function setTransport(name) {
  document.body.dataset.transport = name;
  $('transport').textContent = name;
}

// ---------------------------------------------------------------------------------------------
// Connection with fail-over between gateways.
//
// A socket.io-client Manager (what io(url) creates) is bound to ONE url: its built-in
// reconnection retries that same gateway forever. Behind a load balancer that is what you want;
// here the page knows both gateways itself, so it turns the built-in reconnection off and,
// whenever the connection drops ("disconnect") or cannot be established ("connect_error"),
// closes that Manager and opens a new one on the next gateway URL, with a growing back-off
// once every gateway has failed in a row. The component greets every new socket with
// "welcome"; only that resets the back-off, so a gateway that accepts connections but cannot
// reach the cluster does not pin the page.

function connect() {
  const url = gateways[gatewayIndex];
  $('gateway-url').textContent = url;
  $('node').textContent = '…';
  delete document.body.dataset.node;
  setStatus(failures ? 'reconnecting' : 'connecting');
  setTransport('–');
  logLine(`connecting to ${url} (${transports.join(' → ')})`);

  const s = io(`${url}${config.namespace}`, {
    auth: { user, doc },     // the component reads it from SocketConnected.socket.auth_json
    transports,
    reconnection: false,     // fail-over is ours, see above
    forceNew: true,          // a new Manager (and connection) per attempt
    timeout: 5000,
  });
  socket = s;

  s.io.on('open', () => {
    const engine = s.io.engine;
    setTransport(engine.transport.name);
    engine.on('upgrade', (transport) => {
      setTransport(transport.name);
      logLine(`upgraded to ${transport.name}`);
    });
  });
  s.on('connect', () => {
    setStatus('connected');
    $('sid').textContent = s.id;
    logLine(`connected to ${url}, socket ${s.id}`);
    // The component joins us to the document on our connect event; should that event have
    // been missed (the component was restarting), ask again.
    clearTimeout(helloTimer);
    helloTimer = setTimeout(function retry() {
      if (socket !== s || !s.connected || me?.sid === s.id) return;
      logLine('no welcome yet: sending hello');
      s.emit('hello', { user, doc });
      helloTimer = setTimeout(retry, 3000);
    }, 3000);
  });
  s.on('disconnect', (reason) => {
    if (socket !== s) return;
    logLine(`disconnected from ${url}: ${reason}`);
    if (reason === 'io client disconnect') return;
    // "io server disconnect" (kicked by a component) would not reconnect in socket.io-client;
    // this demo has no kicking, so every other reason means: try the other gateway.
    failOver();
  });
  s.on('connect_error', (err) => {
    if (socket !== s) return;
    logLine(`cannot connect to ${url}: ${err.message}`);
    failOver();
  });

  s.on('welcome', (info) => {
    me = info;
    failures = 0;
    $('node').textContent = info.node || '?';
    document.body.dataset.node = info.node || '';
    document.body.dataset.sid = info.sid;
    logLine(`welcome: ${info.user} on node ${info.node}`);
    $('feed').replaceChildren();
    for (const c of info.comments) addFeed('comment', c);
  });
  s.on('presence', renderPresence);
  s.on('cursor', renderCursor);
  s.on('comment', (c) => addFeed('comment', c));
  s.on('announcement', (a) => addFeed('announcement', a));
}

function failOver() {
  const old = socket;
  socket = null;
  me = null;
  if (old) { old.removeAllListeners(); old.io.removeAllListeners(); old.close(); }
  $('sid').textContent = '–';
  setStatus('reconnecting');
  failures += 1;
  gatewayIndex = (gatewayIndex + 1) % gateways.length;
  // The first switch is immediate (the other gateway is probably fine); after every gateway
  // failed, back off up to 5 s, with jitter so that many tabs do not return in lock-step.
  const rounds = Math.floor((failures - 1) / gateways.length);
  const delay = failures <= gateways.length ? 100 : Math.min(5000, 250 * 2 ** rounds) * (0.5 + Math.random() / 2);
  setTimeout(connect, delay);
}

// ---------------------------------------------------------------------------------------------
// Rendering.

function renderPresence({ viewers }) {
  const list = $('viewers');
  list.replaceChildren(...viewers.map((v) => {
    const li = document.createElement('li');
    li.dataset.user = v.user;
    li.dataset.node = v.node;
    li.dataset.sid = v.sid;
    if (v.sid === socket?.id) li.classList.add('me');
    li.style.setProperty('--c', v.color);
    const dot = document.createElement('span');
    dot.className = 'dot';
    const name = document.createElement('span');
    name.textContent = v.sid === socket?.id ? `${v.user} (you)` : v.user;
    const node = document.createElement('span');
    node.className = 'node';
    node.textContent = v.node;  // the gateway node holding that viewer's connection
    li.append(dot, name, node);
    return li;
  }));
  $('viewer-count').textContent = `(${viewers.length})`;
  // Cursors of sockets that left disappear with them.
  const present = new Set(viewers.map((v) => v.sid));
  for (const el of [...$('cursors').children]) if (!present.has(el.dataset.sid)) el.remove();
}

function renderCursor({ sid, user: who, color, x, y }) {
  let el = $('cursors').querySelector(`[data-sid="${CSS.escape(sid)}"]`);
  if (!el) {
    el = document.createElement('div');
    el.className = 'cursor';
    el.dataset.sid = sid;
    el.dataset.user = who;
    el.append(document.createElement('span'));
    $('cursors').append(el);
  }
  el.style.setProperty('--c', color);
  el.firstChild.textContent = who;
  el.style.left = `${(x * 100).toFixed(2)}%`;
  el.style.top = `${(y * 100).toFixed(2)}%`;
}

function addFeed(kind, item) {
  const li = document.createElement('li');
  li.className = kind;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = `${kind === 'comment' ? item.user : item.from || 'server push'} · ${new Date(item.at || Date.now()).toLocaleTimeString()}`;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = item.text;
  li.append(meta, text);
  $('feed').prepend(li);
  while ($('feed').children.length > 100) $('feed').lastChild.remove();
}

// ---------------------------------------------------------------------------------------------
// Input.

let lastCursorAt = 0;
$('doc').addEventListener('mousemove', (e) => {
  const now = performance.now();
  if (!socket?.connected || now - lastCursorAt < 40) return;  // ~25 updates per second at most
  lastCursorAt = now;
  const box = $('doc').getBoundingClientRect();
  // Volatile: dropped rather than queued when the connection is busy; the next move supersedes it.
  socket.volatile.emit('cursor', { x: (e.clientX - box.left) / box.width, y: (e.clientY - box.top) / box.height });
});

$('comment-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $('comment-text');
  const text = input.value.trim();
  if (!text || !socket?.connected) return;
  socket.timeout(5000).emit('comment', { text }, (err, answer) => {
    if (err || !answer?.ok) logLine(`comment not confirmed: ${err ? err.message : 'refused'}`);
  });
  input.value = '';
});

connect();
