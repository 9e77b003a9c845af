// For the CSI node's unit tests: a Nacre FUSE mount's mount-table entry, a staged emulated volume's record and its keeper's status, each as a test changes it.
import type { KeeperStatus } from '../../src/csi/holder/holder-protocol.ts';
import type { MountEntry } from '../../src/csi/node/mountinfo.ts';
import type { VolumeRecord } from '../../src/csi/node/node-state.ts';

/** Where the kubelet stages the volume of these tests. */
export const STAGING = '/kubelet/staging/v1';

/** A FUSE mount of mgs@tcp:/fs (device 0:99, mount id 1 under 0) at `mountPoint`. */
export function fuseMount(mountPoint: string, over: Partial<MountEntry> = {}): MountEntry {
  return {
    id: 1,
    parentId: 0,
    device: '0:99',
    root: '/',
    mountPoint,
    options: ['rw'],
    fsType: 'fuse.nacre',
    source: 'mgs@tcp:/fs',
    superOptions: [],
    ...over,
  };
}

/** The record of emulated volume static/default/fs (mgs@tcp:/fs) staged at STAGING, published nowhere. */
export function emulatedVolume(over: Partial<VolumeRecord> = {}): VolumeRecord {
  return {
    volumeId: 'static/default/fs',
    backend: 'emulated',
    stagingPath: STAGING,
    source: 'mgs@tcp:/fs',
    dnsName: 'mgs',
    mountName: 'fs',
    options: [],
    targets: {},
    ...over,
  };
}

/** The keeper of the FUSE mount at STAGING (keeper 100, daemon 200, both alive). */
export function keeperStatus(over: Partial<KeeperStatus> = {}): KeeperStatus {
  return {
    keeperPid: 100,
    daemonPid: 200,
    generation: 1,
    mountPoint: STAGING,
    source: 'mgs@tcp:/fs',
    device: '0:99',
    mountId: 'm',
    keeperAlive: true,
    daemonAlive: true,
    ...over,
  };
}
