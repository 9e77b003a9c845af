// The client library's public surface: mount a file system, use it as a FileSystemClient, and the lfs commands.

export {
  formatDf,
  formatGetstripe,
  type LfsTarget,
  lfsDf,
  lfsGetstripe,
  lfsSetstripe,
  type SetstripeOptions,
  setstripePath,
} from './lfs.ts';
export { type ConnectLustreOptions, connectLustre, LustreClient, type OstUsage } from './lustre-client.ts';
