// 200 concurrent socket.io-client 4 connections (websocket, polling and upgrading
// ones), each doing an ack round trip; all must succeed.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { itExitsCleanlyOnSigterm, startServer } from '../lib/harness.mjs';
import { ClientPool, connectV4, emitWithAckArgs, echoRoundTrip, withTimeout } from '../lib/clients.mjs';

const CLIENTS = 200;
const TRANSPORT_MIX = [['websocket'], ['polling'], undefined /* default: polling then upgrade */];

describe(`${CLIENTS} concurrent socket.io-client 4 connections`, () => {
  const pool = new ClientPool();
  let server;
  before(async () => { server = await startServer({ name: '08-concurrency' }); });
  afterEach(() => pool.closeAll());
  after(async () => { pool.closeAll(); await server?.kill(); });

  it('all connect and get their own ack and message-back', { timeout: 60000 }, async () => {
    const outcomes = await withTimeout(Promise.all(Array.from({ length: CLIENTS }, async (_, i) => {
      const transports = TRANSPORT_MIX[i % TRANSPORT_MIX.length];
      const label = `client #${i} (${transports ? transports.join('+') : 'default'})`;
      try {
        const { socket } = await connectV4(pool, server.url, transports ? { transports } : {},
          { timeoutMs: 20000, label });
        const ack = await emitWithAckArgs(socket, 'message-with-ack', [i, `client-${i}`], { timeoutMs: 20000 });
        assert.deepEqual(ack, [i, `client-${i}`], `${label}: ack must carry this client's own arguments`);
        const back = await echoRoundTrip(socket, [`back-${i}`], { timeoutMs: 20000 });
        assert.deepEqual(back, [`back-${i}`], `${label}: message-back must carry this client's own argument`);
        return { ok: true, id: socket.id };
      } catch (err) {
        return { ok: false, error: `${label}: ${err.message}` };
      }
    })), 45000, `${CLIENTS} clients did not all finish within 45 s`);
    const failures = outcomes.filter((o) => !o.ok);
    assert.equal(failures.length, 0,
      `${failures.length}/${CLIENTS} clients failed; first ones:\n${failures.slice(0, 10).map((f) => f.error).join('\n')}`);
    const ids = new Set(outcomes.map((o) => o.id));
    assert.equal(ids.size, CLIENTS, 'every connection should get a distinct socket id');
  });

  itExitsCleanlyOnSigterm(() => server);
});
