// Certificates and keys for a loopback control plane, made with the openssl CLI.
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NacreError } from '../../src/lib/errors.ts';

/** Files under `dir`, all PEM. */
export interface Pki {
  caCert: string;
  caKey: string;
  /** kube-apiserver's serving certificate. */
  servingCert: string;
  servingKey: string;
  /** A client certificate in group system:masters. */
  adminCert: string;
  adminKey: string;
  /** RSA key pair that signs and verifies service-account tokens. */
  serviceAccountKey: string;
  serviceAccountPub: string;
}

/** Names and addresses the serving certificate is valid for. */
const SERVING_SANS = [
  'IP:127.0.0.1',
  'IP:10.0.0.1',
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
];

const OPENSSL_DEADLINE_MS = 30_000;

/** Where a PKI lives inside `dir`. */
export function pkiFiles(dir: string): Pki {
  const f = (name: string) => join(dir, name);
  return {
    caCert: f('ca.crt'),
    caKey: f('ca.key'),
    servingCert: f('apiserver.crt'),
    servingKey: f('apiserver.key'),
    adminCert: f('admin.crt'),
    adminKey: f('admin.key'),
    serviceAccountKey: f('sa.key'),
    serviceAccountPub: f('sa.pub'),
  };
}

/**
 * Makes a fresh CA and every certificate the cluster needs, in `dir` (created if missing); the
 * serving certificate is also valid for `extraIps`.
 */
export async function makePki(
  dir: string,
  signal?: AbortSignal,
  extraIps: readonly string[] = [],
): Promise<Pki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pki = pkiFiles(dir);
  const leafUsage = 'keyUsage=critical,digitalSignature,keyEncipherment';
  /** A self-signed CA when `signer` is absent, else a leaf signed by the CA. */
  const issue = (key: string, cert: string, subject: string, extensions: string[], signer?: Pki) =>
    openssl(signal, [
      'req',
      ...(signer ? ['-CA', signer.caCert, '-CAkey', signer.caKey] : ['-x509']),
      ...['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650'],
      ...['-keyout', key, '-out', cert, '-subj', subject],
      ...extensions.flatMap((e) => ['-addext', e]),
    ]);
  await issue(pki.caKey, pki.caCert, '/CN=nacre-local-ca', [
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await Promise.all([
    issue(
      pki.servingKey,
      pki.servingCert,
      '/CN=kube-apiserver',
      [
        `subjectAltName=${[...SERVING_SANS, ...extraIps.map((ip) => `IP:${ip}`)].join(',')}`,
        'extendedKeyUsage=serverAuth',
        leafUsage,
      ],
      pki,
    ),
    issue(
      pki.adminKey,
      pki.adminCert,
      '/O=system:masters/CN=nacre-admin',
      ['extendedKeyUsage=clientAuth', leafUsage],
      pki,
    ),
    openssl(signal, [
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:2048',
      '-out',
      pki.serviceAccountKey,
    ]),
  ]);
  await openssl(signal, ['pkey', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub]);
  await Promise.all(
    [pki.caKey, pki.servingKey, pki.adminKey, pki.serviceAccountKey].map((k) => chmod(k, 0o600)),
  );
  return pki;
}

/**
 * A kubelet's client certificate, signed by the cluster CA: CN system:node:<node>, O system:nodes,
 * what the Node authorizer and NodeRestriction admit. Returns the certificate and key paths.
 */
export async function issueNodeCert(
  pki: Pki,
  dir: string,
  node: string,
  signal?: AbortSignal,
): Promise<{ cert: string; key: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const cert = join(dir, 'kubelet-client.crt');
  const key = join(dir, 'kubelet-client.key');
  await openssl(signal, [
    ...['req', '-CA', pki.caCert, '-CAkey', pki.caKey],
    ...['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650'],
    ...['-keyout', key, '-out', cert, '-subj', `/O=system:nodes/CN=system:node:${node}`],
    ...[
      '-addext',
      'extendedKeyUsage=clientAuth',
      '-addext',
      'keyUsage=critical,digitalSignature,keyEncipherment',
    ],
  ]);
  await chmod(key, 0o600);
  return { cert, key };
}

/** The PEM text of a file. */
export function pem(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

function openssl(signal: AbortSignal | undefined, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'openssl',
      args,
      { timeout: OPENSSL_DEADLINE_MS, ...(signal ? { signal } : {}) },
      (err, _stdout, stderr) => {
        if (err === null) resolve();
        else
          reject(
            new NacreError('OpensslFailed', `openssl ${args[0]} failed: ${stderr || err.message}`, {
              cause: err,
            }),
          );
      },
    );
  });
}
