// Structured logging: one winston logger per component, readable on a terminal, JSON in clusters, secrets redacted.
import winston from 'winston';

export type LogFormat = 'text' | 'json';
export type Logger = winston.Logger;

const secretKey = /secret|password|token|authorization|credential|signature/i;

/** Replaces the values of secret-looking keys, at any depth, before a record is written. */
function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = secretKey.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key !== 'message' && key !== 'level' && secretKey.test(key)) info[key] = '[redacted]';
    else if (key !== 'message' && key !== 'level') info[key] = redact(info[key]);
  }
  return info;
});

const root: winston.Logger = winston.createLogger({ level: 'warn' });

/**
 * Configures the process's root logger, from cmd/ (again to change it). `debug` is a comma-separated list of
 * components whose debug records are written (like Lustre's debug mask); `all` enables every one.
 */
export function configureLogging(opts: { level?: string; format?: LogFormat; debug?: string }): void {
  const debugComponents = new Set((opts.debug ?? '').split(',').filter(Boolean));
  const debugFilter = winston.format((info) => {
    if (info.level !== 'debug') return info;
    const c = typeof info['component'] === 'string' ? info['component'] : '';
    return debugComponents.has('all') || debugComponents.has(c) ? info : false;
  });
  const format =
    opts.format === 'json'
      ? winston.format.combine(
          debugFilter(),
          redactFormat(),
          winston.format.timestamp(),
          winston.format.json(),
        )
      : winston.format.combine(
          debugFilter(),
          redactFormat(),
          winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
          winston.format.printf(({ timestamp, level, message, component, ...rest }) => {
            const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
            return `${String(timestamp)} ${level.padEnd(5)} ${component ? `[${String(component)}] ` : ''}${String(message)}${extra}`;
          }),
        );
  // Reconfigured in place: children made earlier (module-level loggers) inherit from the root.
  root.configure({
    level: debugComponents.size > 0 ? 'debug' : (opts.level ?? 'info'),
    format,
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}

/**
 * A logger for one component (`{ component: 'mds' }`). It may be made at module load: it follows
 * configureLogging whenever that runs. Until then only warnings and errors are written.
 */
export function logger(component: string, fields: Record<string, unknown> = {}): Logger {
  return root.child({ component, ...fields });
}

configureLogging({ level: 'warn' });
