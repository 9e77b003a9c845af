// `npm run test:k8s-e2e`: the Kubernetes external storage e2e suite (e2e.test) against a cluster with Nacre installed, and a summary of its results.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { ExecRunner } from '../../src/lib/command-runner.ts';
import { NacreError } from '../../src/lib/errors.ts';
import { run } from '../chart/helm.ts';
import { BUILD_TOOLS_SCRIPT } from '../harness/tools.ts';
import { parseJunit, renderSummary, selected } from './junit-summary.ts';
import { type SuiteCluster, startSuiteCluster } from './suite-cluster.ts';
import { DEFAULT_SKIP, partsUsage, suitePart } from './suite-parts.ts';

const REPO = join(import.meta.dirname, '..', '..');

const USAGE = `usage: npm run test:k8s-e2e -- [options]   (root: it starts kubelet nodes)
  --part NAME        a named selection (driver, focus, skip):
${partsUsage()}
                     (default: every External.Storage spec of --driver)
  --kubeconfig PATH  run on this cluster, Nacre already installed by its chart (default: start
                     --nodes kubelet nodes, import Nacre's image and the suite's, install the
                     snapshot CRDs + controller and the chart, and remove it all at the end)
  --nodes N          nodes to start (default 2)
  --image ARCHIVE    Nacre's image archive (default: scripts/build-image-oci.sh builds or finds it)
  --driver FILE      driver definition (default test/k8s-e2e/nacre-driver.yaml)
  --namespace NS     Nacre's namespace: the shared FileSystem of sub-directory volumes goes there (default nacre-system)
  --focus RE         ginkgo focus (default External.Storage)
  --skip RE          ginkgo skip (default \\[Disruptive\\]|\\[Flaky\\]: disruptive specs restart kubelets over ssh)
  --out DIR          report directory (default .local-cluster/k8s-e2e/<part or driver file name>)
  --timeout DURATION ginkgo's suite timeout (default 3h)
  --dry-run          list the specs that would run, run none (no cluster)
Builds e2e.test and agnhost first when the tool cache has none (build-tools.sh, ~6 min on 2 cores).
Writes <out>/e2e.log, <out>/junit_01.xml, <out>/summary.md and <out>/pod-logs/ (Nacre's pods);
exits 1 when a spec failed.`;

const runner = new ExecRunner();

function say(line: string): void {
  process.stderr.write(`k8s-e2e: ${line}\n`);
}

async function tools(): Promise<{ e2eTest: string; kubectl: string }> {
  const r = await runner.run('bash', [BUILD_TOOLS_SCRIPT, '--path', 'e2e.test', 'kubectl'], {
    timeoutMs: 60 * 60_000,
  });
  if (r.code !== 0)
    throw new NacreError('ToolBuildFailed', `build-tools.sh e2e.test kubectl: ${r.stderr.slice(-2000)}`);
  const [e2eTest, kubectl] = r.stdout.split('\n');
  if (!e2eTest || !kubectl)
    throw new NacreError('ToolBuildFailed', `build-tools.sh printed no paths: ${r.stdout}`);
  return { e2eTest, kubectl };
}

function kubectl(bin: string, kubeconfig: string, args: string[], input?: string): Promise<string> {
  return run(bin, ['--kubeconfig', kubeconfig, ...args, ...(input === undefined ? [] : ['-f', '-'])], {
    timeoutMs: 15 * 60_000,
    ...(input !== undefined && { input }),
  });
}

interface DriverFile {
  StorageClass?: { FromFile?: string };
  SnapshotClass?: { FromFile?: string };
  [key: string]: unknown;
}

/**
 * A copy of the driver definition in `out` whose StorageClass file is absolute and, for
 * sub-directory volumes, names `namespace`; creates the FileSystem those volumes live on and waits
 * until it is AVAILABLE.
 */
