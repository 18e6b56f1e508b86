// socket.io-client 4, WebSocket transport only (no polling handshake first).
import { after, afterEach, before, describe } from 'node:test';
import { itExitsCleanlyOnSigterm, startServer } from '../lib/harness.mjs';
import { ClientPool } from '../lib/clients.mjs';
import { defineBasicV4Checks } from '../lib/suites.mjs';

describe('socket.io-client 4, websocket only', () => {
  const pool = new ClientPool();
  let server;
  before(async () => { server = await startServer({ name: '01-v4-websocket' }); });
  afterEach(() => pool.closeAll());
  after(async () => { pool.closeAll(); await server?.kill(); });

  defineBasicV4Checks(() => ({ server, pool }), { transports: ['websocket'], expectedTransport: 'websocket' });

  itExitsCleanlyOnSigterm(() => server);
});
