// The mount holder's socket protocol between a real HolderServer and HolderClient: deadlines, refusals, a keeper's ready line (a stand-in process, not a mount).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { status as Status } from '@grpc/grpc-js';
import { FsError } from '../../lib/errors.ts';
import { logger } from '../../lib/log.ts';
import { toGrpcStatus } from '../grpc-status.ts';
import { HolderClient, holderError } from './holder-client.ts';
import { HolderServer } from './holder-server.ts';

let dir: string;
let server: HolderServer;
let client: HolderClient;
const keeperFile = (sub: string, c: string, ext: string) => join(dir, 'state', sub, `${c.repeat(24)}${ext}`);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-holder-'));
  await mkdir(join(dir, 'kubelet', 'staging'), { recursive: true });
  server = await HolderServer.start({
    socket: join(dir, 'state', 'holder', 'holder.sock'),
    stateDir: join(dir, 'state'),
    allowedRoots: [join(dir, 'kubelet')],
    // A stand-in keeper: prints the ready line when its source names a ready file system, else exits 3.
    keeperCommand: (source) => ({
      command: process.execPath,
      args: [
        '-e',
        source.includes('ready') ? 'console.log(JSON.stringify({event:"ready"}))' : 'process.exit(3)',
        '--',
      ],
    }),
    log: logger('holder-test'),
    requestTimeoutMs: 300,
  });
  client = new HolderClient(join(dir, 'state', 'holder', 'holder.sock'));
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const start = (source: string, target = join(dir, 'kubelet', 'staging')) =>
  client.start(
    {
      source,
      target,
      stateFile: keeperFile('keepers', 'a', '.json'),
      logFile: keeperFile('logs', 'a', '.log'),
      options: ['noatime'],
    },
    10_000,
    AbortSignal.timeout(20_000),
  );

test('start answers ready once the keeper printed its ready line, or how it ended', async () => {
  assert.equal(await start('ready@tcp:/fs'), 'ready');
  assert.equal(await start('other@tcp:/fs'), 'keeper exited 3');
  assert.equal(
    await client.status(keeperFile('keepers', 'a', '.json'), AbortSignal.timeout(5_000)),
    undefined,
  );
});

test('only root may reach the socket: its directory is mode 0700', async () => {
  assert.equal((await stat(join(dir, 'state', 'holder'))).mode & 0o777, 0o700);
});

test('bad requests are refused with InvalidArgument', async () => {
  await assert.rejects(start('ready@tcp:/fs', '/etc'), { code: 'InvalidArgument', message: /is not below/ });
  await assert.rejects(client.call({ v: 1, op: 'shutdown' }, 5_000, AbortSignal.timeout(5_000)), {
    code: 'InvalidArgument',
    message: /unknown request "shutdown"/,
  });
  await assert.rejects(
    client.call(
      { v: 1, op: 'status', stateFile: join(dir, 'state', 'keepers', '..', 'x.json') },
      5_000,
      AbortSignal.timeout(5_000),
    ),
    { code: 'InvalidArgument' },
  );
});

test('a connection that sends no request is answered DeadlineExceeded and closed', async () => {
  const { connect } = await import('node:net');
  const reply = await new Promise<string>((resolve, reject) => {
    const s = connect({ path: join(dir, 'state', 'holder', 'holder.sock') });
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
    });
    s.on('end', () => resolve(buf));
    s.on('error', reject);
  });
  assert.match(reply, /"code":"DeadlineExceeded"/);
});

test('the client gives up at its deadline on a holder that never answers, and names a missing holder', async () => {
  const silent = createServer(() => undefined);
  const path = join(dir, 'silent.sock');
  await new Promise<void>((resolve) => silent.listen({ path }, resolve));
  try {
    const t0 = Date.now();
    await assert.rejects(
      new HolderClient(path, { statusTimeoutMs: 500 }).status(
        keeperFile('keepers', 'b', '.json'),
        AbortSignal.timeout(60_000),
      ),
      {
        code: 'DeadlineExceeded',
      },
    );
    assert.ok(Date.now() - t0 < 5_000);
  } finally {
    silent.close();
  }
  await assert.rejects(new HolderClient(join(dir, 'none.sock')).status('x', AbortSignal.timeout(5_000)), {
    code: 'Unavailable',
    message: /mount holder .* is not reachable/,
  });
});

test('a holder refusal reaches the kubelet as the gRPC status it means, not Internal', async () => {
  const refusal = await start('ready@tcp:/fs', '/etc').then(
    () => assert.fail('a target outside the kubelet dir was accepted'),
    (err: unknown) => err,
  );
  assert.equal(toGrpcStatus(refusal).code, Status.INVALID_ARGUMENT);
  assert.match(toGrpcStatus(refusal).details ?? '', /is not below/);
  assert.equal(toGrpcStatus(holderError('DeadlineExceeded', 'slow')).code, Status.DEADLINE_EXCEEDED);
  assert.equal(toGrpcStatus(holderError('Unavailable', 'gone')).code, Status.UNAVAILABLE);
  assert.equal(toGrpcStatus(holderError('ValidationError', 'bad')).code, Status.INVALID_ARGUMENT);
  const errno = holderError('ENOENT', 'no such staging dir');
  assert.equal(errno.code, 'ENOENT');
  assert.equal(toGrpcStatus(errno).code, toGrpcStatus(new FsError('ENOENT')).code);
  assert.equal(toGrpcStatus(holderError('Weird', 'x')).code, Status.INTERNAL);
});

test('a symlink below the kubelet dir does not let the holder mount outside it', async () => {
  await mkdir(join(dir, 'outside'), { recursive: true });
  await mkdir(join(dir, 'kubelet', 'pods'), { recursive: true });
  await symlink(join(dir, 'outside'), join(dir, 'kubelet', 'pods', 'link'));
  await assert.rejects(start('ready@tcp:/fs', join(dir, 'kubelet', 'pods', 'link')), {
    code: 'InvalidArgument',
    message: /really .*outside.* is not below/,
  });
  await assert.rejects(start('ready@tcp:/fs', join(dir, 'kubelet', 'pods', 'link', 'not-yet')), {
    code: 'InvalidArgument',
  });
  assert.equal(await start('ready@tcp:/fs', join(dir, 'kubelet', 'pods', 'new-dir')), 'ready');
});
