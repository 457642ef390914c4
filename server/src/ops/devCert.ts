import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';

export interface DevCertificate {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

/**
 * A local certificate authority and a server certificate signed by it, for trying HTTPS out
 * (`madoguchi cert dev`). Production uses the municipality's internal CA. Made with Debian's
 * openssl; private keys are readable by the owner only.
 */
export function makeDevCertificate(dir: string, hosts: readonly string[], days = 825): DevCertificate {
  mkdirSync(dir, { recursive: true });
  const f: DevCertificate = {
    caCert: path.join(dir, 'dev-ca.pem'),
    caKey: path.join(dir, 'dev-ca.key'),
    cert: path.join(dir, 'server.pem'),
    key: path.join(dir, 'server.key'),
  };
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f.caKey,
    '-out',
    f.caCert,
    '-days',
    String(days),
    '-subj',
    '/CN=madoguchi dev CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const csr = path.join(dir, 'server.csr');
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f.key, '-out', csr, '-subj', `/CN=${hosts[0] ?? 'localhost'}`]);
  const ext = path.join(dir, 'server.ext');
  const san = hosts.map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  writeFileSync(
    ext,
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`,
  );
  run([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    f.caCert,
    '-CAkey',
    f.caKey,
    '-CAcreateserial',
    '-out',
    f.cert,
    '-days',
    String(days),
    '-extfile',
    ext,
  ]);
  for (const k of [f.caKey, f.key]) chmodSync(k, 0o600);
  return f;
}
