// Test support: a throw-away CA and one certificate under it (server and client use), made with openssl.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsFilePaths {
  cert: string;
  key: string;
  ca: string;
}

/** Writes ca.crt, tls.crt and tls.key (EC P-256, 1 day) into `dir` under the name `name`. */
export async function makeTlsFiles(dir: string, name = 'nacre'): Promise<TlsFilePaths> {
  const p = (f: string) => join(dir, `${name}-${f}`);
  const opts = { timeout: 30_000 };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(
    'openssl',
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      p('ca.key'),
      '-out',
      p('ca.crt'),
      '-days',
      '1',
      '-subj',
      `/CN=${name} test CA`,
    ],
    opts,
  );
  await run(
    'openssl',
    ['req', ...ec, '-keyout', p('tls.key'), '-out', p('tls.csr'), '-subj', `/CN=${name} data plane`],
    opts,
  );
  await writeFile(
    p('ext.cnf'),
    'extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  await run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      p('tls.csr'),
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p('tls.crt'),
      '-days',
      '1',
      '-extfile',
      p('ext.cnf'),
    ],
    opts,
  );
  return { cert: p('tls.crt'), key: p('tls.key'), ca: p('ca.crt') };
}

export async function readTlsFiles(paths: TlsFilePaths): Promise<{ cert: Buffer; key: Buffer; ca: Buffer }> {
  return { cert: await readFile(paths.cert), key: await readFile(paths.key), ca: await readFile(paths.ca) };
}
