// The CSI server on a real unix socket: identity answers, Probe readiness, UNIMPLEMENTED for missing methods, stale sockets, error codes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { FsError } from '../lib/errors.ts';
import { CsiError } from './csi-error.ts';
import { DRIVER_NAME, driverVersion, identityService } from './identity.ts';
import { csiPackage } from './proto.ts';
import { type CsiServer, socketPathOf, startCsiServer } from './server.ts';

let dir: string;
let ready = true;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nacre-csi-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function unary<Res>(client: grpc.Client, method: string, req: object): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, Function>)[method]!;
    fn.call(client, req, { deadline: Date.now() + 5000 }, (err: grpc.ServiceError | null, res: Res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

async function serve(path: string): Promise<CsiServer> {
  return startCsiServer({
    endpoint: `unix://${path}`,
    signal: new AbortController().signal,
    identity: identityService({
      controller: true,
      checks: [
        {
          name: 'backend',
          check: async () => {
            if (!ready) throw new Error('the FSx endpoint refused the connection');
          },
        },
      ],
    }),
    controller: {
      async DeleteVolume(req) {
        if (req.volumeId === 'fs-missing') throw new FsError('ENOENT', 'no such file system');
        throw new CsiError('FailedPrecondition', `volume ${req.volumeId} is in use`);
      },
    },
  });
}

test('socketPathOf accepts unix:///abs and unix:/abs, refuses the rest', () => {
  assert.equal(socketPathOf('unix:///run/csi/csi.sock'), '/run/csi/csi.sock');
  assert.equal(socketPathOf('unix:/run/csi.sock'), '/run/csi.sock');
  assert.throws(() => socketPathOf('tcp://127.0.0.1:1'), /want unix:\/\/\//);
  assert.throws(() => socketPathOf('unix://relative.sock'), /want unix:\/\/\//);
});

test('identity, probe readiness and error codes over a unix socket that was left stale', async () => {
  const path = join(dir, 'sub', 'csi.sock');
  // A socket file left by a killed plugin: a child process bound it and died by SIGKILL.
  await mkdir(join(dir, 'sub'), { recursive: true });
  const child = spawn(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  await once(child, 'exit');
  assert.ok((await stat(path)).isSocket(), 'the killed process left its socket file');

  const server = await serve(path);
  const pkg = csiPackage();
  const identity = new pkg.Identity(`unix://${path}`, grpc.credentials.createInsecure());
  const controller = new pkg.Controller(`unix://${path}`, grpc.credentials.createInsecure());
  const node = new pkg.Node(`unix://${path}`, grpc.credentials.createInsecure());
  try {
    const info = await unary<{ name: string; vendorVersion: string }>(identity, 'GetPluginInfo', {});
    assert.equal(info.name, DRIVER_NAME);
    assert.equal(info.vendorVersion, driverVersion());
    const caps = await unary<{ capabilities: Array<{ service?: { type: string } }> }>(
      identity,
      'GetPluginCapabilities',
      {},
    );
    assert.ok(caps.capabilities.some((c) => c.service?.type === 'CONTROLLER_SERVICE'));

    ready = true;
    const probe = await unary<{ ready: { value: boolean } }>(identity, 'Probe', {});
    assert.equal(probe.ready.value, true);
    ready = false;
    await assert.rejects(unary(identity, 'Probe', {}), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
      assert.match(err.details, /backend: the FSx endpoint refused the connection/);
      return true;
    });

    await assert.rejects(unary(controller, 'CreateVolume', { name: 'x' }), {
      code: grpc.status.UNIMPLEMENTED,
    });
    await assert.rejects(unary(controller, 'DeleteVolume', { volumeId: 'fs-missing' }), {
      code: grpc.status.NOT_FOUND,
    });
    await assert.rejects(unary(controller, 'DeleteVolume', { volumeId: 'fs-1' }), {
      code: grpc.status.FAILED_PRECONDITION,
      details: 'volume fs-1 is in use',
    });
    // No Node service was registered on this socket.
    await assert.rejects(unary(node, 'NodeGetInfo', {}), { code: grpc.status.UNIMPLEMENTED });
  } finally {
    identity.close();
    controller.close();
    node.close();
    await server.close();
  }
});

test('a path that is not a socket is refused, not deleted', async () => {
  const path = join(dir, 'not-a-socket');
  await writeFile(path, 'keep me');
  await assert.rejects(serve(path), /exists and is not a socket/);
});
