// Minimal HS256 JWT signing for tests (no JWT package on purpose: the test signs
// exactly what it means to send, including deliberately broken tokens).
import crypto from 'node:crypto';

const base64Url = (input) => Buffer.from(input).toString('base64url');

export function signJwt(claims, secret, { header = { alg: 'HS256', typ: 'JWT' } } = {}) {
  const signingInput = `${base64Url(JSON.stringify(header))}.${base64Url(JSON.stringify(claims))}`;
  const signature = crypto.createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
