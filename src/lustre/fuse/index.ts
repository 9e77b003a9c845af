// The FUSE adapter's public surface: mount a FileSystemClient through the kernel's /dev/fuse protocol.
export { type FuseMount, findMountDevice, type MountFuseOptions, mountFuse } from './mount.ts';
export type { SessionStats } from './session.ts';
