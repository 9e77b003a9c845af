import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BadRequest,
  FileSystemNotFound,
  FSxServiceException,
  IncompatibleParameterError,
  UnsupportedOperation,
} from '@aws-sdk/client-fsx';
import type { FileSystemSpec } from '../api/index.ts';
import { type FsxApi, FsxError } from './backend.ts';
import { SdkFileSystemBackend } from './backend-sdk.ts';

interface Sent {
  command: string;
  input: Record<string, unknown>;
}

/** A stub FsxApi: records each command and answers with `reply`. */
function stub(reply: (s: Sent) => unknown): { api: FsxApi; sent: Sent[] } {
  const sent: Sent[] = [];
  const api = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const s = { command: command.constructor.name, input: command.input };
      sent.push(s);
      const r = reply(s);
      if (r instanceof Error) throw r;
      return r;
    },
  } as unknown as FsxApi;
  return { api, sent };
}

const signal = new AbortController().signal;
const meta = (status: number) => ({ $metadata: { httpStatusCode: status } });

const spec: FileSystemSpec = {
  storageCapacity: 1200,
  storageType: 'SSD',
  subnetIDs: ['subnet-0123456789abcdef0'],
  securityGroupIDs: ['sg-0123456789abcdef0'],
  kmsKeyID: 'key-1',
  tags: [{ key: 'team', value: 'storage' }],
  lustreConfiguration: {
    deploymentType: 'PERSISTENT_2',
    perUnitStorageThroughput: 125,
    dataCompressionType: 'LZ4',
    weeklyMaintenanceStartTime: '2:03:00',
    logConfiguration: { level: 'WARN_ERROR' },
    metadataConfiguration: { mode: 'AUTOMATIC' },
  },
};

const sdkFs = {
  FileSystemId: 'fs-0123456789abcdef0',
  Lifecycle: 'CREATING',
  DNSName: 'fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com',
  StorageCapacity: 1200,
  LustreConfiguration: {
    MountName: 'abcdefgh',
    DeploymentType: 'PERSISTENT_2',
    PerUnitStorageThroughput: 125,
  },
};

test('CreateFileSystem carries the spec in the FSx API’s names, the token and the extra tags', async () => {
  const { api, sent } = stub(() => ({ FileSystem: sdkFs }));
  const backend = new SdkFileSystemBackend(api);
  const fs = await backend.createFileSystem(
    { spec, extraTags: [{ key: 'nacre.dev/uid', value: 'u1' }], clientRequestToken: 'nacre-u1' },
    signal,
  );
  assert.equal(sent[0]!.command, 'CreateFileSystemCommand');
  assert.deepEqual(sent[0]!.input, {
    ClientRequestToken: 'nacre-u1',
    FileSystemType: 'LUSTRE',
    SubnetIds: ['subnet-0123456789abcdef0'],
    SecurityGroupIds: ['sg-0123456789abcdef0'],
    StorageCapacity: 1200,
    StorageType: 'SSD',
    KmsKeyId: 'key-1',
    Tags: [
      { Key: 'team', Value: 'storage' },
      { Key: 'nacre.dev/uid', Value: 'u1' },
    ],
    LustreConfiguration: {
      DeploymentType: 'PERSISTENT_2',
      PerUnitStorageThroughput: 125,
      DataCompressionType: 'LZ4',
      WeeklyMaintenanceStartTime: '2:03:00',
      LogConfiguration: { Level: 'WARN_ERROR' },
      MetadataConfiguration: { Mode: 'AUTOMATIC' },
    },
  });
  assert.equal(fs.fileSystemId, 'fs-0123456789abcdef0');
  assert.equal(fs.mountName, 'abcdefgh');
  assert.equal(fs.lifecycle, 'CREATING');
  assert.equal(fs.lustre.perUnitStorageThroughput, 125);
});

