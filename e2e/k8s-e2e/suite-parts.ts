// Named selections of the external storage suite (`npm run test:k8s-e2e -- --part NAME`), so each run fits the CI limit.
import { NacreError } from '../../src/lib/errors.ts';

/**
 * Disruptive specs restart kubelets over ssh; flaky ones are not judged; "any volume data source"
 * needs registry.k8s.io's hello-populator image, whose module the Go module proxy refuses (403),
 * and a validator Deployment with imagePullPolicy Always (no registry is reachable here).
 */
export const DEFAULT_SKIP = '\\[Disruptive\\]|\\[Flaky\\]|any volume data source';

export interface SuitePart {
  /** The driver definition, relative to the repository. */
  driver: string;
  focus: string;
  skip: string;
  about: string;
  /** Helm values over the runner's own (merged key by key). */
  values?: Record<string, unknown>;
}

const SHARED = 'test/k8s-e2e/nacre-driver.yaml';
const PERSISTENT = 'test/k8s-e2e/nacre-persistent-driver.yaml';

export const SUITE_PARTS: Record<string, SuitePart> = {
  quick: {
    driver: SHARED,
    focus:
      'External.Storage.*(volumes should store data|multiVolume should concurrently access the single volume from pods on different node|Verify if offline PVC expansion works|ephemeral should create read/write inline ephemeral volume)',
    skip: DEFAULT_SKIP,
    about: 'five specs: data, two nodes on one volume, offline expansion, generic ephemeral volumes',
  },
  subpath: {
    driver: SHARED,
    focus: 'External.Storage.*subPath',
    skip: DEFAULT_SKIP,
    about: 'the subPath specs of the sub-directory driver',
  },
  rest: {
    driver: SHARED,
    focus: 'External.Storage',
    skip: `${DEFAULT_SKIP}|subPath`,
    about: 'every other spec of the sub-directory driver',
  },
  persistent: {
    driver: PERSISTENT,
    focus: 'External.Storage',
    skip: DEFAULT_SKIP,
    about: 'PERSISTENT_2 file system per volume, with snapshots and restores',
    // A volume is a whole file system of at least 1200 GiB, mirrored: 256 KiB per GiB (300 MB of
    // OSTs each, twice) and 8 GB of OST per node let the multi-volume specs fit.
    values: { emulator: { capacityScale: '256K' }, node: { osts: { size: '8G' } } },
  },
};

export function suitePart(name: string): SuitePart {
  const part = SUITE_PARTS[name];
  if (!part)
    throw new NacreError('BadFlag', `--part ${name}: want one of ${Object.keys(SUITE_PARTS).join(', ')}`);
  return part;
}

export function partsUsage(): string {
  return Object.entries(SUITE_PARTS)
    .map(([name, p]) => `    ${name.padEnd(11)} ${p.about}`)
    .join('\n');
}
