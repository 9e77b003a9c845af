// Server addresses as strings: "host:port" for TCP, "unix:/path/to/socket" for a unix socket.
import type { NetConnectOpts } from 'node:net';
import { ValidationError } from '../../lib/errors.ts';

export function connectOptions(address: string): NetConnectOpts {
  if (address.startsWith('unix:')) return { path: address.slice('unix:'.length) };
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new ValidationError(`bad server address "${address}": want host:port or unix:/path`);
  }
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port };
}

export function formatTcpAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
