// Turns a container of a rendered workload into a local command line: env resolved as the kubelet would, $(VAR) expanded, cluster names, ports and volume paths mapped to loopback and local directories.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NacreError } from '../../src/lib/errors.ts';
import { freePorts } from '../harness/processes.ts';
import type { Container, EnvVar, PodSpec } from './helm.ts';

/** One pod as it runs on this machine: its node, its directories and its ports. */
export interface LocalPod {
  /** metadata.name the pod would have, e.g. nacre-mds-0 or nacre-node-node-a. */
  name: string;
  /** spec.nodeName. */
  node: string;
  /** Where its emptyDir and PVC volumes live. */
  dir: string;
  /** containerPort → local port on 127.0.0.1, for every container of the pod. */
  ports: Map<number, number>;
}

export interface LocalWorld {
  namespace: string;
  /** Root of every node's hostPath directories: <root>/nodes/<node>/<host path>. */
  root: string;
  /** Cluster DNS names (Service or pod.Service, with or without .svc) → the pod that answers them. */
  hosts: Map<string, LocalPod>;
  /** Secrets the chart made, decoded: name → key → value. */
  secrets: Map<string, Record<string, string>>;
  /** The command that stands for the image's `nacre`. */
  nacre: string[];
  /** Other images run locally: image name without its tag → binary (e.g. the CSI sidecars). */
  images?: Map<string, string>;
  /**
   * ServiceAccount → kubeconfig with that account's token: what the kubelet would mount into the
   * pod. A nacre process gets it as KUBECONFIG, a sidecar as --kubeconfig. Pods whose account has
   * none (or that do not mount tokens) get no API access, as in the cluster.
   */
  kubeconfigs?: Map<string, string>;
}

export interface LocalCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Local URL of the readiness probe, if the container has one. */
  readyUrl?: string;
}

/** A pod for `spec` with a local port for every container port of every container. */
export async function localPod(name: string, node: string, spec: PodSpec, dir: string): Promise<LocalPod> {
  const wanted = [...new Set(spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort)))];
  const local = await freePorts(wanted.length);
  return { name, node, dir, ports: new Map(wanted.map((p, i) => [p, local[i]!])) };
}

/** Resolves one env var the way the kubelet does for this pod (fieldRef, secretKeyRef, $(VAR) in values). */
function envValue(v: EnvVar, pod: LocalPod, world: LocalWorld, env: Record<string, string>): string {
  if (v.value !== undefined) return expand(v.value, env);
  const field = v.valueFrom?.fieldRef?.fieldPath;
  if (field !== undefined) {
    const fields: Record<string, string> = {
      'metadata.name': pod.name,
      'metadata.namespace': world.namespace,
      'spec.nodeName': pod.node,
      'status.podIP': '127.0.0.1',
    };
    const got = fields[field];
    if (got === undefined)
      throw new NacreError('Unsupported', `env ${v.name}: fieldRef ${field} is not mapped locally`);
    return got;
  }
  const ref = v.valueFrom?.secretKeyRef;
  if (ref) {
    const got = world.secrets.get(ref.name)?.[ref.key];
    if (got === undefined)
      throw new NacreError('NotFound', `env ${v.name}: secret ${ref.name} has no key ${ref.key}`);
    return got;
  }
  throw new NacreError(
    'Unsupported',
    `env ${v.name}: only value, fieldRef and secretKeyRef are mapped locally`,
  );
}

/** $(VAR) expansion of container args and env values; $$(VAR) escapes, unknown names stay as written. */
export function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) =>
    name === undefined ? '$' : (env[name] ?? m),
  );
}

/** Where each mount path of the container lives on this machine (hostPath per node, the rest per pod). */
async function mountMap(
  c: Container,
  spec: PodSpec,
  pod: LocalPod,
  world: LocalWorld,
): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const m of c.volumeMounts ?? []) {
    const vol = (spec.volumes ?? []).find((v) => v.name === m.name);
    let local: string;
    if (vol?.hostPath?.type === 'CharDevice')
      local = vol.hostPath.path; // a device: the real one
    else if (vol?.hostPath) local = join(world.root, 'nodes', pod.node, vol.hostPath.path);
    else local = join(pod.dir, 'volumes', m.name); // emptyDir, or a PVC from volumeClaimTemplates
    if (vol?.hostPath?.type !== 'CharDevice') await mkdir(local, { recursive: true });
    // A Secret volume: one file per key, with the volume's mode, as the kubelet writes it.
    for (const [key, value] of Object.entries(
      vol?.secret ? (world.secrets.get(vol.secret.secretName) ?? {}) : {},
    ))
      await writeFile(join(local, key), value, { mode: vol?.secret?.defaultMode ?? 0o644 });
    out.push([m.mountPath, local]);
  }
  return out.sort((a, b) => b[0].length - a[0].length);
}

