// The CSI Identity service: driver name and version, plugin capabilities, and a Probe that runs real readiness checks.
import { readFileSync } from 'node:fs';
import { CsiError } from './csi-error.ts';
import type { IdentityService } from './proto.ts';

export const DRIVER_NAME = 'csi.nacre.dev';

/** The version in the project's package.json. */
export function driverVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

/** One thing the plugin needs before it can serve: it throws (with what is wrong) when not ready. */
export interface ReadinessCheck {
  name: string;
  check(signal: AbortSignal): Promise<void>;
}

export interface IdentityOptions {
  /** This process serves the Controller service (advertises CONTROLLER_SERVICE and online expansion). */
  controller: boolean;
  checks: ReadinessCheck[];
  /** Deadline of each readiness check (default 5 s). */
  checkTimeoutMs?: number;
}

export function identityService(opts: IdentityOptions): IdentityService {
  const version = driverVersion();
  const timeoutMs = opts.checkTimeoutMs ?? 5_000;
  return {
    async GetPluginInfo() {
      return { name: DRIVER_NAME, vendorVersion: version, manifest: {} };
    },
    async GetPluginCapabilities() {
      return {
        capabilities: opts.controller
          ? [{ service: { type: 'CONTROLLER_SERVICE' } }, { volumeExpansion: { type: 'ONLINE' } }]
          : [],
      };
    },
    async Probe(_req, ctx) {
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
      const failures = await Promise.all(
        opts.checks.map(async (c) => {
          try {
            await c.check(signal);
            return undefined;
          } catch (err) {
            return `${c.name}: ${err instanceof Error ? err.message : String(err)}`;
          }
        }),
      );
      const failed = failures.filter((f) => f !== undefined);
      if (failed.length > 0) throw new CsiError('FailedPrecondition', `not ready: ${failed.join('; ')}`);
      return { ready: { value: true } };
    },
  };
}
