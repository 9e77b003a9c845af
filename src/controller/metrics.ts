// The operator's Prometheus metrics: reconciles, errors, FSx API calls and latency, work-queue depth, leadership.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface ControllerMetrics {
  registry: Registry;
  reconciles: Counter<'kind' | 'result'>;
  reconcileErrors: Counter<'kind' | 'code'>;
  reconcileSeconds: Histogram<'kind'>;
  fsxCalls: Counter<'backend' | 'operation' | 'outcome'>;
  fsxCallSeconds: Histogram<'backend' | 'operation'>;
  queueDepth: Gauge<'kind'>;
  queueRetries: Counter<'kind'>;
  leader: Gauge;
}

/** A fresh registry with every metric (one per controller instance, so several can run in one process). */
export function createMetrics(opts: { defaultMetrics?: boolean } = {}): ControllerMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: 'nacre_controller_process_' });
  const registers = [registry];
  return {
    registry,
    reconciles: new Counter({
      name: 'nacre_controller_reconcile_total',
      help: 'Reconciles by kind and result (success, requeue, error).',
      labelNames: ['kind', 'result'],
      registers,
    }),
    reconcileErrors: new Counter({
      name: 'nacre_controller_reconcile_errors_total',
      help: 'Failed reconciles by kind and error code.',
      labelNames: ['kind', 'code'],
      registers,
    }),
    reconcileSeconds: new Histogram({
      name: 'nacre_controller_reconcile_duration_seconds',
      help: 'Time spent in one reconcile.',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    fsxCalls: new Counter({
      name: 'nacre_fsx_api_calls_total',
      help: 'FSx API calls by backend, operation and outcome (Success or an error code).',
      labelNames: ['backend', 'operation', 'outcome'],
      registers,
    }),
    fsxCallSeconds: new Histogram({
      name: 'nacre_fsx_api_call_duration_seconds',
      help: 'FSx API call latency.',
      labelNames: ['backend', 'operation'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'nacre_controller_workqueue_depth',
      help: 'Keys waiting in the work queue.',
      labelNames: ['kind'],
      registers,
    }),
    queueRetries: new Counter({
      name: 'nacre_controller_workqueue_retries_total',
      help: 'Keys re-added with backoff after a failed reconcile.',
      labelNames: ['kind'],
      registers,
    }),
    leader: new Gauge({
      name: 'nacre_controller_leader',
      help: '1 while this replica holds the leader lease.',
      registers,
    }),
  };
}
