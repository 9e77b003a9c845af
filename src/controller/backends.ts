// Picks the FileSystemBackend for a resource's backend (aws or emulated) and builds its FSx client once, with credentials from config or a Secret.
import type { Backend } from '../api/index.ts';
import { createFsxSdkClient, type FileSystemBackend, type FsxApi, type FsxEndpoint } from '../fsx/backend.ts';
import { SdkFileSystemBackend } from '../fsx/backend-sdk.ts';
import { NacreError } from '../lib/errors.ts';

/** The backend cannot be used: it is not configured, or its credentials cannot be read. Retried with backoff. */
export class BackendUnavailableError extends NacreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BackendUnavailable', message, options);
  }
}

export interface EmulatorConfig {
  /** The emulator's FSx API endpoint, e.g. http://nacre-fsx-api.nacre-system:9800. */
  endpoint: string;
  region: string;
  /** Static credentials; when absent they come from `credentialsSecret`. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Secret (in `secretNamespace`) with keys accessKeyId and secretAccessKey (or AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). */
  credentialsSecret?: string;
  secretNamespace?: string;
  /** Subnet sent when a spec names none (the emulator wants exactly one). */
  defaultSubnetId?: string;
}

export interface BackendRegistryOptions {
  aws?: { region?: string };
  emulator?: EmulatorConfig;
  /** Reads a Secret's decoded data; undefined when it does not exist. */
  readSecret: (
    namespace: string,
    name: string,
    signal: AbortSignal,
  ) => Promise<Record<string, string> | undefined>;
  /** Observes every FSx API call. */
  onCall?: (backend: Backend, operation: string, outcome: string, seconds: number) => void;
  /** Builds the SDK client (tests may substitute one). */
  makeApi?: (endpoint: FsxEndpoint) => FsxApi;
  /** How long Secret-sourced credentials are reused before the Secret is read again (default 5 min). */
  credentialsTtlMs?: number;
  callTimeoutMs?: number;
}

export const DEFAULT_CREDENTIALS_SECRET = 'nacre-fsx-credentials';
export const DEFAULT_EMULATOR_SUBNET = 'subnet-00000000000000000';

/** Hands out one FileSystemBackend per backend name; Secret-based credentials are re-read after their TTL. */
export class BackendRegistry {
  readonly #opts: BackendRegistryOptions;
  readonly #cache = new Map<Backend, { backend: FileSystemBackend; until: number; destroy?: () => void }>();

  constructor(opts: BackendRegistryOptions) {
    this.#opts = opts;
  }

  async get(name: Backend, signal: AbortSignal): Promise<FileSystemBackend> {
    const hit = this.#cache.get(name);
    if (hit && hit.until > Date.now()) return hit.backend;
    hit?.destroy?.();
    const endpoint = await this.#endpoint(name, signal);
    const api = this.#opts.makeApi?.(endpoint) ?? createFsxSdkClient(endpoint);
    const backend = new SdkFileSystemBackend(api, {
      ...(this.#opts.callTimeoutMs !== undefined ? { callTimeoutMs: this.#opts.callTimeoutMs } : {}),
      ...(name === 'emulated'
        ? { defaultSubnetId: this.#opts.emulator?.defaultSubnetId ?? DEFAULT_EMULATOR_SUBNET }
        : {}),
      onCall: (op, outcome, secs) => this.#opts.onCall?.(name, op, outcome, secs),
    });
    const fromSecret = name === 'emulated' && this.#opts.emulator?.accessKeyId === undefined;
    const until = fromSecret
      ? Date.now() + (this.#opts.credentialsTtlMs ?? 5 * 60_000)
      : Number.POSITIVE_INFINITY;
    const destroy = (api as { destroy?: () => void }).destroy?.bind(api);
    this.#cache.set(name, { backend, until, ...(destroy ? { destroy } : {}) });
    return backend;
  }

  async #endpoint(name: Backend, signal: AbortSignal): Promise<FsxEndpoint> {
    if (name === 'aws')
      return { kind: 'aws', ...(this.#opts.aws?.region ? { region: this.#opts.aws.region } : {}) };
    const emu = this.#opts.emulator;
    if (!emu)
      throw new BackendUnavailableError('the emulated backend is not configured (no emulator endpoint)');
    const base = { kind: 'emulated' as const, endpoint: emu.endpoint, region: emu.region };
    if (emu.accessKeyId !== undefined && emu.secretAccessKey !== undefined)
      return { ...base, accessKeyId: emu.accessKeyId, secretAccessKey: emu.secretAccessKey };
    const secretName = emu.credentialsSecret ?? DEFAULT_CREDENTIALS_SECRET;
    const ns = emu.secretNamespace ?? 'nacre-system';
    let data: Record<string, string> | undefined;
    try {
      data = await this.#opts.readSecret(ns, secretName, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new BackendUnavailableError(`cannot read Secret ${ns}/${secretName}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (!data)
      throw new BackendUnavailableError(
        `Secret ${ns}/${secretName} with the emulator's credentials does not exist`,
      );
    const accessKeyId = data['accessKeyId'] ?? data['AWS_ACCESS_KEY_ID'];
    const secretAccessKey = data['secretAccessKey'] ?? data['AWS_SECRET_ACCESS_KEY'];
    if (!accessKeyId || !secretAccessKey)
      throw new BackendUnavailableError(`Secret ${ns}/${secretName} lacks accessKeyId and secretAccessKey`);
    return { ...base, accessKeyId, secretAccessKey };
  }

  /** Releases the SDK clients' connections. */
  close(): void {
    for (const c of this.#cache.values()) c.destroy?.();
    this.#cache.clear();
  }
}
