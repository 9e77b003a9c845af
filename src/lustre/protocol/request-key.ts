// The identity of a kernel request across FUSE daemons: a keeper-held mount's id and the request's FUSE unique, which a resend keeps.

/** A keeper-held mount's stable id (kept by its keeper for every daemon it starts) and the kernel's id of one request on it. */
export interface RequestKey {
  mount: string;
  request: number;
}
