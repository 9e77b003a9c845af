// The kube calls each component really made (from the API server's audit log) and whether a chart's rendered RBAC grants each one: who, verb, resource, namespace.
import { readFile } from 'node:fs/promises';
import type { KubeObject } from './helm.ts';

/** One API request as the audit log records it. */
export interface ApiCall {
  /** e.g. system:serviceaccount:nacre-system:nacre-controller */
  user: string;
  userAgent: string;
  verb: string;
  group: string;
  /** resource, or resource/subresource */
  resource: string;
  /** Absent for cluster-scoped requests and for lists and watches across all namespaces. */
  namespace?: string;
  name?: string;
  code: number;
}

interface AuditEvent {
  stage?: string;
  verb?: string;
  user?: { username?: string };
  userAgent?: string;
  objectRef?: {
    apiGroup?: string;
    resource?: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  };
  responseStatus?: { code?: number };
}

/** The resource requests in an audit log (JSON lines), one per completed (or started, for watches) request. */
export async function auditCalls(path: string): Promise<ApiCall[]> {
  const out: ApiCall[] = [];
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    if (!line.trim()) continue;
    const e = JSON.parse(line) as AuditEvent;
    const ref = e.objectRef;
    if (!ref?.resource || (e.stage !== 'ResponseComplete' && e.stage !== 'ResponseStarted')) continue;
    out.push({
      user: e.user?.username ?? '',
      userAgent: e.userAgent ?? '',
      verb: e.verb ?? '',
      group: ref.apiGroup ?? '',
      resource: ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource,
      ...(ref.namespace !== undefined && { namespace: ref.namespace }),
      ...(ref.name !== undefined && { name: ref.name }),
      code: e.responseStatus?.code ?? 0,
    });
  }
  return out;
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

/** A rule of a rendered Role or ClusterRole, with where it applies: a namespace, or everywhere. */
export interface ScopedRule {
  role: string;
  /** undefined: cluster-wide (a ClusterRole bound by a ClusterRoleBinding). */
  namespace?: string;
  rule: Rule;
}

const anyOf = (list: string[] | undefined, v: string) => (list ?? []).some((x) => x === v || x === '*');

/** The rules `manifests` bind to ServiceAccount `namespace/account`, each with its scope. */
export function accountRules(manifests: KubeObject[], namespace: string, account: string): ScopedRule[] {
  const out: ScopedRule[] = [];
  const role = (kind: string, name: string, ns?: string) =>
    manifests.find(
      (o) => o.kind === kind && o.metadata.name === name && (ns === undefined || o.metadata.namespace === ns),
    );
  for (const b of manifests) {
    if (b.kind !== 'RoleBinding' && b.kind !== 'ClusterRoleBinding') continue;
    const subjects = (b['subjects'] ?? []) as { kind: string; name: string; namespace?: string }[];
    if (!subjects.some((s) => s.kind === 'ServiceAccount' && s.name === account && s.namespace === namespace))
      continue;
    const ref = b['roleRef'] as { kind: string; name: string };
    const scope = b.kind === 'RoleBinding' ? b.metadata.namespace : undefined;
    const r = role(ref.kind, ref.name, ref.kind === 'Role' ? scope : undefined);
    for (const rule of (r?.['rules'] ?? []) as Rule[])
      out.push({ role: `${ref.kind}/${ref.name}`, ...(scope !== undefined && { namespace: scope }), rule });
  }
  return out;
}

/** The rules that grant `call` (none: the API server would refuse it). */
export function grantingRules(rules: ScopedRule[], call: ApiCall): ScopedRule[] {
  return rules.filter(
    ({ namespace, rule }) =>
      (namespace === undefined || namespace === call.namespace) &&
      anyOf(rule.apiGroups, call.group) &&
      anyOf(rule.resources, call.resource) &&
      anyOf(rule.verbs, call.verb) &&
      (!rule.resourceNames?.length || (call.name !== undefined && rule.resourceNames.includes(call.name))),
  );
}

