// Checks of CSI Node requests: required fields, capability, volume context — InvalidArgument naming what to fix.
import { isAbsolute, normalize } from 'node:path';
import { CsiError, invalidArgument } from '../csi-error.ts';
import type { VolumeCapability } from '../proto.ts';
import { VOLUME_CONTEXT } from '../volume-id.ts';
import type { Backend } from './node-state.ts';

export function requireField(value: string | undefined, name: string, call: string): string {
  if (!value) throw invalidArgument(`${call}: ${name} is required`);
  return value;
}

export function requirePath(value: string | undefined, name: string, call: string): string {
  const path = requireField(value, name, call);
  if (!isAbsolute(path)) throw invalidArgument(`${call}: ${name} "${path}" must be an absolute path`);
  return normalize(path).replace(/(.)\/$/, '$1');
}

/** Mount flags of a mount-type capability; InvalidArgument for a missing or block capability. */
export function mountCapability(cap: VolumeCapability | null | undefined, call: string): string[] {
  if (!cap) throw invalidArgument(`${call}: volume_capability is required`);
  if (cap.block) {
    throw invalidArgument(
      `${call}: Nacre volumes are file systems; ask for a mount volume, not a block volume`,
    );
  }
  if (!cap.mount) throw invalidArgument(`${call}: volume_capability needs access_type mount`);
  if (!cap.accessMode || cap.accessMode.mode === 'UNKNOWN') {
    throw invalidArgument(`${call}: volume_capability.access_mode is required`);
  }
  return [...cap.mount.mountFlags];
}

/** Access modes that only read: a publish with one of them is read-only even if `readonly` is false. */
export function readOnlyMode(cap: VolumeCapability | null | undefined): boolean {
  const m = cap?.accessMode?.mode;
  return m === 'SINGLE_NODE_READER_ONLY' || m === 'MULTI_NODE_READER_ONLY';
}

export interface StageContext {
  backend: Backend;
  dnsName: string;
  mountName: string;
}

/** The volume context NodeStageVolume needs; InvalidArgument naming a missing or bad key. */
export function stageContext(ctx: Record<string, string>): StageContext {
  const backend = ctx[VOLUME_CONTEXT.backend] || 'emulated';
  if (backend !== 'emulated' && backend !== 'aws') {
    throw invalidArgument(`volume_context.${VOLUME_CONTEXT.backend} "${backend}" must be emulated or aws`);
  }
  const dnsName = ctx[VOLUME_CONTEXT.dnsName];
  const mountName = ctx[VOLUME_CONTEXT.mountName];
  if (!dnsName || !mountName) {
    throw invalidArgument(
      `volume_context must carry ${VOLUME_CONTEXT.dnsName} and ${VOLUME_CONTEXT.mountName} (the controller sets them; for a static PV put them in volumeAttributes)`,
    );
  }
  if (/[\s,]/.test(dnsName) || !/^[A-Za-z0-9_-]+$/.test(mountName)) {
    throw invalidArgument(
      `volume_context: bad ${VOLUME_CONTEXT.dnsName} "${dnsName}" or ${VOLUME_CONTEXT.mountName} "${mountName}"`,
    );
  }
  return { backend, dnsName, mountName };
}

/** The volume's directory inside the file system: relative, no `..`; "" for the root. */
export function subPathOf(ctx: Record<string, string>): string {
  const sub = (ctx[VOLUME_CONTEXT.subPath] ?? '').replace(/^\/+|\/+$/g, '');
  if (sub.split('/').some((p) => p === '..' || p === '.')) {
    throw invalidArgument(`volume_context.${VOLUME_CONTEXT.subPath} "${sub}" must not contain . or .. parts`);
  }
  return sub;
}

/** FailedPrecondition, as the CSI spec answers a publish whose NodeStageVolume has not succeeded. */
export const notStaged = (volumeId: string, stagingPath: string): CsiError =>
  new CsiError(
    'FailedPrecondition',
    `volume ${volumeId} is not staged at ${stagingPath} on this node: call NodeStageVolume first`,
  );
