// The mount holder's wire protocol: one JSON request line and one JSON reply line per unix-socket connection.
import type { KeeperState } from '../../lustre/fuse/keeper.ts';

/** Ask the holder to start a keeper for one mount (the node plugin's NodeStage). */
export interface KeeperRequest {
  /** `<dnsName>@tcp:/<mountName>` */
  source: string;
  /** The staging path: an existing directory under one of the holder's allowed roots. */
  target: string;
  /** `<state dir>/keepers/<hash>.json`, `<state dir>/logs/<hash>.log` — the holder's state dir. */
  stateFile: string;
  logFile: string;
  /** The StorageClass's mount options (validated as the plugin validates them). */
  options: string[];
}

/** A keeper's published state with whether its processes live and are stopped (absent from an older holder), as the holder sees them. */
export type KeeperStatus = KeeperState & {
  keeperAlive: boolean;
  daemonAlive: boolean;
  keeperStopped?: boolean;
  daemonStopped?: boolean;
};

/** What the node plugin's FuseMounter needs of a holder (HolderClient implements it over the socket). */
export interface KeeperHolder {
  /** 'ready' once the keeper mounted, else how it ended (e.g. 'keeper exited 1'). */
  start(req: KeeperRequest, timeoutMs: number, signal: AbortSignal): Promise<string>;
  status(stateFile: string, signal: AbortSignal): Promise<KeeperStatus | undefined>;
}

export const HOLDER_PROTOCOL_VERSION = 1;

export type HolderRequest =
  | ({ v: number; op: 'start'; timeoutMs: number } & KeeperRequest)
  | { v: number; op: 'status'; stateFile: string };

export type HolderReply =
  | { ok: true; outcome: string }
  | { ok: true; status: KeeperStatus | null }
  | { ok: false; code: string; message: string };

/** A request line longer than this is refused (and the connection closed). */
export const MAX_LINE_BYTES = 64 * 1024;
