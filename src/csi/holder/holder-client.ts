// The node plugin's side of the mount holder: start a keeper and read its liveness over the holder's unix socket, each call with a deadline.
import { connect } from 'node:net';
import { DeadlineExceededError, errorFromCode, NacreError, UnavailableError } from '../../lib/errors.ts';
import { CsiError, type CsiErrorCode } from '../csi-error.ts';
import {
  HOLDER_PROTOCOL_VERSION,
  type HolderReply,
  type KeeperHolder,
  type KeeperRequest,
  type KeeperStatus,
  MAX_LINE_BYTES,
} from './holder-protocol.ts';

/** Deadline of a status call. */
const STATUS_TIMEOUT_MS = 5_000;
/** A start waits for the keeper's own deadline plus this, so the holder's answer arrives first. */
const START_MARGIN_MS = 5_000;

const CSI_CODES = new Set<string>([
  'InvalidArgument',
  'NotFound',
  'AlreadyExists',
  'Aborted',
  'OutOfRange',
  'FailedPrecondition',
  'ResourceExhausted',
  'Internal',
]);

/**
 * The holder's refusal as the error class its code names, so the node plugin answers the kubelet
 * with the gRPC status it means (InvalidArgument, DeadlineExceeded, Unavailable, an errno's).
 */
export function holderError(code: string, message: string): NacreError {
  const text = `mount holder: ${message}`;
  if (CSI_CODES.has(code)) return new CsiError(code as CsiErrorCode, text);
  return errorFromCode(code, text);
}

export class HolderClient implements KeeperHolder {
  readonly socket: string;
  private readonly statusTimeoutMs: number;

  constructor(socket: string, opts: { statusTimeoutMs?: number } = {}) {
    this.socket = socket;
    this.statusTimeoutMs = opts.statusTimeoutMs ?? STATUS_TIMEOUT_MS;
  }

  async start(req: KeeperRequest, timeoutMs: number, signal: AbortSignal): Promise<string> {
    const reply = await this.call(
      { v: HOLDER_PROTOCOL_VERSION, op: 'start', timeoutMs, ...req },
      timeoutMs + START_MARGIN_MS,
      signal,
    );
    if (!('outcome' in reply))
      throw new NacreError('HolderProtocol', `the mount holder answered start without an outcome`);
    return reply.outcome;
  }

  async status(stateFile: string, signal: AbortSignal): Promise<KeeperStatus | undefined> {
    const reply = await this.call(
      { v: HOLDER_PROTOCOL_VERSION, op: 'status', stateFile },
      this.statusTimeoutMs,
      signal,
    );
    if (!('status' in reply))
      throw new NacreError('HolderProtocol', `the mount holder answered status without a status`);
    return reply.status ?? undefined;
  }

  /** One request line, one reply line; rejects with the holder's own error, UnavailableError or DeadlineExceededError. */
  call(request: object, timeoutMs: number, signal: AbortSignal): Promise<HolderReply> {
    const op = (request as { op?: unknown }).op;
    return new Promise((resolve, reject) => {
      const sock = connect({ path: this.socket });
      let buf = '';
      let settled = false;
      const finish = (err: Error | undefined, reply?: HolderReply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        sock.destroy();
        if (err) reject(err);
        else resolve(reply!);
      };
      const timer = setTimeout(
        () =>
          finish(
            new DeadlineExceededError(
              `the mount holder at ${this.socket} did not answer ${String(op)} within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      const onAbort = () =>
        finish(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.write(`${JSON.stringify(request)}\n`));
      sock.on('data', (chunk: string) => {
        buf += chunk;
        if (buf.length > MAX_LINE_BYTES)
          return finish(new NacreError('HolderProtocol', 'the mount holder sent an over-long reply'));
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        let reply: HolderReply;
        try {
          reply = JSON.parse(buf.slice(0, nl)) as HolderReply;
        } catch {
          return finish(
            new NacreError('HolderProtocol', `the mount holder sent a malformed reply: ${buf.slice(0, 200)}`),
          );
        }
        if (reply.ok) finish(undefined, reply);
        else finish(holderError(reply.code, reply.message));
      });
      sock.on('error', (err: NodeJS.ErrnoException) =>
        finish(
          new UnavailableError(
            `the mount holder at ${this.socket} is not reachable (${err.code ?? err.message}): is nacre mount-holder (the chart's mounter DaemonSet) running on this node?`,
            { cause: err },
          ),
        ),
      );
      sock.on('end', () =>
        finish(
          new UnavailableError(
            `the mount holder at ${this.socket} closed the connection without answering ${String(op)}`,
          ),
        ),
      );
    });
  }
}
