// LustreClient over the real MGS, MDS and OSS servers runs the FileSystemClient contract the in-memory fake runs.
import { after, before } from 'node:test';
import { fileSystemClientContract } from '../../../test/lustre/file-system-client-contract.ts';
import { startTestCluster, type TestCluster } from '../../../test/lustre/test-cluster.ts';
import { connectLustre, type LustreClient } from './lustre-client.ts';

let cluster: TestCluster;
let client: LustreClient;

before(async () => {
  cluster = await startTestCluster({ ossCount: 2 });
  client = await connectLustre({
    mgsAddress: cluster.mgsAddress,
    fsname: cluster.fsname,
    host: 'contract-host',
    clientId: 'contract',
    timeoutMs: 10_000,
  });
});
after(async () => {
  await client?.close();
  await cluster?.close();
});

fileSystemClientContract('LustreClient', () => client);