async function prepareDriver(
  driverPath: string,
  out: string,
  namespace: string,
  k: (args: string[], input?: string) => Promise<string>,
): Promise<string> {
  const driver = parse(await readFile(driverPath, 'utf8')) as DriverFile;
  const scFile = driver.StorageClass?.FromFile;
  if (scFile) {
    const sc = parse(await readFile(resolve(REPO, scFile), 'utf8')) as {
      parameters?: Record<string, string>;
    };
    const fsName = sc.parameters?.['fileSystemName'];
    if (fsName) {
      sc.parameters = { ...sc.parameters, fileSystemNamespace: namespace };
      const fileSystem = {
        apiVersion: 'fsx.nacre.dev/v1alpha1',
        kind: 'FileSystem',
        metadata: { name: fsName, namespace },
        spec: {
          backend: 'emulated',
          storageCapacity: 1200,
          lustreConfiguration: { deploymentType: 'SCRATCH_2' },
        },
      };
      say(`FileSystem ${namespace}/${fsName} for the sub-directory volumes ...`);
      await k(['apply'], JSON.stringify(fileSystem));
      await k([
        '-n',
        namespace,
        'wait',
        `filesystem/${fsName}`,
        '--for=jsonpath={.status.lifecycle}=AVAILABLE',
        '--timeout=10m',
      ]);
    }
    const copy = join(out, basename(scFile));
    await writeFile(copy, stringify(sc));
    driver.StorageClass = { FromFile: copy };
  }
  const snap = driver.SnapshotClass?.FromFile;
  if (snap) driver.SnapshotClass = { FromFile: resolve(REPO, snap) };
  const path = join(out, basename(driverPath));
  await writeFile(path, stringify(driver));
  return path;
}

