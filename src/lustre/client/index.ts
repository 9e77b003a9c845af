// The client library's public surface: mount a file system, use it as a FileSystemClient, and the lfs commands.
export { type ConnectLustreOptions, connectLustre, LustreClient } from './lustre-client.ts';
