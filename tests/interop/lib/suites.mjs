// Test bodies shared by several files (the same checks over different transports).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  MIXED_ARGS, assertSameArgs, connectV4, echoRoundTrip, emitWithAckArgs, waitFor, withTimeout,
} from './clients.mjs';

/**
 * Defines the basic socket.io-client 4 checks for one transport list.
 * getContext() returns { server, pool } once the suite's before() hook ran.
 */
export function defineBasicV4Checks(getContext, { transports, expectedTransport }) {
  const connect = (options = {}) => {
    const { server, pool } = getContext();
    return connectV4(pool, server.url, { transports, ...options });
  };

  it(`connects over ${expectedTransport} and gets "auth" = {} without auth`, async () => {
    const { socket, auth } = await connect();
    assert.equal(socket.connected, true, 'socket should be connected');
    assert.equal(socket.io.engine.transport.name, expectedTransport, 'transport in use');
    assert.equal(typeof socket.id, 'string', 'socket.id should be a string after connect');
    assert.ok(socket.id.length > 0, 'socket.id should be non-empty');
    assert.deepEqual(auth, {}, 'server "auth" event should carry {} when the client sent no auth');
  });

  it('echoes the handshake auth object in the "auth" event', async () => {
    const sent = { user: 'alice', n: 42, nested: { list: [1, 'two'] } };
    const { auth } = await connect({ auth: sent });
    assert.deepEqual(auth, sent, 'server "auth" event should carry the client\'s auth object unchanged');
  });

  it('"message" comes back as "message-back" with the same mixed arguments', async () => {
    const { socket } = await connect();
    const back = await echoRoundTrip(socket, MIXED_ARGS);
    assertSameArgs(back, MIXED_ARGS, 'message-back');
  });

  it('"message" with no arguments comes back with no arguments', async () => {
    const { socket } = await connect();
    const back = await echoRoundTrip(socket, []);
    assert.deepEqual(back, [], 'message-back should have no arguments');
  });

  it('"message-with-ack" is acked with the same mixed arguments', async () => {
    const { socket } = await connect();
    const ack = await emitWithAckArgs(socket, 'message-with-ack', MIXED_ARGS);
    assertSameArgs(ack, MIXED_ARGS, 'ack of message-with-ack');
  });

  it('several acks in flight are each answered with their own arguments', async () => {
    const { socket } = await connect();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => emitWithAckArgs(socket, 'message-with-ack', [i, `n${i}`])));
    results.forEach((ack, i) => assert.deepEqual(ack, [i, `n${i}`], `ack #${i} should carry its own arguments`));
  });

  it('100 messages come back in the order they were sent', async () => {
    const { socket } = await connect();
    const received = [];
    const done = new Promise((resolve) => {
      socket.on('message-back', (n) => { received.push(n); if (received.length === 100) resolve(); });
    });
    for (let i = 0; i < 100; i++) socket.emit('message', i);
    await withTimeout(done, 5000, () => `only ${received.length}/100 message-back events arrived within 5000 ms`);
    assert.deepEqual(received, Array.from({ length: 100 }, (_, i) => i), 'message-back order should match send order');
  });

  it('a 200 KB text message round trips intact', async () => {
    const { socket } = await connect();
    const big = 'αβγ-0123456789-'.repeat(14000); // ~ 200 KB of UTF-8, multi-byte characters
    const [back] = await echoRoundTrip(socket, [big]);
    assert.equal(typeof back, 'string', 'message-back argument should be a string');
    assert.equal(back.length, big.length, 'message-back string length');
    assert.ok(back === big, 'message-back string content should be identical');
  });

  it('disconnect() from the client ends the session cleanly', async () => {
    const { socket } = await connect();
    const reason = waitFor(socket, 'disconnect', { what: 'disconnect after socket.disconnect()' });
    socket.disconnect();
    const [why] = await reason;
    assert.equal(why, 'io client disconnect', 'client-side disconnect reason');
  });
}
