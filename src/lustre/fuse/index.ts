// The FUSE adapter's public surface: serve a FileSystemClient as a kernel mount through /dev/fuse, in pure TypeScript.
//
// Requirements on the process that mounts (see mountFuse):
// - root (or CAP_SYS_ADMIN) and /dev/fuse; mount(8) and umount(8) on PATH;
// - UV_THREADPOOL_SIZE >= readers + 4, set before Node starts (each read loop blocks a pool thread);
// - never touch the mount synchronously (fs.*Sync, spawnSync, spawn with cwd inside it) from this process;
// - await unmount() before exiting: a process whose read loops are still blocked cannot exit.
export { type FuseMount, findMountDevice, type MountFuseOptions, mountFuse } from './mount.ts';
export type { SessionStats } from './session.ts';
