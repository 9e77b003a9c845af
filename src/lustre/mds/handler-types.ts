// What every MDS RPC handler receives: the arguments, the caller attached to its MDT, and a signal.
import type { Args } from '../protocol/args.ts';
import type { MdsMethod, MdsMethods } from '../protocol/mds-messages.ts';
import type { Caller, Mdt } from './mdt.ts';

/** Where a session keeps the caller `connect` attached to it. */
export const SESSION_KEY = 'mds';

/** The reply of operations that return nothing. */
export const nil = (_done: unknown): null => null;

/** A session's caller once `connect` has attached it to an MDT. */
export interface Attached extends Caller {
  mdt: Mdt;
}

/** The implementation of one MdsMethods RPC. */
export type Impl<M extends MdsMethod> = (
  a: Args,
  c: Attached,
  signal: AbortSignal,
) => Promise<MdsMethods[M]['result']>;
