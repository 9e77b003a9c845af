// Lustre's mount source spelling, "<mgs nid>[:port]@tcp:/<fsname>", parsed once for `nacre mount` and the CSI node.
import { ValidationError } from '../lib/errors.ts';

/** The port an MGS listens on when a source names none (Lustre's acceptor port is 988). */
export const DEFAULT_MGS_PORT = 988;

export interface MountSource {
  /** host:port of the MGS. */
  mgsAddress: string;
  fsname: string;
}

const sourcePattern =
  /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?(?:@tcp\d*)?:\/([A-Za-z0-9_-]{1,64})\/?$/;

export function parseMountSource(text: string): MountSource {
  const m = sourcePattern.exec(text.trim());
  const port = m?.[2] === undefined ? DEFAULT_MGS_PORT : Number(m[2]);
  if (!m || port < 1 || port > 65535) {
    throw new ValidationError(
      `bad mount source "${text}": want <mgs-host>[:port]@tcp:/<fsname>, e.g. 127.0.0.1:10988@tcp:/nacre`,
    );
  }
  return { mgsAddress: `${m[1]}:${port}`, fsname: m[3]! };
}

export function formatMountSource(src: MountSource): string {
  return `${src.mgsAddress}@tcp:/${src.fsname}`;
}
