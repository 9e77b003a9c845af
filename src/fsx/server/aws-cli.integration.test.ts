// The AWS CLI (its own SigV4 signer and FSx model) against the emulator: create, describe, update, back up, tag, delete, errors.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  ACCESS_KEY,
  type Harness,
  REGION,
  SECRET_KEY,
  SUBNET,
  startHarness,
  waitFor,
} from '../../../test/fsx/harness.ts';
import { buildSampleTree } from '../../../test/fsx/tree.ts';
import { MemoryClient } from '../../../test/lustre/memory-client.ts';
import type { FileSystemConfig } from '../../lustre/protocol/mgs-messages.ts';

/** The Debian package's AWS CLI v2 and, where present, a pyenv AWS CLI v1. */
const CLIS = ['/usr/bin/aws', path.join(homedir(), '.pyenv/shims/aws')].filter((p) => existsSync(p));

const memory = new WeakMap<FileSystemConfig, MemoryClient>();
function memoryOf(cfg: FileSystemConfig): MemoryClient {
  const c = memory.get(cfg) ?? new MemoryClient();
  memory.set(cfg, c);
  return c;
}
let h: Harness;
before(async () => {
  h = await startHarness({
    connectClient: async (fsname) => {
      const cfg = h.allocator.fileSystems.get(fsname);
      if (!cfg) throw new Error(`no file system ${fsname}`);
      return memoryOf(cfg);
    },
  });
});
after(() => h.close());

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function aws(cli: string, args: string[], secret = SECRET_KEY): Promise<CliResult> {
  const env = {
    HOME: homedir(),
    PATH: '/usr/bin:/bin',
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: secret,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
  const all = [...args, '--endpoint-url', h.api.endpoint, '--region', REGION, '--output', 'json'];
  return new Promise((resolve) => {
    execFile(cli, all, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function json(cli: string, args: string[]): Promise<Record<string, unknown>> {
  const r = await aws(cli, args);
  assert.equal(r.code, 0, `aws ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

type Fs = {
  FileSystemId: string;
  Lifecycle: string;
  StorageCapacity: number;
  ResourceARN: string;
  LustreConfiguration: { MountName: string };
};

async function describe(cli: string, id: string): Promise<Fs> {
  const out = await json(cli, ['fsx', 'describe-file-systems', '--file-system-ids', id]);
  return (out['FileSystems'] as Fs[])[0]!;
}

test('at least one AWS CLI is installed', () => {
  assert.ok(CLIS.length > 0, 'install the Debian package awscli (scripts/install-system-deps.sh)');
});

for (const cli of CLIS) {
  test(`${cli}: create, describe, grow, back up, tag and delete a file system`, async () => {
    const created = await json(cli, [
      'fsx',
      'create-file-system',
      '--file-system-type',
      'LUSTRE',
      '--storage-capacity',
      '1200',
      '--subnet-ids',
      SUBNET,
      '--lustre-configuration',
      'DeploymentType=PERSISTENT_2,PerUnitStorageThroughput=125',
      '--tags',
      'Key=Name,Value=from-cli',
    ]);
    const fs = created['FileSystem'] as Fs;
    assert.match(fs.FileSystemId, /^fs-[0-9a-f]{17}$/);
    assert.equal(fs.Lifecycle, 'CREATING');
    await waitFor(
      'AVAILABLE',
      async () => ((await describe(cli, fs.FileSystemId)).Lifecycle === 'AVAILABLE' ? true : undefined),
      30_000,
    );
    await buildSampleTree(memoryOf(h.allocator.fileSystems.get(fs.LustreConfiguration.MountName)!));

    await json(cli, [
      'fsx',
      'update-file-system',
      '--file-system-id',
      fs.FileSystemId,
      '--storage-capacity',
      '2400',
    ]);
    await waitFor(
      'grown',
      async () => ((await describe(cli, fs.FileSystemId)).StorageCapacity === 2400 ? true : undefined),
      30_000,
    );

    const backup = (await json(cli, ['fsx', 'create-backup', '--file-system-id', fs.FileSystemId]))[
      'Backup'
    ] as { BackupId: string };
    await waitFor(
      'backup AVAILABLE',
      async () => {
        const out = await json(cli, ['fsx', 'describe-backups', '--backup-ids', backup.BackupId]);
        return (out['Backups'] as { Lifecycle: string }[])[0]!.Lifecycle === 'AVAILABLE' ? true : undefined;
      },
      30_000,
    );

    const tags = await json(cli, ['fsx', 'list-tags-for-resource', '--resource-arn', fs.ResourceARN]);
    assert.deepEqual(tags['Tags'], [{ Key: 'Name', Value: 'from-cli' }]);

    const deleted = await json(cli, ['fsx', 'delete-file-system', '--file-system-id', fs.FileSystemId]);
    assert.equal(deleted['Lifecycle'], 'DELETING');
    await json(cli, ['fsx', 'delete-backup', '--backup-id', backup.BackupId]);
  });

  test(`${cli}: errors come back as FSx error codes`, async () => {
    const bad = await aws(cli, [
      'fsx',
      'create-file-system',
      '--file-system-type',
      'LUSTRE',
      '--storage-capacity',
      '1300',
      '--subnet-ids',
      SUBNET,
      '--lustre-configuration',
      'DeploymentType=SCRATCH_2',
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /\(BadRequest\).*StorageCapacity/);
    const missing = await aws(cli, [
      'fsx',
      'describe-file-systems',
      '--file-system-ids',
      'fs-0123456789abcdef0',
    ]);
    assert.match(missing.stderr, /\(FileSystemNotFound\)/);
    const unsigned = await aws(cli, ['fsx', 'describe-file-systems'], 'wrong-secret');
    assert.match(unsigned.stderr, /\(InvalidSignatureException\)/);
  });
}
