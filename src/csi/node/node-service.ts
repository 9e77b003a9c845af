// The CSI Node service: stage (one mount per volume), publish (bind mounts), stats and health — idempotent, checked against the mount table.
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../lib/log.ts';
import { CsiError } from '../csi-error.ts';
import type { NodeService } from '../proto.ts';
import { parseFuseMountFlags } from './fuse-options.ts';
import type { Mounter, MountSpec } from './mounter.ts';
import { isReadOnly, type MountEntry, type MountTable, mountAt } from './mountinfo.ts';
import {
  mountCapability,
  notStaged,
  readOnlyMode,
  requireField,
  requirePath,
  stageContext,
  subPathOf,
} from './node-requests.ts';
import type { Backend, NodeState, VolumeRecord } from './node-state.ts';
import type { SystemMounts } from './system-mounts.ts';
import { VolumeLocks } from './volume-locks.ts';
import type { VolumeMonitor } from './volume-monitor.ts';

export interface NodeServiceDeps {
  nodeId: string;
  state: NodeState;
  mounts: SystemMounts;
  mountTable: MountTable;
  mounters: Record<Backend, Mounter>;
  monitor: VolumeMonitor;
  /** Shared with the monitor, so its remounts never interleave with a call on the same volume. */
  locks?: VolumeLocks;
  log: Logger;
}