test('a spec with backupID restores with CreateFileSystemFromBackup; a missing subnet takes the default', async () => {
  const { api, sent } = stub(() => ({ FileSystem: sdkFs }));
  const backend = new SdkFileSystemBackend(api, { defaultSubnetId: 'subnet-00000000000000000' });
  await backend.createFileSystem(
    { spec: { backupID: 'backup-0123456789abcdef0' }, extraTags: [], clientRequestToken: 't' },
    signal,
  );
  assert.equal(sent[0]!.command, 'CreateFileSystemFromBackupCommand');
  assert.equal(sent[0]!.input['BackupId'], 'backup-0123456789abcdef0');
  assert.deepEqual(sent[0]!.input['SubnetIds'], ['subnet-00000000000000000']);
  assert.equal(sent[0]!.input['FileSystemType'], undefined);
});

test('UpdateFileSystem sends only the changed settings', async () => {
  const { api, sent } = stub(() => ({ FileSystem: { ...sdkFs, Lifecycle: 'UPDATING' } }));
  const backend = new SdkFileSystemBackend(api);
  const fs = await backend.updateFileSystem(
    'fs-0123456789abcdef0',
    { storageCapacity: 2400, lustreConfiguration: { automaticBackupRetentionDays: 7 } },
    'nacre-u1-g2',
    signal,
  );
  assert.deepEqual(sent[0]!.input, {
    FileSystemId: 'fs-0123456789abcdef0',
    ClientRequestToken: 'nacre-u1-g2',
    StorageCapacity: 2400,
    LustreConfiguration: { AutomaticBackupRetentionDays: 7 },
  });
  assert.equal(fs.lifecycle, 'UPDATING');
});

test('describe answers undefined and delete false for a file system that does not exist', async () => {
  const notFound = () => new FileSystemNotFound({ message: 'File system does not exist.', ...meta(400) });
  const backend = new SdkFileSystemBackend(stub(notFound).api);
  assert.equal(await backend.describeFileSystem('fs-0123456789abcdef0', signal), undefined);
  assert.equal(
    await backend.deleteFileSystem(
      'fs-0123456789abcdef0',
      { skipFinalBackup: true, clientRequestToken: 't' },
      signal,
    ),
    false,
  );
});

test('a pending or failed FILE_SYSTEM_UPDATE shows in the file system info', async () => {
  const actions = (Status: string) => ({
    FileSystems: [
      {
        ...sdkFs,
        Lifecycle: 'AVAILABLE',
        AdministrativeActions: [
          { AdministrativeActionType: 'FILE_SYSTEM_UPDATE', Status, FailureDetails: { Message: 'no room' } },
        ],
      },
    ],
  });
  const pending = await new SdkFileSystemBackend(stub(() => actions('IN_PROGRESS')).api).describeFileSystem(
    'fs-0123456789abcdef0',
    signal,
  );
  assert.equal(pending?.updatePending, true);
  const failed = await new SdkFileSystemBackend(stub(() => actions('FAILED')).api).describeFileSystem(
    'fs-0123456789abcdef0',
    signal,
  );
  assert.equal(failed?.updatePending, false);
  assert.equal(failed?.updateFailure, 'no room');
});

async function codeOf(
  err: Error,
): Promise<{ code: string; fsxCode: string; terminal: boolean; message: string }> {
  const backend = new SdkFileSystemBackend(stub(() => err).api);
  try {
    await backend.updateFileSystem('fs-0123456789abcdef0', { storageCapacity: 2400 }, 't', signal);
  } catch (e) {
    assert.ok(e instanceof FsxError, `not translated: ${String(e)}`);
    assert.equal(e.operation, 'UpdateFileSystem');
    return { code: e.code, fsxCode: e.fsxCode, terminal: e.terminal, message: e.message };
  }
  assert.fail('no error');
}

