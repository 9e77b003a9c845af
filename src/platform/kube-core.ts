// Core Kubernetes objects the operator touches: Events it records, the Lease it leads by, the Secret it reads credentials from.
import { randomBytes } from 'node:crypto';
import {
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Lease,
  V1MicroTime,
} from '@kubernetes/client-node';
import { logger } from '../lib/log.ts';
import { callOptions, DEFAULT_CALL_TIMEOUT_MS, isKubeError, translateKubeError } from './kube.ts';

/** The object an Event is about. */
export interface EventSubject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
}

/**
 * Records Kubernetes Events about objects. Recording is best effort: a failure is logged, never
 * thrown, and the call is bounded by its deadline.
 */
export interface EventRecorder {
  record(subject: EventSubject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export class KubeEventRecorder implements EventRecorder {
  readonly #api: CoreV1Api;
  readonly #component: string;
  readonly #log = logger('kube');

  constructor(kc: KubeConfig, component: string) {
    this.#api = kc.makeApiClient(CoreV1Api);
    this.#component = component;
  }

  async record(
    subject: EventSubject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const namespace = subject.metadata.namespace ?? 'default';
    const now = new Date();
    const body = {
      metadata: { name: `${subject.metadata.name}.${randomBytes(8).toString('hex')}`, namespace },
      involvedObject: {
        apiVersion: subject.apiVersion,
        kind: subject.kind,
        name: subject.metadata.name,
        namespace,
        ...(subject.metadata.uid ? { uid: subject.metadata.uid } : {}),
        ...(subject.metadata.resourceVersion ? { resourceVersion: subject.metadata.resourceVersion } : {}),
      },
      type,
      reason,
      message: message.slice(0, 1024),
      source: { component: this.#component },
      reportingComponent: this.#component,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.#api.createNamespacedEvent(
        { namespace, body },
        callOptions(AbortSignal.timeout(DEFAULT_CALL_TIMEOUT_MS), DEFAULT_CALL_TIMEOUT_MS),
      );
    } catch (err) {
      const e = translateKubeError(err, 'create event');
      this.#log.warn('could not record an event', {
        reason,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }
}

/** The holder of a coordination.k8s.io Lease, as the leader elector reads and writes it. */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: Date;
  renewTime?: Date;
  leaseTransitions?: number;
  /** Opaque version for optimistic concurrency. */
  resourceVersion?: string;
}

/**
 * One Lease. `write` creates it (no resourceVersion) or replaces it at the resourceVersion it was
 * read at: Conflict (KubeError) when another writer got there first.
 */
export interface LeaseStore {
  read(signal: AbortSignal): Promise<LeaseRecord | undefined>;
  write(lease: LeaseRecord, signal: AbortSignal): Promise<LeaseRecord>;
}

const toDate = (v: unknown): Date | undefined =>
  v instanceof Date ? v : typeof v === 'string' && v !== '' ? new Date(v) : undefined;

function fromV1(lease: V1Lease): LeaseRecord {
  const s = lease.spec ?? {};
  const out: LeaseRecord = {};
  if (s.holderIdentity) out.holderIdentity = s.holderIdentity;
  if (s.leaseDurationSeconds !== undefined) out.leaseDurationSeconds = s.leaseDurationSeconds;
  const acquire = toDate(s.acquireTime);
  if (acquire) out.acquireTime = acquire;
  const renew = toDate(s.renewTime);
  if (renew) out.renewTime = renew;
  if (s.leaseTransitions !== undefined) out.leaseTransitions = s.leaseTransitions;
  if (lease.metadata?.resourceVersion) out.resourceVersion = lease.metadata.resourceVersion;
  return out;
}

export class KubeLeaseStore implements LeaseStore {
  readonly #api: CoordinationV1Api;
  readonly #namespace: string;
  readonly #name: string;

  constructor(kc: KubeConfig, namespace: string, name: string) {
    this.#api = kc.makeApiClient(CoordinationV1Api);
    this.#namespace = namespace;
    this.#name = name;
  }

  async read(signal: AbortSignal): Promise<LeaseRecord | undefined> {
    try {
      const lease = await this.#api.readNamespacedLease(
        { name: this.#name, namespace: this.#namespace },
        callOptions(signal, DEFAULT_CALL_TIMEOUT_MS),
      );
      return fromV1(lease);
    } catch (err) {
      const e = translateKubeError(err, `read lease ${this.#namespace}/${this.#name}`, signal);
      if (isKubeError(e, 'NotFound')) return undefined;
      throw e;
    }
  }

  async write(lease: LeaseRecord, signal: AbortSignal): Promise<LeaseRecord> {
    const micro = (d: Date | undefined) => (d ? new V1MicroTime(d.getTime()) : undefined);
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.#name,
        namespace: this.#namespace,
        ...(lease.resourceVersion ? { resourceVersion: lease.resourceVersion } : {}),
      },
      spec: {
        ...(lease.holderIdentity !== undefined ? { holderIdentity: lease.holderIdentity } : {}),
        ...(lease.leaseDurationSeconds !== undefined
          ? { leaseDurationSeconds: lease.leaseDurationSeconds }
          : {}),
        ...(lease.acquireTime ? { acquireTime: micro(lease.acquireTime)! } : {}),
        ...(lease.renewTime ? { renewTime: micro(lease.renewTime)! } : {}),
        ...(lease.leaseTransitions !== undefined ? { leaseTransitions: lease.leaseTransitions } : {}),
      },
    };
    const o = callOptions(signal, DEFAULT_CALL_TIMEOUT_MS);
    const ref = { name: this.#name, namespace: this.#namespace };
    try {
      const out = lease.resourceVersion
        ? await this.#api.replaceNamespacedLease({ ...ref, body }, o)
        : await this.#api.createNamespacedLease({ namespace: this.#namespace, body }, o);
      return fromV1(out);
    } catch (err) {
      throw translateKubeError(err, `write lease ${this.#namespace}/${this.#name}`, signal);
    }
  }
}

/** Reads a Secret's data, decoded; undefined when the Secret does not exist. */
export async function readSecret(
  kc: KubeConfig,
  namespace: string,
  name: string,
  signal: AbortSignal,
): Promise<Record<string, string> | undefined> {
  const api = kc.makeApiClient(CoreV1Api);
  try {
    const secret = await api.readNamespacedSecret(
      { name, namespace },
      callOptions(signal, DEFAULT_CALL_TIMEOUT_MS),
    );
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(secret.data ?? {}))
      out[k] = Buffer.from(v, 'base64').toString('utf8');
    for (const [k, v] of Object.entries(secret.stringData ?? {})) out[k] = v;
    return out;
  } catch (err) {
    const e = translateKubeError(err, `read secret ${namespace}/${name}`, signal);
    if (isKubeError(e, 'NotFound')) return undefined;
    throw e;
  }
}