export function nodeService(deps: NodeServiceDeps): NodeService {
  const locks = deps.locks ?? new VolumeLocks();
  const { state, mounts } = deps;

  /** Stages when nothing (alive) is mounted at the staging path; a healthy mount of the same source is success. */
  async function stage(rec: VolumeRecord, mounter: Mounter, spec: MountSpec, signal: AbortSignal) {
    const existing = mountAt(await deps.mountTable(signal), rec.stagingPath);
    if (existing) {
      if (existing.fsType !== mounter.fsType || existing.source !== rec.source) {
        throw new CsiError(
          'AlreadyExists',
          `${rec.stagingPath} already has ${existing.source} (${existing.fsType}) mounted, not ${rec.source}: unstage that volume first`,
        );
      }
      if (await deps.monitor.usable(rec, signal)) {
        await state.put(rec);
        return;
      }
      deps.log.warn('a dead mount is on the staging path; mounting again', { stagingPath: rec.stagingPath });
      await mounts.unmount(rec.stagingPath, signal);
    }
    await mkdir(rec.stagingPath, { recursive: true });
    await state.put(rec);
    try {
      await mounter.mount(spec, rec.stagingPath, signal);
    } catch (err) {
      // A failed stage leaves no record (it would count as an unhealthy volume for ever), unless a mount
      // is there after all (a keeper that finished late) for the retry or NodeUnstageVolume to find.
      const after = await deps.mountTable(AbortSignal.timeout(5_000)).catch(() => undefined);
      if (after && !mountAt(after, rec.stagingPath) && Object.keys(rec.targets).length === 0) {
        await state.remove(rec.volumeId);
      }
      throw err;
    }
  }

  return {
    async NodeStageVolume(req, { signal }) {
      const call = 'NodeStageVolume';
      const volumeId = requireField(req.volumeId, 'volume_id', call);
      const stagingPath = requirePath(req.stagingTargetPath, 'staging_target_path', call);
      const options = mountCapability(req.volumeCapability, call);
      const c = stageContext(req.volumeContext);
      if (c.backend === 'emulated') parseFuseMountFlags(options);
      const mounter = deps.mounters[c.backend];
      const spec: MountSpec = { dnsName: c.dnsName, mountName: c.mountName, options };
      return locks.run(volumeId, async () => {
        const before = await state.get(volumeId);
        if (
          before &&
          before.stagingPath !== stagingPath &&
          mountAt(await deps.mountTable(signal), before.stagingPath)
        ) {
          throw new CsiError(
            'AlreadyExists',
            `volume ${volumeId} is already staged at ${before.stagingPath}, not ${stagingPath}`,
          );
        }
        if (
          before?.stagingPath === stagingPath &&
          before.options.join(',') !== options.join(',') &&
          mountAt(await deps.mountTable(signal), stagingPath)
        ) {
          throw new CsiError(
            'AlreadyExists',
            `volume ${volumeId} is staged at ${stagingPath} with mount options [${before.options.join(', ')}], not [${options.join(', ')}]: unstage it first`,
          );
        }
        const rec: VolumeRecord = {
          volumeId,
          backend: c.backend,
          stagingPath,
          source: mounter.source(spec),
          dnsName: c.dnsName,
          mountName: c.mountName,
          options,
          targets: before?.stagingPath === stagingPath ? before.targets : {},
        };
        await stage(rec, mounter, spec, signal);
        return {};
      });
    },

    async NodeUnstageVolume(req, { signal }) {
      const call = 'NodeUnstageVolume';
      const volumeId = requireField(req.volumeId, 'volume_id', call);
      const stagingPath = requirePath(req.stagingTargetPath, 'staging_target_path', call);
      return locks.run(volumeId, async () => {
        await mounts.unmount(stagingPath, signal);
        const rec = await state.get(volumeId);
        if (rec?.stagingPath === stagingPath) await state.remove(volumeId);
        return {};
      });
    },

    async NodePublishVolume(req, { signal }) {
      const call = 'NodePublishVolume';
      const volumeId = requireField(req.volumeId, 'volume_id', call);
      const stagingPath = requirePath(req.stagingTargetPath, 'staging_target_path', call);
      const targetPath = requirePath(req.targetPath, 'target_path', call);
      const flags = mountCapability(req.volumeCapability, call);
      // An `ro` mount option makes the pod's bind read-only too, whatever the staging mount is.
      const readOnly =
        req.readonly || readOnlyMode(req.volumeCapability) || flags.some((f) => f.split(',').includes('ro'));
      const singleWriter = req.volumeCapability?.accessMode?.mode === 'SINGLE_NODE_SINGLE_WRITER';
      const subPath = subPathOf(req.volumeContext);
      return locks.run(volumeId, async () => {
        const rec = await state.get(volumeId);
        const table = await deps.mountTable(signal);
        const staged = mountAt(table, stagingPath);
        if (!rec || rec.stagingPath !== stagingPath || !staged) throw notStaged(volumeId, stagingPath);
        const others = Object.entries(rec.targets).filter(([t]) => t !== targetPath);
        if (others.length > 0 && (singleWriter || others.some(([, t]) => t.singleWriter))) {
          throw new CsiError(
            'FailedPrecondition',
            `volume ${volumeId} is published at ${others[0]?.[0]} for a single writer (SINGLE_NODE_SINGLE_WRITER): unpublish it there first`,
          );
        }
        let existing = mountAt(table, targetPath);
        if (existing && existing.device !== staged.device && existing.source === staged.source) {
          // A bind of an earlier mount of this volume (remounted since): replace it.
          deps.log.warn('replacing a bind of an earlier mount of the volume', { targetPath });
          await mounts.unmount(targetPath, signal);
          existing = undefined;
        }
        if (existing) {
          await republish(existing, staged, subPath, targetPath, readOnly, signal);
        } else {
          const source = subPath ? join(stagingPath, subPath) : stagingPath;
          if (subPath && !(await mounts.isDirectory(source, signal))) {
            throw new CsiError(
              'NotFound',
              `directory ${subPath} does not exist in the file system of volume ${volumeId}`,
            );
          }
          await mkdir(targetPath, { recursive: true });
          rec.targets[targetPath] = { readOnly, subPath, singleWriter };
          await state.put(rec);
          await mounts.bind(source, targetPath, readOnly, signal);
        }
        rec.targets[targetPath] = { readOnly, subPath, singleWriter };
        await state.put(rec);
        return {};
      });
    },

    async NodeUnpublishVolume(req, { signal }) {
      const call = 'NodeUnpublishVolume';
      const volumeId = requireField(req.volumeId, 'volume_id', call);
      const targetPath = requirePath(req.targetPath, 'target_path', call);
      return locks.run(volumeId, async () => {
        await mounts.unmount(targetPath, signal);
        await rmdir(targetPath).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT')
            deps.log.warn('target path left in place', { targetPath, code: err.code });
        });
        const rec = await state.get(volumeId);
        if (rec?.targets[targetPath]) {
          delete rec.targets[targetPath];
          await state.put(rec);
        }
        return {};
      });
    },

    async NodeGetVolumeStats(req, { signal }) {
      const call = 'NodeGetVolumeStats';
      const volumeId = requireField(req.volumeId, 'volume_id', call);
      const volumePath = requireField(req.volumePath, 'volume_path', call);
      const rec = await state.get(volumeId);
      if (!rec) throw new CsiError('NotFound', `volume ${volumeId} is not staged on this node`);
      const m = mountAt(await deps.mountTable(signal), volumePath);
      if (!m || (volumePath !== rec.stagingPath && !rec.targets[volumePath])) {
        throw new CsiError('NotFound', `${volumePath} is not a mount of volume ${volumeId} on this node`);
      }
      // The CSI spec: a call that cannot complete answers a non-OK code, never OK without numbers.
      const cannot = (why: string) =>
        new CsiError('Unavailable', `cannot read the usage of volume ${volumeId} at ${volumePath}: ${why}`);
      const unserved = await deps.monitor.unserved(rec, signal);
      if (unserved) throw cannot(unserved.message);
      const probe = await mounts.probe(volumePath, signal);
      if (!probe.ok) {
        const now = await deps.monitor.unserved(rec, signal);
        throw cannot(now ? `${probe.message}: ${now.message}` : probe.message);
      }
      const u = probe.usage;
      return {
        usage: [
          { unit: 'BYTES', total: u.totalBytes, available: u.availableBytes, used: u.usedBytes },
          { unit: 'INODES', total: u.totalInodes, available: u.freeInodes, used: u.usedInodes },
        ],
      };
    },

    async NodeGetVolumeHealth(req, { signal }) {
      const volumeId = requireField(req.volumeId, 'volume_id', 'NodeGetVolumeHealth');
      const rec = await state.get(volumeId);
      if (!rec) throw new CsiError('NotFound', `volume ${volumeId} is not staged on this node`);
      const h = await deps.monitor.check(rec, signal);
      return {
        volumeHealth: {
          volumeId,
          healthStatuses: h.ok ? [] : [{ status: h.status, reason: h.reason, message: h.message }],
        },
      };
    },

    async NodeGetCapabilities() {
      const rpc = (type: string) => ({ rpc: { type } }) as const;
      return {
        capabilities: [
          rpc('STAGE_UNSTAGE_VOLUME'),
          rpc('GET_VOLUME_STATS'),
          rpc('SINGLE_NODE_MULTI_WRITER'),
          rpc('GET_VOLUME_HEALTH'),
        ] as never,
      };
    },

    async NodeGetInfo() {
      return { nodeId: deps.nodeId, maxVolumesPerNode: 0 };
    },
  };

  /** A target already has a mount: success when it is this volume's (made read-only if asked), else AlreadyExists. */
  async function republish(
    existing: MountEntry,
    staged: MountEntry,
    subPath: string,
    targetPath: string,
    readOnly: boolean,
    signal: AbortSignal,
  ) {
    const root = join(staged.root, subPath);
    if (existing.device !== staged.device || existing.root !== root) {
      throw new CsiError(
        'AlreadyExists',
        `${targetPath} already has another mount (${existing.source} ${existing.root}): unpublish it first`,
      );
    }
    if (isReadOnly(existing) === readOnly) return;
    if (readOnly) return mounts.remountReadOnly(targetPath, signal);
    throw new CsiError(
      'AlreadyExists',
      `${targetPath} is published read-only: unpublish it before publishing it writable`,
    );
  }
}
