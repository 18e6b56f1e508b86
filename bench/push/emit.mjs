#!/usr/bin/env node
// bench/run.py scenario 7: calls ws-api's Emit at a fixed rate and reports what the calls did.
// The gRPC client is generated from proto/wsgw/v1/api.proto at run time (@grpc/proto-loader).
// Every event carries {"ts": <µs since the epoch, taken just before the call>, "seq": n} as its
// first argument, so wsgw-loadgen --track-event times client receive time - ts.
//
//   node emit.mjs --addr 127.0.0.1:50051 --sids a.txt,b.txt --target room --rate 10000 \
//                 --duration 20 --event push --json out.json
//
// --target room: each sid (one a line in the --sids files) first joins a room of its own
// ("bench-<i>"), then emits go round-robin over those rooms: one delivery per emit.
// --target everyone: each emit goes to every socket of the namespace.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function parseArgs(argv) {
  const o = {
    addr: '127.0.0.1:50051', sids: '', target: 'room', rate: 1000, duration: 5, event: 'push',
    namespace: '/', maxInflight: 2000, json: '', readyFile: '', startFile: '', liveFile: '',
  };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(k in o) || i + 1 >= argv.length) throw new Error(`unknown or incomplete option ${argv[i]}`);
    o[k] = typeof o[k] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!(o.rate > 0) || !(o.duration > 0)) throw new Error('--rate and --duration must be positive');
  if (!['room', 'everyone'].includes(o.target)) throw new Error('--target is room or everyone');
  return o;
}

// Wall-clock µs since the epoch with sub-ms resolution (Date.now() has only ms).
const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

function quantiles(values) {
  if (!values.length) return { count: 0 };
  const v = Float64Array.from(values).sort();
  const q = (p) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))];
  const r3 = (x) => Math.round(x * 1000) / 1000;
  return { count: v.length, p50: r3(q(0.5)), p90: r3(q(0.9)), p99: r3(q(0.99)), max: r3(v[v.length - 1]) };
}

async function main() {
  const o = parseArgs(process.argv);
  const protoDir = path.join(ROOT, 'proto');
  const def = protoLoader.loadSync(path.join(protoDir, 'wsgw/v1/api.proto'), {
    includeDirs: [protoDir], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  });
  const api = grpc.loadPackageDefinition(def).wsgw.v1;
  const client = new api.WsApiService(o.addr, grpc.credentials.createInsecure());
  const call = (method, req, timeoutMs = 10000) => new Promise((resolve, reject) => {
    client[method](req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });

  const report = { target: o.target, rate_requested_per_s: o.rate, duration_requested_s: o.duration };
  const sids = o.sids.split(',').filter(Boolean)
    .flatMap((f) => fs.readFileSync(f, 'utf8').split('\n')).filter(Boolean);
  // A gateway reads its partition from the end, once its consumer has it: records produced
  // before that are never seen (joins included). Until the driver, watching the gateway's
  // metrics, says records arrive (--live-file), poke one socket's node every 100 ms.
  let warmups = 0;
  if (o.liveFile) {
    if (!sids.length) throw new Error('--live-file needs sids (--sids)');
    while (!fs.existsSync(o.liveFile)) {
      await call('Emit', { sid: sids[0], namespace: o.namespace, event: 'warmup', args_json: '[]' });
      warmups++;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  report.warmup_emits = warmups;
  let rooms = [];
  if (o.target === 'room') {
    if (!sids.length) throw new Error('--target room needs sids (--sids)');
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < sids.length) {
        const i = next++;
        const r = await call('JoinRoom', { sid: sids[i], namespace: o.namespace, rooms: [`bench-${i}`] });
        if (r.sockets !== 1) throw new Error(`JoinRoom ${sids[i]}: ${r.sockets} sockets joined`);
      }
    };
    await Promise.all(Array.from({ length: 50 }, worker));
    rooms = sids.map((_, i) => `bench-${i}`);
    report.rooms = rooms.length;
    report.join_s = Math.round(performance.now() - t0) / 1000;
  }
  if (o.readyFile) fs.writeFileSync(o.readyFile, `${JSON.stringify({ warmups, joins: rooms.length })}\n`);
  // The driver may wait for the rooms to reach the gateway before the clock starts.
  if (o.startFile) {
    while (!fs.existsSync(o.startFile)) await new Promise((r) => setTimeout(r, 20));
  }

  const total = Math.round(o.rate * o.duration);
  const rpcMs = [];
  const errors = {};
  let sent = 0, ok = 0, done = 0, inflight = 0, maxLagMs = 0, noTarget = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await new Promise((resolve) => {
    const finishOne = () => { if (++done === total) resolve(); };
    const tick = () => {
      const elapsedMs = performance.now() - t0;
      const due = Math.min(total, Math.floor((elapsedMs / 1000) * o.rate) + 1);
      while (sent < due && inflight < o.maxInflight) {
        const seq = sent++;
        const scheduledMs = (seq / o.rate) * 1000;
        maxLagMs = Math.max(maxLagMs, elapsedMs - scheduledMs);
        const req = { namespace: o.namespace, event: o.event, args_json: `[{"ts":${nowUs()},"seq":${seq}}]` };
        if (o.target === 'room') req.room = rooms[seq % rooms.length];
        else req.everyone = {};
        inflight++;
        const start = performance.now();
        client.Emit(req, { deadline: Date.now() + 10000 }, (err, res) => {
          inflight--;
          if (err) errors[grpc.status[err.code] ?? err.code] = (errors[grpc.status[err.code] ?? err.code] ?? 0) + 1;
          else {
            ok++;
            if (!res.target_nodes) noTarget++;  // ws-api found no node for the target
            rpcMs.push(performance.now() - start);
          }
          finishOne();
        });
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  Object.assign(report, {
    cpu_s: Math.round((cpu.user + cpu.system) / 1000) / 1000,
    emits: total, ok, errors, emits_without_target_nodes: noTarget, wall_s: Math.round(wall * 1000) / 1000,
    emits_per_s: Math.round((total / wall) * 10) / 10,
    max_schedule_lag_ms: Math.round(maxLagMs * 10) / 10,
    rpc_ms: quantiles(rpcMs),
  });
  client.close();
  const text = `${JSON.stringify(report, null, 2)}\n`;
  if (o.json) fs.writeFileSync(o.json, text);
  else process.stdout.write(text);
}

main().catch((e) => { console.error(`emit.mjs: ${e.stack ?? e}`); process.exit(1); });
