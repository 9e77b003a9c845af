// Names as bytes: Linux allows any byte but "/" and NUL in a name; one that is not UTF-8 travels as "/" and its bytes in hex.

/** Whether `name` is the "/"-and-hex form of a name that is not UTF-8 ("/" cannot be part of a real name). */
export function isByteName(name: string): boolean {
  return name.startsWith('/');
}

/** A name's bytes as the kernel sent them → the string the file system stores (UTF-8 text when it is UTF-8). */
export function nameFromBytes(bytes: Buffer): string {
  if (Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes)) return bytes.toString('utf8');
  return `/${bytes.toString('hex')}`;
}

/** The bytes the kernel gets back for a stored name. */
export function nameToBytes(name: string): Buffer {
  return isByteName(name) ? Buffer.from(name.slice(1), 'hex') : Buffer.from(name, 'utf8');
}

/**
 * Checks the "/"-and-hex form: EINVAL unless it is lower-case hex of bytes that contain neither
 * "/" nor NUL and are not UTF-8 (so every name has exactly one form). Returns the byte length.
 */
export function byteNameLength(name: string): number | 'invalid' {
  if (!/^\/(?:[0-9a-f]{2})+$/.test(name)) return 'invalid';
  const bytes = Buffer.from(name.slice(1), 'hex');
  if (bytes.includes(0) || bytes.includes(0x2f) || nameFromBytes(bytes) !== name) return 'invalid';
  return bytes.length;
}
