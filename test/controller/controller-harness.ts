// For integration tests: the operator environment plus a shared controller on namespace "main", and helpers to apply and watch resources.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { FileSystem as SdkFileSystem } from '@aws-sdk/client-fsx';
import { type FileSystem, type FileSystemStatus, GROUP, VERSION } from '../../src/api/index.ts';
import { getCondition } from '../../src/controller/conditions.ts';
import {
  type ControllerOptions,
  type RunningController,
  startController,
} from '../../src/controller/run-controller.ts';
import { CustomResourceClient, loadKubeConfig } from '../../src/platform/kube.ts';
import { eventually, type FsxEmulator, type OperatorEnv, startOperatorEnv } from './operator-env.ts';

export interface ControllerHarness {
  env: OperatorEnv;
  fsx: FsxEmulator;
  /** The controller most tests share; it watches namespace "main" only and resyncs every 500 ms. */
  main: RunningController;
  /** Controller options for `namespace` against the emulator. */
  options(namespace: string, extra?: Partial<ControllerOptions>): ControllerOptions;
  /** A controller for one test, stopped when the test ends (or earlier with `stop`). */
  controllerFor(
    t: TestContext,
    namespace: string,
    extra?: Partial<ControllerOptions>,
  ): Promise<{ c: RunningController; stop: () => Promise<void>; abort: () => void }>;
  /** kubectl apply of a resource of this group; `spec` is YAML indented by two spaces. */
  apply(ns: string, kind: string, name: string, spec: string): Promise<void>;
  fileSystems: CustomResourceClient<FileSystem>;
  getFs(ns: string, name: string): Promise<FileSystem | undefined>;
  /** Waits until the FileSystem's status satisfies `ok`; returns that status. */
  waitFor(
    ns: string,
    name: string,
    what: string,
    ok: (s: FileSystemStatus) => boolean,
  ): Promise<FileSystemStatus>;
  /** Waits until condition `type` of any resource has `reason`; returns "reason|message". */
  waitForCondition(resource: string, ns: string, name: string, type: string, reason: string): Promise<string>;
  /** The value of the first /metrics line matching `line` (0 when none does). */
  metric(c: RunningController, line: RegExp): Promise<number>;
  /** The emulator's file systems carrying the controller's uid tag for `uid`. */
  fileSystemsTagged(uid: string): Promise<SdkFileSystem[]>;
  stop(): Promise<void>;
}

export const ready = (s: FileSystemStatus): boolean =>
  getCondition(s.conditions, 'Ready')?.status === 'True' && s.lifecycle === 'AVAILABLE';

export async function startControllerHarness(namespaces: string[]): Promise<ControllerHarness> {
  const env = await startOperatorEnv();
  const fsx = env.fsx!;
  const stopAll = new AbortController();
  const fileSystems = new CustomResourceClient<FileSystem>(loadKubeConfig(env.cluster.kubeconfigPath), {
    group: GROUP,
    version: VERSION,
    plural: 'filesystems',
  });
  for (const ns of ['main', ...namespaces]) await env.kubectl(['create', 'namespace', ns]);
  const options = (namespace: string, extra: Partial<ControllerOptions> = {}): ControllerOptions => ({
    kubeconfig: env.cluster.kubeconfigPath,
    namespace,
    defaultBackend: 'emulated',
    emulator: {
      endpoint: fsx.endpoint,
      region: fsx.region,
      accessKeyId: fsx.accessKeyId,
      secretAccessKey: fsx.secretAccessKey,
    },
    metricsAddress: '127.0.0.1:0',
    leaderElection: false,
    pollIntervalMs: 250,
    slowPollMs: 2_000,
    workers: 2,
    signal: stopAll.signal,
    ...extra,
  });
  const main = await startController(options('main', { resyncMs: 500 }));
  const getFs = (ns: string, name: string) => fileSystems.get(ns, name, AbortSignal.timeout(30_000));
  return {
    env,
    fsx,
    main,
    options,
    fileSystems,
    getFs,
    async controllerFor(t, namespace, extra = {}) {
      const ac = new AbortController();
      const c = await startController(
        options(namespace, { ...extra, signal: AbortSignal.any([ac.signal, stopAll.signal]) }),
      );
      const stop = async () => {
        ac.abort();
        await c.done;
      };
      t.after(stop);
      return { c, stop, abort: () => ac.abort() };
    },
    async apply(ns, kind, name, spec) {
      const manifest = `apiVersion: ${GROUP}/${VERSION}\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n${spec}`;
      const r = await env.kubectl(['apply', '-f', '-'], manifest);
      assert.equal(r.code, 0, r.stderr);
    },
    waitFor: (ns, name, what, ok) =>
      eventually(`${ns}/${name}: ${what}`, async () => {
        const s = (await getFs(ns, name))?.status;
        return s && ok(s) ? s : undefined;
      }),
    waitForCondition: (resource, ns, name, type, reason) =>
      eventually(`${resource} ${ns}/${name}: ${type} ${reason}`, async () => {
        const path = `{.status.conditions[?(@.type=="${type}")]`;
        const r = await env.kubectl([
          'get',
          resource,
          name,
          '-n',
          ns,
          '-o',
          `jsonpath=${path}.reason}|${path}.message}`,
        ]);
        return r.stdout.startsWith(`${reason}|`) ? r.stdout : undefined;
      }),
    async metric(c, line) {
      const text = await (await fetch(`http://${c.metricsAddress}/metrics`)).text();
      const m = text.split('\n').find((l) => line.test(l));
      return m ? Number(m.split(' ').at(-1)) : 0;
    },
    async fileSystemsTagged(uid) {
      return (await fsx.fileSystems()).filter((f) =>
        f.Tags?.some((t) => t.Key === 'nacre.dev/uid' && t.Value === uid),
      );
    },
    async stop() {
      stopAll.abort();
      await main.done;
      await env.stop();
    },
  };
}
