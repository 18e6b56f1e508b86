// Generates a throw-away self-signed certificate for localhost / 127.0.0.1 with the
// openssl CLI, in a temporary directory that the caller removes.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function generateSelfSignedCert() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsgw-interop-tls-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', key, '-out', cert,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return {
    cert,
    key,
    ca: fs.readFileSync(cert),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
