// The in-memory FileSystemClient fake runs the FileSystemClient contract, as the real client does in its integration test.
import { fileSystemClientContract } from './file-system-client-contract.ts';
import { MemoryClient } from './memory-client.ts';

const client = new MemoryClient();
fileSystemClientContract('MemoryClient', () => client);