/** "Role/x: group/resource:verb" for every combination the rules grant. */
export function grantsOf(
  rules: ScopedRule[],
): { key: string; scoped: ScopedRule; resource: string; verb: string; group: string }[] {
  const out = [];
  for (const scoped of rules)
    for (const group of scoped.rule.apiGroups ?? [])
      for (const resource of scoped.rule.resources ?? [])
        for (const verb of scoped.rule.verbs ?? [])
          out.push({ key: `${scoped.role}: ${group}/${resource}:${verb}`, scoped, resource, verb, group });
  return out;
}

/** "verb group/resource in ns" for messages. */
export const describeCall = (c: ApiCall): string =>
  `${c.verb} ${c.group ? `${c.group}/` : ''}${c.resource}${c.name ? ` ${c.name}` : ''} ${c.namespace ? `in ${c.namespace}` : 'cluster-wide'} (${c.userAgent.split(' ')[0]}, ${c.code})`;

const SIDECAR_AGENT = /^csi-(provisioner|resizer|snapshotter)\b/;

/**
 * What is wrong between the calls the release's ServiceAccounts made and the RBAC the chart
 * rendered for them: a call refused or not granted (something missing), and for Nacre's own
 * process (not the CSI sidecars, whose rules follow upstream) a grant of `ownRoles` no call used,
 * or a cluster-wide grant used only inside the install's namespace (something extra).
 */
export function rbacFindings(
  calls: ApiCall[],
  manifests: KubeObject[],
  namespace: string,
  ownRoles: string[],
  /** Grants (as grantsOf keys) the scenario does not exercise, each with where it is tested. */
  notExercised: Record<string, string> = {},
): string[] {
  const problems: string[] = [];
  const prefix = `system:serviceaccount:${namespace}:`;
  const accounts = manifests.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name);
  const used = new Map<string, boolean>();
  for (const account of accounts) {
    const rules = accountRules(manifests, namespace, account);
    for (const call of calls.filter((c) => c.user === prefix + account)) {
      const granted = grantingRules(rules, call);
      if (call.code === 403) problems.push(`${account} was refused: ${describeCall(call)}`);
      else if (granted.length === 0)
        problems.push(`${account} made a call the chart does not grant: ${describeCall(call)}`);
      if (SIDECAR_AGENT.test(call.userAgent)) continue;
      for (const g of grantsOf(granted)) {
        if (g.verb !== call.verb || g.resource !== call.resource || g.group !== call.group) continue;
        const outside = call.namespace === undefined || call.namespace !== namespace;
        used.set(g.key, (used.get(g.key) ?? false) || g.scoped.namespace !== undefined || outside);
      }
    }
    for (const g of grantsOf(rules.filter((r) => ownRoles.includes(r.role)))) {
      const u = used.get(g.key);
      if (u === undefined && g.key in notExercised) continue;
      if (u === undefined) problems.push(`${account} is granted what no call used: ${g.key}`);
      else if (!u)
        problems.push(`${account} is granted cluster-wide what it used only in ${namespace}: ${g.key}`);
    }
  }
  return problems;
}

/** The distinct calls of the release's ServiceAccounts, one line each: agent, verb, resource, scope. */
export function callSummary(calls: ApiCall[], namespace: string): string[] {
  const prefix = `system:serviceaccount:${namespace}:`;
  const lines = calls
    .filter((c) => c.user.startsWith(prefix))
    .map((c) => {
      const scope =
        c.namespace === undefined ? 'cluster' : c.namespace === namespace ? 'install ns' : 'other ns';
      const who = `${c.user.slice(prefix.length)} ${c.userAgent.split('/')[0]}`;
      return `${who}: ${c.verb} ${c.group ? `${c.group}/` : ''}${c.resource} (${scope})`;
    });
  return [...new Set(lines)].sort();
}