/** Runs e2e.test, its output to the terminal and `<out>/e2e.log`; resolves with its exit code. */
function runSuite(bin: string, args: string[], out: string, timeoutMs: number): Promise<number | null> {
  return new Promise((done, fail) => {
    const log = createWriteStream(join(out, 'e2e.log'));
    const child = spawn(bin, args, { cwd: out, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [child.stdout, child.stderr])
      s.on('data', (b: Buffer) => {
        log.write(b);
        process.stdout.write(b);
      });
    // Past ginkgo's own timeout (which reports what was running), stop it hard.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const stop = () => child.kill('SIGINT');
    process.once('SIGINT', stop);
    child.once('error', (err) => {
      clearTimeout(timer);
      process.off('SIGINT', stop);
      log.end(() =>
        fail(new NacreError('CommandFailed', `cannot run ${bin}: ${err.message}`, { cause: err })),
      );
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      process.off('SIGINT', stop);
      log.end(() => done(code));
    });
  });
}

function durationMs(s: string): number {
  const m = /^(\d+)(h|m|s)$/.exec(s);
  if (!m) throw new NacreError('BadFlag', `--timeout ${s}: want a number and h, m or s (e.g. 3h)`);
  return Number(m[1]) * { h: 3_600_000, m: 60_000, s: 1_000 }[m[2] as 'h' | 'm' | 's'];
}

async function main(): Promise<number> {
  const { values: f } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      nodes: { type: 'string', default: '2' },
      image: { type: 'string' },
      driver: { type: 'string', default: join(REPO, 'test', 'k8s-e2e', 'nacre-driver.yaml') },
      namespace: { type: 'string', default: 'nacre-system' },
      part: { type: 'string' },
      focus: { type: 'string' },
      skip: { type: 'string' },
      out: { type: 'string' },
      timeout: { type: 'string', default: '3h' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (f.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const part = f.part === undefined ? undefined : suitePart(f.part);
  const focus = f.focus ?? part?.focus ?? 'External.Storage';
  const skip = f.skip ?? part?.skip ?? DEFAULT_SKIP;
  const driverPath = resolve(part?.driver ? join(REPO, part.driver) : f.driver);
  const out = resolve(
    f.out ?? join(REPO, '.local-cluster', 'k8s-e2e', f.part ?? basename(driverPath, '.yaml')),
  );
  const timeoutMs = durationMs(f.timeout);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const started = Date.now();
  const t = await tools();
  say(`e2e.test ${t.e2eTest}`);
  if (f['dry-run'])
    return runAndSummarise(t, {
      kubeconfig: '',
      driver: driverPath,
      focus,
      skip,
      out,
      timeoutMs,
      started,
      dryRun: true,
      driverPath,
      timeout: f.timeout,
    });
  let own: SuiteCluster | undefined;
  let kubeconfig: string;
  const ac = new AbortController();
  // Ctrl-C or SIGTERM while the cluster comes up aborts the start, which removes what it made.
  const interrupt = () => ac.abort(new NacreError('Interrupted', 'interrupted'));
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, interrupt);
  if (f.kubeconfig) {
    kubeconfig = resolve(f.kubeconfig);
    if (!existsSync(kubeconfig))
      throw new NacreError(
        'NoCluster',
        `${kubeconfig} does not exist: leave out --kubeconfig to start a cluster`,
      );
  } else {
    say(`starting ${f.nodes} kubelet nodes with Nacre installed by its chart (root only)`);
    own = await startSuiteCluster({
      dir: out,
      namespace: f.namespace,
      count: Number(f.nodes),
      ...(f.image ? { imageArchive: resolve(f.image) } : {}),
      ...(part?.values ? { values: part.values } : {}),
      progress: say,
      signal: AbortSignal.any([ac.signal, AbortSignal.timeout(60 * 60_000)]),
    });
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.off(s, interrupt);
    kubeconfig = own.kubeconfig;
    say(`cluster up in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
  }
  try {
    const k = (args: string[], input?: string) => kubectl(t.kubectl, kubeconfig, args, input);
    const driver = await prepareDriver(driverPath, out, f.namespace, k);
    return await runAndSummarise(t, {
      kubeconfig,
      driver,
      focus,
      skip,
      out,
      timeoutMs,
      started,
      dryRun: false,
      driverPath,
      timeout: f.timeout,
    });
  } finally {
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.off(s, interrupt);
    if (own) {
      await own
        .collectLogs(join(out, 'pod-logs'))
        .catch((e: unknown) => say(`collecting pod logs: ${String(e)}`));
      say('removing the cluster');
      const left = await own.stop();
      if (left.length > 0) say(`left on the machine: ${left.join(', ')}`);
      await rm(join(out, 'images'), { recursive: true, force: true });
    }
  }
}

async function runAndSummarise(
  t: { e2eTest: string; kubectl: string },
  o: {
    kubeconfig: string;
    driver: string;
    driverPath: string;
    focus: string;
    skip: string;
    out: string;
    timeout: string;
    timeoutMs: number;
    started: number;
    dryRun: boolean;
  },
): Promise<number> {
  const args = [
    `-ginkgo.focus=${o.focus}`,
    ...(o.skip ? [`-ginkgo.skip=${o.skip}`] : []),
    `-ginkgo.timeout=${o.timeout}`,
    '-ginkgo.no-color',
    ...(o.dryRun ? ['-ginkgo.dry-run', '-ginkgo.v'] : []),
    `-storage.testdriver=${o.driver}`,
    ...(o.kubeconfig ? [`-kubeconfig=${o.kubeconfig}`] : []),
    `-kubectl-path=${t.kubectl}`,
    `-report-dir=${o.out}`,
  ];
  say(`running e2e.test ${args.join(' ')}`);
  const code = await runSuite(t.e2eTest, args, o.out, o.timeoutMs + 10 * 60_000);
  const junit = join(o.out, 'junit_01.xml');
  if (!existsSync(junit)) {
    say(`e2e.test exited ${code} without ${junit}: see ${join(o.out, 'e2e.log')}`);
    return 1;
  }
  const summary = selected(
    parseJunit(await readFile(junit, 'utf8')),
    new RegExp(o.focus),
    o.skip ? new RegExp(o.skip) : /$^/,
  );
  const minutes = ((Date.now() - o.started) / 60_000).toFixed(1);
  const md = renderSummary(
    summary,
    `External storage e2e: ${basename(o.driverPath)} (${minutes} min, focus ${o.focus}, skip ${o.skip})`,
  );
  await writeFile(join(o.out, 'summary.md'), md);
  process.stdout.write(`\n${md}\n`);
  say(`summary in ${join(o.out, 'summary.md')}`);
  return summary.failed > 0 || (code !== 0 && !o.dryRun) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