function mapPath(path: string, mounts: [string, string][]): string {
  for (const [inside, local] of mounts) {
    if (path === inside || path.startsWith(`${inside}/`)) return local + path.slice(inside.length);
  }
  return path;
}

function mapHostPort(host: string, port: number, pod: LocalPod, world: LocalWorld, what: string): string {
  const self = host === '0.0.0.0' || host === '127.0.0.1' || host === 'localhost';
  const target = self ? pod : (world.hosts.get(host) ?? world.hosts.get(host.replace(/\.svc$/, '')));
  if (!target) throw new NacreError('NotFound', `${what}: no local pod answers ${host}`);
  const local = target.ports.get(port);
  if (local === undefined)
    throw new NacreError('NotFound', `${what}: ${target.name} has no container port ${port}`);
  return `127.0.0.1:${local}`;
}

/** One argument or env value with paths under mounts and host:port addresses made local. */
function localValue(
  value: string,
  pod: LocalPod,
  world: LocalWorld,
  mounts: [string, string][],
  what: string,
): string {
  const path = /^(unix:\/\/|unix:)?(\/.*)$/.exec(value);
  if (path) return (path[1] ?? '') + mapPath(path[2]!, mounts);
  return value.replace(
    /(^|\/\/)([A-Za-z0-9.-]+):(\d{1,5})(?=$|\/)/g,
    (_m, pre: string, host: string, port: string) => {
      if (/^\d+$/.test(host)) return `${pre}${host}:${port}`; // not a host: a number:number value
      return pre + mapHostPort(host, Number(port), pod, world, what);
    },
  );
}

/** The local command line of container `name` of `spec` running as `pod`. */
export async function localCommand(
  spec: PodSpec,
  name: string,
  pod: LocalPod,
  world: LocalWorld,
): Promise<LocalCommand> {
  const c = spec.containers.find((x) => x.name === name);
  if (!c) throw new NacreError('NotFound', `no container ${name} in the pod template`);
  const mounts = await mountMap(c, spec, pod, world);
  const local = (v: string, what: string) => {
    const flag = /^(--[A-Za-z0-9-]+=)(.*)$/.exec(v);
    return flag
      ? flag[1]! + localValue(flag[2]!, pod, world, mounts, what)
      : localValue(v, pod, world, mounts, what);
  };
  const env: Record<string, string> = {};
  for (const v of c.env ?? []) {
    const value = envValue(v, pod, world, env);
    // Literal values may name paths or addresses; the pod's identity and secrets are taken as they are.
    env[v.name] = v.value !== undefined ? local(value, `${name} env ${v.name}`) : value;
  }
  const args = (c.args ?? []).map((a) => local(expand(a, env), `${name} ${a}`));
  const account = spec.automountServiceAccountToken === false ? undefined : spec.serviceAccountName;
  const kubeconfig = account === undefined ? undefined : world.kubeconfigs?.get(account);
  let command: string;
  let prefix: string[];
  const [cmd, ...cmdArgs] = c.command ?? [];
  if (cmd === 'nacre') {
    [command, ...prefix] = world.nacre as [string, ...string[]];
    if (kubeconfig) env['KUBECONFIG'] = kubeconfig;
  } else {
    const binary = world.images?.get(c.image.replace(/:[^:/]*$/, ''));
    if (!binary || cmd !== undefined)
      throw new NacreError(
        'Unsupported',
        `${name}: no local binary for image ${c.image} (command ${cmd ?? 'from the image'})`,
      );
    command = binary;
    prefix = [];
    if (kubeconfig) args.push(`--kubeconfig=${kubeconfig}`);
  }
  const probe = c.readinessProbe?.httpGet;
  let readyUrl: string | undefined;
  if (probe) {
    const port =
      typeof probe.port === 'number'
        ? probe.port
        : c.ports?.find((p) => p.name === probe.port)?.containerPort;
    const localPort = port === undefined ? undefined : pod.ports.get(port);
    if (localPort === undefined)
      throw new NacreError('NotFound', `${name}: probe port ${probe.port} is not a container port`);
    readyUrl = `http://127.0.0.1:${localPort}${probe.path}`;
  }
  return { command, args: [...prefix, ...cmdArgs, ...args], env, ...(readyUrl && { readyUrl }) };
}
