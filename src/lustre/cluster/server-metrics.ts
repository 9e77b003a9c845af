// Prometheus metrics of one server process (MGS, MDS, OSS or FSx API): RPC calls, bytes and latency per method and target, clients, OST space, MDT locks.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { StatTarget } from '../protocol/oss-messages.ts';
import { observeRpcServers } from '../protocol/rpc-server.ts';

const BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
/** Targets and fsnames are short names; anything else from the network is not a label value. */
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export interface ServerMetrics {
  registry: Registry;
  /** Reports the space of an OSS's targets at every scrape. */
  watchOsts(stat: () => Promise<StatTarget[]>): void;
  /** Reports the locks held per MDT at every scrape. */
  watchLocks(count: () => Map<string, number>): void;
  /** The FSx API's request hook. */
  fsxRequest(operation: string, status: number, outcome: string, seconds: number): void;
  /** A change automatic export gave up on (S3RepositoriesOptions.onExportParked). */
  exportParked(associationId: string): void;
  /** Stops observing this process's RPC servers. */
  close(): void;
}

/** A registry labelled with the role and server name, observing every RpcServer of this process. */
export function createServerMetrics(role: string, server: string): ServerMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ role, server });
  collectDefaultMetrics({ register: registry, prefix: 'nacre_server_' });
  const registers = [registry];
  const calls = new Counter({
    name: 'nacre_rpc_calls_total',
    help: 'RPC calls served, by service, method, target (OST or fsname) and outcome (ok or the error code).',
    labelNames: ['service', 'method', 'target', 'outcome'],
    registers,
  });
  const seconds = new Histogram({
    name: 'nacre_rpc_duration_seconds',
    help: 'Time from request to reply, by service, method and target.',
    labelNames: ['service', 'method', 'target'],
    buckets: BUCKETS,
    registers,
  });
  const bytes = new Counter({
    name: 'nacre_rpc_bytes_total',
    help: 'Bulk payload bytes received (in) and sent (out), by service, method and target.',
    labelNames: ['service', 'method', 'target', 'direction'],
    registers,
  });
  const clients = new Gauge({
    name: 'nacre_rpc_connected_clients',
    help: 'Open client connections, by service and transport (tcp or unix).',
    labelNames: ['service', 'transport'],
    registers,
  });
  const rejected = new Counter({
    name: 'nacre_rpc_rejected_total',
    help: 'Connections dropped or calls refused before any handler ran, by service and reason (malformed, auth-failed, unauthenticated, auth-timeout).',
    labelNames: ['service', 'reason'],
    registers,
  });
  // One set of label children per series, so a call costs map lookups rather than label hashing.
  type Series = {
    calls: ReturnType<typeof calls.labels>;
    seconds: ReturnType<typeof seconds.labels>;
    bytesIn: ReturnType<typeof bytes.labels>;
    bytesOut: ReturnType<typeof bytes.labels>;
  };
  const series = new Map<string, Series>();
  const seriesOf = (service: string, method: string, target: string, outcome: string): Series => {
    const key = `${service}\u0000${method}\u0000${target}\u0000${outcome}`;
    let s = series.get(key);
    if (!s) {
      s = {
        calls: calls.labels({ service, method, target, outcome }),
        seconds: seconds.labels({ service, method, target }),
        bytesIn: bytes.labels({ service, method, target, direction: 'in' }),
        bytesOut: bytes.labels({ service, method, target, direction: 'out' }),
      };
      series.set(key, s);
    }
    return s;
  };
  const stopObserving = observeRpcServers({
    call(service, method, args, outcome, s, bytesIn, bytesOut) {
      // Labels come from the network: only calls the server accepted name a method and a target.
      const ok = outcome === 'ok';
      const m = ok || outcome !== 'UnknownMethod' ? method : 'unknown';
      const one = seriesOf(service, m, ok ? targetOf(args) : '', outcome);
      one.calls.inc();
      one.seconds.observe(s);
      if (bytesIn > 0) one.bytesIn.inc(bytesIn);
      if (bytesOut > 0) one.bytesOut.inc(bytesOut);
    },
    connection(service, delta, unix) {
      clients.inc({ service, transport: unix ? 'unix' : 'tcp' }, delta);
    },
    rejected(service, reason) {
      rejected.inc({ service, reason });
    },
  });
  const fsxCalls = new Counter({
    name: 'nacre_fsx_server_requests_total',
    help: 'FSx API requests answered by the emulator, by operation, HTTP status and outcome.',
    labelNames: ['operation', 'status', 'outcome'],
    registers,
  });
  const parked = new Counter({
    name: 'nacre_auto_export_parked_total',
    help: 'Changes automatic export gave up on after its retries, by data repository association (their files stay dirty).',
    labelNames: ['association'],
    registers,
  });
  const fsxSeconds = new Histogram({
    name: 'nacre_fsx_server_request_duration_seconds',
    help: 'FSx API request latency in the emulator, by operation.',
    labelNames: ['operation'],
    buckets: BUCKETS,
    registers,
  });
  return {
    registry,
    watchOsts(stat) {
      const gauge = (name: string, help: string, pick: (t: StatTarget) => number) => {
        let last: Promise<StatTarget[]> | undefined;
        return new Gauge({
          name,
          help,
          labelNames: ['ost'],
          registers,
          async collect() {
            // One statfs round per scrape, shared by the four gauges.
            last ??= stat().finally(() => setImmediate(() => (last = undefined)));
            this.reset();
            for (const t of await last) this.set({ ost: t.target }, pick(t));
          },
        });
      };
      gauge('nacre_ost_capacity_bytes', 'Capacity of each OST.', (t) => t.capacityBytes);
      gauge('nacre_ost_used_bytes', 'Bytes the objects of each OST occupy on disk.', (t) => t.usedBytes);
      gauge('nacre_ost_free_bytes', 'Bytes each OST can still take.', (t) => t.availBytes);
      gauge('nacre_ost_objects', 'Objects stored on each OST.', (t) => t.objects);
    },
    watchLocks(count) {
      new Gauge({
        name: 'nacre_mdt_locks',
        help: 'POSIX and flock locks held on each MDT, by fsname.',
        labelNames: ['fsname'],
        registers,
        collect() {
          this.reset();
          for (const [fsname, n] of count()) this.set({ fsname }, n);
        },
      });
    },
    fsxRequest(operation, status, outcome, s) {
      fsxCalls.inc({ operation, status: String(status), outcome });
      fsxSeconds.observe({ operation }, s);
    },
    exportParked: (association) => parked.inc({ association }),
    close: stopObserving,
  };
}

function targetOf(args: unknown): string {
  if (typeof args !== 'object' || args === null) return '';
  const a = args as { target?: unknown; fsname?: unknown };
  const v = typeof a.target === 'string' ? a.target : a.fsname;
  return typeof v === 'string' && NAME.test(v) ? v : '';
}
