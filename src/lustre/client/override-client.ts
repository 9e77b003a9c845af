// A FileSystemClient that answers some calls itself and hands every other call, with all its arguments, to the client it wraps.
import type { FileSystemClient } from '../types.ts';

/**
 * `client` with the calls in `overrides` replaced; every other property is `client`'s own
 * (methods bound to it), so a call not overridden reaches it with all its arguments untouched.
 */
export function overrideClient(
  client: FileSystemClient,
  overrides: Partial<FileSystemClient>,
): FileSystemClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const own = overrides[prop as keyof FileSystemClient];
      if (own) return own;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
