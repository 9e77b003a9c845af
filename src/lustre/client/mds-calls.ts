// The calls of the Lustre-like client that the MDS alone answers: namespace changes, directories, xattrs, projects, quotas, striping policies.
import type { MdsMethods } from '../protocol/mds-messages.ts';
import type { RequestKey } from '../protocol/request-key.ts';
import type {
  Attr,
  Credentials,
  DirEntry,
  LayoutPolicy,
  QuotaInfo,
  QuotaLimits,
  RequestOptions,
} from '../types.ts';
import type { InodeCache } from './inode-cache.ts';
import type { MdsSession } from './mds-session.ts';

/**
 * The MDS calls LustreClient inherits: each is one MDS call (a mutation is sent exactly once,
 * resends keyed by the kernel's request id on keeper-held mounts) and touches no OST.
 */
export class MdsCalls {
  /** The MDS session, for calls outside the FileSystemClient port (lfs hsm_*, the HSM agent). */
  readonly mds: MdsSession;
  readonly #inodes: InodeCache;
  readonly #mountId: string | undefined;

  constructor(mds: MdsSession, inodes: InodeCache, mountId: string | undefined) {
    this.mds = mds;
    this.#inodes = inodes;
    this.#mountId = mountId;
  }

  async lookup(cred: Credentials, parent: number, name: string, signal?: AbortSignal): Promise<Attr> {
    return this.noted(await this.mds.call('lookup', { cred, parent, name }, signal));
  }

  /** lookup, asking for a PR UPDATE lock on the inode with the reply (`updateLock`: its id, when granted). */
  async lookupLocked(cred: Credentials, parent: number, name: string, signal?: AbortSignal) {
    const r = await this.mds.call('lookup', { cred, parent, name, lockUpdate: true }, signal);
    const { updateLock, ...attr } = r;
    return { attr: this.noted(attr), updateLock };
  }

  mknod(
    cred: Credentials,
    parent: number,
    name: string,
    mode: number,
    rdev: number,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ) {
    return this.mds.mutate('mknod', { cred, parent, name, mode, rdev, ...this.key(opts) }, signal);
  }

  mkdir(
    cred: Credentials,
    parent: number,
    name: string,
    mode: number,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ) {
    return this.mds.mutate('mkdir', { cred, parent, name, mode, ...this.key(opts) }, signal);
  }

  async unlink(cred: Credentials, parent: number, name: string, signal?: AbortSignal, opts?: RequestOptions) {
    await this.mds.mutate('unlink', { cred, parent, name, ...this.key(opts) }, signal);
  }

  async rmdir(cred: Credentials, parent: number, name: string, signal?: AbortSignal, opts?: RequestOptions) {
    await this.mds.mutate('rmdir', { cred, parent, name, ...this.key(opts) }, signal);
  }

  async rename(
    cred: Credentials,
    parent: number,
    name: string,
    newParent: number,
    newName: string,
    flags: number,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<void> {
    const args = { cred, parent, name, newParent, newName, flags, ...this.key(opts) };
    await this.mds.mutate('rename', args, signal);
  }

  link(
    cred: Credentials,
    ino: number,
    newParent: number,
    newName: string,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ) {
    return this.mds.mutate('link', { cred, ino, newParent, newName, ...this.key(opts) }, signal);
  }

  symlink(
    cred: Credentials,
    parent: number,
    name: string,
    target: string,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ) {
    return this.mds.mutate('symlink', { cred, parent, name, target, ...this.key(opts) }, signal);
  }

  readlink(ino: number, signal?: AbortSignal): Promise<string> {
    return this.mds.call('readlink', { ino }, signal);
  }

  async readdir(
    cred: Credentials,
    ino: number,
    cookie: number,
    limit: number,
    plus: boolean,
    signal?: AbortSignal,
  ): Promise<DirEntry[]> {
    const entries = await this.mds.call('readdir', { cred, ino, cookie, limit, plus }, signal);
    for (const e of entries) if (e.attr) this.#inodes.noteAttr(e.attr);
    return entries;
  }

  /** readdirplus, asking for PR UPDATE locks on the entries' inodes with the reply (`updateLock` per entry). */
  async readdirLocked(cred: Credentials, ino: number, cookie: number, limit: number, signal?: AbortSignal) {
    const args = { cred, ino, cookie, limit, plus: true, lockUpdate: true };
    const entries = await this.mds.call('readdir', args, signal);
    for (const e of entries) if (e.attr) this.#inodes.noteAttr(e.attr);
    return entries;
  }

  async getxattr(cred: Credentials, ino: number, name: string, signal?: AbortSignal): Promise<Buffer> {
    return Buffer.from(await this.mds.call('getxattr', { cred, ino, name }, signal), 'base64');
  }

  async setxattr(
    cred: Credentials,
    ino: number,
    name: string,
    value: Buffer,
    flags: number,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ): Promise<void> {
    const args = { cred, ino, name, value: value.toString('base64'), flags, ...this.key(opts) };
    await this.mds.mutate('setxattr', args, signal);
  }

  listxattr(cred: Credentials, ino: number, signal?: AbortSignal): Promise<string[]> {
    return this.mds.call('listxattr', { cred, ino }, signal);
  }

  async removexattr(
    cred: Credentials,
    ino: number,
    name: string,
    signal?: AbortSignal,
    opts?: RequestOptions,
  ) {
    await this.mds.mutate('removexattr', { cred, ino, name, ...this.key(opts) }, signal);
  }

  // --- project quotas (lfs project, setquota, quota) --------------------------------------------------

  /** Sets an inode's project ID; `inherit` (directories) passes it to new children. Changing the ID takes root. */
  async setProject(
    cred: Credentials,
    ino: number,
    projectId: number,
    inherit: boolean,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.mds.mutate('setProject', { cred, ino, projectId, inherit }, signal);
  }

  getProject(ino: number, signal?: AbortSignal): Promise<{ projectId: number; inherit: boolean }> {
    return this.mds.call('getProject', { ino }, signal);
  }

  /** Hard limits of a project (0 = no limit), enforced by the MDS with EDQUOT. */
  async setQuota(projectId: number, limits: QuotaLimits, signal?: AbortSignal): Promise<void> {
    await this.mds.mutate('setQuota', { projectId, ...limits }, signal);
  }

  getQuota(projectId: number, signal?: AbortSignal): Promise<QuotaInfo> {
    return this.mds.call('getQuota', { projectId }, signal);
  }

  /** lfs getstripe: a file's layout, or a directory's default policy. */
  getstripe(ino: number, signal?: AbortSignal): Promise<MdsMethods['getstripe']['result']> {
    return this.mds.call('getstripe', { ino }, signal);
  }

  /** lfs setstripe on a directory (default for new files) or an empty file. */
  async setstripe(cred: Credentials, ino: number, policy: LayoutPolicy, signal?: AbortSignal): Promise<void> {
    await this.mds.mutate('setstripe', { cred, ino, policy }, signal);
    const st = this.#inodes.peek(ino);
    if (st) st.layout = undefined;
  }

  /** The reply-cache key of a kernel request on a keeper-held mount (else none: the xid alone). */
  protected key(opts: RequestOptions | undefined): { key?: RequestKey } {
    return this.#mountId && opts?.request ? { key: { mount: this.#mountId, request: opts.request } } : {};
  }

  /** Notes `attr` in the inode cache (sizes the client tracks) and returns it. */
  protected noted(attr: Attr): Attr {
    this.#inodes.noteAttr(attr);
    return attr;
  }
}
