import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  BadRequest,
  CreateFileSystemCommand,
  type FileSystem,
  ListTagsForResourceCommand,
  NotServiceResourceError,
  ResourceDoesNotSupportTagging,
  ResourceNotFound,
  ServiceLimitExceeded,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-fsx';
import { rejectsWith } from '../../../test/fsx/expect.ts';
import { ACCOUNT, type Harness, REGION, SUBNET, startHarness } from '../../../test/fsx/harness.ts';

let h: Harness;
let fs: FileSystem;
before(async () => {
  h = await startHarness();
  fs = (
    await h.fsx.send(
      new CreateFileSystemCommand({
        FileSystemType: 'LUSTRE',
        StorageCapacity: 1200,
        SubnetIds: [SUBNET],
        Tags: [{ Key: 'Name', Value: 'tagged' }],
        LustreConfiguration: { DeploymentType: 'SCRATCH_2' },
      }),
    )
  ).FileSystem!;
});
after(() => h.close());

const list = async (ResourceARN: string) =>
  (await h.fsx.send(new ListTagsForResourceCommand({ ResourceARN }))).Tags ?? [];

test('TagResource adds and overwrites tags, UntagResource removes them, ListTagsForResource shows them', async () => {
  const arn = fs.ResourceARN!;
  await h.fsx.send(
    new TagResourceCommand({
      ResourceARN: arn,
      Tags: [
        { Key: 'env', Value: 'dev' },
        { Key: 'Name', Value: 'renamed' },
      ],
    }),
  );
  assert.deepEqual(await list(arn), [
    { Key: 'Name', Value: 'renamed' },
    { Key: 'env', Value: 'dev' },
  ]);
  await h.fsx.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: ['env', 'absent'] }));
  assert.deepEqual(await list(arn), [{ Key: 'Name', Value: 'renamed' }]);
});

test('ListTagsForResource pages with MaxResults and NextToken', async () => {
  const arn = fs.ResourceARN!;
  const tags = Array.from({ length: 7 }, (_, i) => ({ Key: `k${i}`, Value: `v${i}` }));
  await h.fsx.send(new TagResourceCommand({ ResourceARN: arn, Tags: tags }));
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await h.fsx.send(
      new ListTagsForResourceCommand({ ResourceARN: arn, MaxResults: 3, NextToken: token }),
    );
    assert.ok(out.Tags!.length <= 3);
    keys.push(...out.Tags!.map((t) => t.Key!));
    token = out.NextToken;
  } while (token);
  assert.deepEqual(keys, ['Name', ...tags.map((t) => t.Key)]);
  await h.fsx.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: tags.map((t) => t.Key) }));
});

test('tagging names what is wrong with the resource or the tags', async () => {
  const tag = (ResourceARN: string, Tags = [{ Key: 'a', Value: 'b' }]) =>
    h.fsx.send(new TagResourceCommand({ ResourceARN, Tags }));
  const missing = `arn:aws:fsx:${REGION}:${ACCOUNT}:file-system/fs-0123456789abcdef0`;
  const err = await rejectsWith(tag(missing), ResourceNotFound);
  assert.equal((err as ResourceNotFound).ResourceARN, missing);
  await rejectsWith(
    tag(`arn:aws:fsx:${REGION}:999999999999:file-system/${fs.FileSystemId}`),
    ResourceNotFound,
  );
  await rejectsWith(tag('arn:aws:s3:::bucket/key'), NotServiceResourceError);
  await rejectsWith(tag(`arn:aws:fsx:${REGION}:${ACCOUNT}:gadget/g-1`), ResourceDoesNotSupportTagging);
  await rejectsWith(tag(fs.ResourceARN!, [{ Key: 'aws:reserved', Value: 'x' }]), BadRequest);
  const fifty = Array.from({ length: 50 }, (_, i) => ({ Key: `t${i}`, Value: '' }));
  await rejectsWith(tag(fs.ResourceARN!, fifty), ServiceLimitExceeded);
  await rejectsWith(h.fsx.send(new ListTagsForResourceCommand({ ResourceARN: missing })), ResourceNotFound);
});
