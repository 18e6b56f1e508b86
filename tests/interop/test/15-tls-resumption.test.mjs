// TLS details a deployment relies on: session resumption (tickets) so reconnect storms cost
// less CPU, TLS 1.2+ only, and ALPN http/1.1.
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { isGateway, itExitsCleanlyOnSigterm, startServer } from '../lib/harness.mjs';
import { generateSelfSignedCert } from '../lib/tls.mjs';

function handshake(port, options = {}) {
  return new Promise((resolve, reject) => {
    const sessions = [];
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    socket.on('session', (s) => sessions.push(s));
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      // Ask for something so TLS 1.3 tickets (sent after the handshake) arrive.
      socket.write('GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    socket.on('data', () => {});
    socket.once('end', () => resolve({ reused: socket.isSessionReused(), protocol: socket.getProtocol(), alpn: socket.alpnProtocol, session: sessions.at(-1) }));
  });
}

describe('TLS resumption and versions', { skip: !isGateway() && 'gateway TLS details' }, () => {
  let server, port, cert;
  before(async () => {
    cert = generateSelfSignedCert();
    server = await startServer({ name: '15-tls', tls: cert });
    port = Number(new URL(server.url).port);
  });
  after(async () => { await server?.kill(); cert?.cleanup(); });

  it('a second connection resumes the first one\'s session', async () => {
    const first = await handshake(port, { ALPNProtocols: ['http/1.1'] });
    assert.equal(first.reused, false);
    assert.ok(first.session, 'the server should issue a session ticket');
    assert.equal(first.alpn, 'http/1.1');
    const second = await handshake(port, { session: first.session });
    assert.equal(second.reused, true, 'the session should be resumed');
  });

  it('TLS 1.2 works and TLS 1.1 is refused', async () => {
    const v12 = await handshake(port, { maxVersion: 'TLSv1.2' });
    assert.equal(v12.protocol, 'TLSv1.2');
    // SECLEVEL=0 lets this client offer TLS 1.1 at all (checked against a TLS 1.1 server), so
    // the refusal comes from the gateway.
    await assert.rejects(handshake(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }));
  });

  itExitsCleanlyOnSigterm(() => server);
});