test('SDK errors become one domain code each, keeping the service’s name and message', async () => {
  const bad = await codeOf(new BadRequest({ message: 'Invalid StorageCapacity 1000 GiB', ...meta(400) }));
  assert.deepEqual(bad, {
    code: 'InvalidRequest',
    fsxCode: 'BadRequest',
    terminal: true,
    message: 'Invalid StorageCapacity 1000 GiB',
  });
  const unsupported = await codeOf(new UnsupportedOperation({ message: 'not yet', ...meta(400) }));
  assert.equal(unsupported.code, 'Unsupported');
  assert.equal(unsupported.terminal, true);
  const token = await codeOf(
    new IncompatibleParameterError({
      message: 'token reused',
      Parameter: 'ClientRequestToken',
      ...meta(400),
    }),
  );
  assert.equal(token.code, 'IdempotencyConflict');
  const param = await codeOf(
    new IncompatibleParameterError({ message: 'x', Parameter: 'KmsKeyId', ...meta(400) }),
  );
  assert.equal(param.code, 'InvalidRequest');
  const exc = (name: string, status: number) =>
    new FSxServiceException({
      name,
      $fault: status >= 500 ? 'server' : 'client',
      message: name,
      ...meta(status),
    });
  for (const [name, status, code] of [
    ['ThrottlingException', 400, 'Throttled'],
    ['TooManyRequestsException', 429, 'Throttled'],
    ['InternalServerError', 500, 'Transient'],
    ['ServiceUnavailable', 503, 'Transient'],
    ['UnrecognizedClientException', 400, 'AccessDenied'],
    ['ServiceLimitExceeded', 400, 'LimitExceeded'],
    ['BackupInProgress', 400, 'Conflict'],
  ] as const) {
    const got = await codeOf(exc(name, status));
    assert.equal(got.code, code, name);
    assert.equal(got.terminal, false, name);
  }
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  assert.equal((await codeOf(refused)).code, 'Transient');
});

test('every call is observed with its outcome; an aborted call rejects with the abort reason', async () => {
  const seen: string[] = [];
  const { api } = stub((s) =>
    s.command === 'DescribeFileSystemsCommand'
      ? { FileSystems: [sdkFs] }
      : new FSxServiceException({
          name: 'ThrottlingException',
          $fault: 'client',
          message: 'slow down',
          ...meta(400),
        }),
  );
  const backend = new SdkFileSystemBackend(api, { onCall: (op, outcome) => seen.push(`${op}:${outcome}`) });
  await backend.describeFileSystem('fs-0123456789abcdef0', signal);
  await assert.rejects(backend.updateFileSystem('fs-0123456789abcdef0', {}, 't', signal), {
    code: 'Throttled',
  });
  assert.deepEqual(seen, ['DescribeFileSystems:Success', 'UpdateFileSystem:Throttled']);

  const ac = new AbortController();
  const reason = new Error('controller stopping');
  const hanging = {
    send: (_c: unknown, o: { abortSignal: AbortSignal }) =>
      new Promise((_r, reject) =>
        o.abortSignal.addEventListener('abort', () => reject(new Error('aborted'))),
      ),
  } as unknown as FsxApi;
  const p = new SdkFileSystemBackend(hanging).describeFileSystem('fs-0123456789abcdef0', ac.signal);
  ac.abort(reason);
  await assert.rejects(p, (e) => e === reason);
});

test('a call past its deadline fails as Transient', async () => {
  const hanging = {
    send: (_c: unknown, o: { abortSignal: AbortSignal }) =>
      new Promise((_r, reject) =>
        o.abortSignal.addEventListener('abort', () => reject(o.abortSignal.reason)),
      ),
  } as unknown as FsxApi;
  const backend = new SdkFileSystemBackend(hanging, { callTimeoutMs: 20 });
  await assert.rejects(backend.describeFileSystem('fs-0123456789abcdef0', signal), { code: 'Transient' });
});

test('the file system carrying a tag is found across pages', async () => {
  const { api, sent } = stub((s) =>
    s.input['NextToken'] === undefined
      ? { FileSystems: [{ ...sdkFs, FileSystemId: 'fs-1111111111111111a', Tags: [] }], NextToken: 'p2' }
      : { FileSystems: [{ ...sdkFs, Tags: [{ Key: 'nacre.dev/uid', Value: 'u1' }] }] },
  );
  const fs = await new SdkFileSystemBackend(api).findFileSystemByTag('nacre.dev/uid', 'u1', signal);
  assert.equal(fs?.fileSystemId, 'fs-0123456789abcdef0');
  assert.equal(sent.length, 2);
});
