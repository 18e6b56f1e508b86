// A tiny TCP load balancer for tests: each accepted connection is piped to the first backend
// (in list order) that accepts it. It stands in for the Kubernetes Service in front of the
// gateway pods, so a socket.io-client keeps ONE url and its own reconnection logic finds a
// live node after a node dies, which is what real clients do in production.
import net from 'node:net';

export async function startBalancer(backends /* [{host, port}] */) {
  const sockets = new Set();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    client.pause();
    const tryBackend = (i) => {
      if (i >= backends.length) { client.destroy(); return; }
      const upstream = net.connect(backends[i].port, backends[i].host);
      upstream.once('error', () => tryBackend(i + 1));  // refused: next backend
      upstream.once('connect', () => {
        upstream.removeAllListeners('error');
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        sockets.add(upstream);
        upstream.on('close', () => sockets.delete(upstream));
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close() { for (const s of sockets) s.destroy(); server.close(); },
  };
}
