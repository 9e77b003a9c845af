// The CSI spec's csi.proto loaded for @grpc/grpc-js, and the TypeScript types generated from it (proto/gen).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import type { ControllerHandlers } from '../../proto/gen/csi/v1/Controller.ts';
import type { IdentityHandlers } from '../../proto/gen/csi/v1/Identity.ts';
import type { NodeHandlers } from '../../proto/gen/csi/v1/Node.ts';
import type { ProtoGrpcType } from '../../proto/gen/csi.ts';
import { NacreError } from '../lib/errors.ts';

export type { CapacityRange__Output as CapacityRange } from '../../proto/gen/csi/v1/CapacityRange.ts';
export type { Snapshot } from '../../proto/gen/csi/v1/Snapshot.ts';
export type { Topology } from '../../proto/gen/csi/v1/Topology.ts';
export type { Volume } from '../../proto/gen/csi/v1/Volume.ts';
export type { VolumeCapability__Output as VolumeCapability } from '../../proto/gen/csi/v1/VolumeCapability.ts';

/** The file scripts/fetch-csi-proto.sh takes from the CSI spec Go module. */
export const CSI_PROTO_PATH = fileURLToPath(new URL('../../proto/csi.proto', import.meta.url));

/** The options the types in proto/gen were generated with (scripts/fetch-csi-proto.sh): keep them in step. */
const LOAD_OPTIONS: Options = { longs: String, enums: String, defaults: true, oneofs: true };

let loaded: ProtoGrpcType['csi']['v1'] | undefined;

/** The csi.v1 package: service definitions and message types. Loaded once. */
export function csiPackage(): ProtoGrpcType['csi']['v1'] {
  if (loaded) return loaded;
  if (!existsSync(CSI_PROTO_PATH)) {
    throw new NacreError(
      'CsiProtoMissing',
      `${CSI_PROTO_PATH} is missing: run \`npm run proto\` (it fetches csi.proto from the CSI spec Go module)`,
    );
  }
  const def = loadSync(CSI_PROTO_PATH, LOAD_OPTIONS);
  loaded = (grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType).csi.v1;
  return loaded;
}

/** The method names of a generated handler interface, without grpc-js's string index signature. */
type MethodNames<H> = keyof { [K in keyof H as string extends K ? never : K]: H[K] };

/** Per-call context a CSI method implementation gets. */
export interface CallContext {
  /** Aborts when the client cancels the call, its deadline passes, or the server stops. */
  signal: AbortSignal;
}

/** A generated grpc-js handler interface, as async functions: return the response or throw. */
export type AsyncService<H> = {
  [K in MethodNames<H>]: H[K] extends grpc.handleUnaryCall<infer Req, infer Res>
    ? (req: Req, ctx: CallContext) => Promise<Res>
    : never;
};

export type IdentityService = AsyncService<IdentityHandlers>;
/** Methods left out are answered UNIMPLEMENTED. */
export type ControllerService = Partial<AsyncService<ControllerHandlers>>;
/** Methods left out are answered UNIMPLEMENTED. */
export type NodeService = Partial<AsyncService<NodeHandlers>>;

/** The request type of one method of a service. */
export type RequestOf<S, K extends keyof S> = S[K] extends
  | ((req: infer R, ctx: CallContext) => unknown)
  | undefined
  ? R
  : never;
/** The response type of one method of a service. */
export type ResponseOf<S, K extends keyof S> = S[K] extends
  | ((req: never, ctx: CallContext) => Promise<infer R>)
  | undefined
  ? R
  : never;
