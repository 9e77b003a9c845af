// FSx data-repository calls for tests against a Harness: a file system made AVAILABLE, associations and tasks described and waited for.
import {
  CreateDataRepositoryAssociationCommand,
  type CreateDataRepositoryAssociationCommandInput,
  CreateFileSystemCommand,
  type DataRepositoryAssociation,
  type DataRepositoryTask,
  DescribeDataRepositoryAssociationsCommand,
  DescribeDataRepositoryTasksCommand,
  DescribeFileSystemsCommand,
  type FileSystem,
} from '@aws-sdk/client-fsx';
import { type Harness, SUBNET, waitFor } from './harness.ts';

/** The calls, on the harness `harness()` returns when they run (tests start it in before()). */
export function repositoryCalls(harness: () => Harness) {
  async function fileSystem(deployment: 'PERSISTENT_2' | 'SCRATCH_1' = 'PERSISTENT_2'): Promise<FileSystem> {
    const { FileSystem: fs } = await harness().fsx.send(
      new CreateFileSystemCommand({
        FileSystemType: 'LUSTRE',
        StorageCapacity: 1200,
        SubnetIds: [SUBNET],
        LustreConfiguration:
          deployment === 'SCRATCH_1'
            ? { DeploymentType: 'SCRATCH_1' }
            : { DeploymentType: 'PERSISTENT_2', PerUnitStorageThroughput: 125 },
      }),
    );
    return waitFor('AVAILABLE', async () => {
      const d = (
        await harness().fsx.send(new DescribeFileSystemsCommand({ FileSystemIds: [fs!.FileSystemId!] }))
      ).FileSystems![0]!;
      return d.Lifecycle === 'AVAILABLE' ? d : undefined;
    });
  }

  async function dra(id: string): Promise<DataRepositoryAssociation> {
    return (await harness().fsx.send(new DescribeDataRepositoryAssociationsCommand({ AssociationIds: [id] })))
      .Associations![0]!;
  }

  async function settled(id: string, not = ['CREATING', 'UPDATING']): Promise<DataRepositoryAssociation> {
    return waitFor(`association ${id} settled`, async () => {
      const d = await dra(id);
      return not.includes(d.Lifecycle!) ? undefined : d;
    });
  }

  async function task(id: string): Promise<DataRepositoryTask> {
    return (await harness().fsx.send(new DescribeDataRepositoryTasksCommand({ TaskIds: [id] })))
      .DataRepositoryTasks![0]!;
  }

  async function ended(id: string): Promise<DataRepositoryTask> {
    return waitFor(`task ${id} ended`, async () => {
      const t = await task(id);
      return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(t.Lifecycle!) ? t : undefined;
    });
  }

  function create(fs: FileSystem, extra: Partial<CreateDataRepositoryAssociationCommandInput>) {
    return harness().fsx.send(
      new CreateDataRepositoryAssociationCommand({
        FileSystemId: fs.FileSystemId!,
        FileSystemPath: '/ns1',
        DataRepositoryPath: 's3://bucket/ns1/',
        ...extra,
      }),
    );
  }

  return { fileSystem, dra, settled, task, ended, create };
}
