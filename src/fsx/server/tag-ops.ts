// The tagging operations of the FSx API: TagResource, UntagResource, ListTagsForResource on file systems and backups.

import type { ApiContext } from './context.ts';
import { checkTagKeys } from './file-systems/file-systems.ts';
import { FsxApiError, serviceLimit } from './http/api-error.ts';
import { Input, RULES, readTags, type Tag } from './http/input.ts';
import { paginate } from './http/pagination.ts';
import { parseArn } from './ids.ts';

type Body = Record<string, unknown>;

const MAX_TAGS = 50;
/** Resource types FSx can tag; the emulator has only file systems and backups of them. */
const TAGGABLE = new Set([
  'file-system',
  'backup',
  'volume',
  'snapshot',
  'storage-virtual-machine',
  'association',
  'task',
  'file-cache',
]);

function notFound(arn: string): FsxApiError {
  return new FsxApiError('ResourceNotFound', `The resource ARN '${arn}' does not exist.`, {
    fields: { ResourceARN: arn },
  });
}

/** The tag list of the resource `arn` names (the live array, to mutate). */
function tagsOf(ctx: ApiContext, arn: string): Tag[] {
  const a = parseArn(arn);
  if (a?.service !== 'fsx')
    throw new FsxApiError(
      'NotServiceResourceError',
      `The resource ARN '${arn}' is not an Amazon FSx resource.`,
      {
        fields: { ResourceARN: arn },
      },
    );
  if (!TAGGABLE.has(a.type))
    throw new FsxApiError(
      'ResourceDoesNotSupportTagging',
      `The resource '${arn}' does not support tagging.`,
      {
        fields: { ResourceARN: arn },
      },
    );
  if (a.region !== ctx.region || a.account !== ctx.accountId) throw notFound(arn);
  if (a.type === 'file-system') {
    const fs = ctx.store.state.fileSystems[a.id]?.fs;
    if (fs?.ResourceARN === arn) return fs.Tags;
  }
  if (a.type === 'backup') {
    const b = ctx.store.state.backups[a.id]?.backup;
    if (b?.ResourceARN === arn) return b.Tags;
  }
  throw notFound(arn);
}

export async function tagResource(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const arn = input.str('ResourceARN', { required: true, ...RULES.resourceArn })!;
  const add = readTags(input, 'Tags', true)!;
  checkTagKeys(add);
  const tags = tagsOf(ctx, arn);
  const merged = new Map(tags.map((t) => [t.Key, t.Value]));
  for (const t of add) merged.set(t.Key, t.Value);
  if (merged.size > MAX_TAGS)
    throw serviceLimit(
      'TOTAL_USER_TAGS',
      `A resource can have at most ${MAX_TAGS} tags; this request would give it ${merged.size}.`,
    );
  tags.splice(0, tags.length, ...[...merged].map(([Key, Value]) => ({ Key, Value })));
  await ctx.store.commit();
  return {};
}

export async function untagResource(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const arn = input.str('ResourceARN', { required: true, ...RULES.resourceArn })!;
  const keys = new Set(input.strList('TagKeys', { required: true, minItems: 1, maxItems: 50 }, RULES.tagKey));
  const tags = tagsOf(ctx, arn);
  tags.splice(0, tags.length, ...tags.filter((t) => !keys.has(t.Key)));
  await ctx.store.commit();
  return {};
}

export async function listTagsForResource(ctx: ApiContext, body: Body): Promise<unknown> {
  const input = new Input(body);
  const arn = input.str('ResourceARN', { required: true, ...RULES.resourceArn })!;
  const max = input.int('MaxResults', { min: 1, max: 2_147_483_647 });
  const token = input.str('NextToken', RULES.nextToken);
  const tags = [...tagsOf(ctx, arn)].sort((a, b) => (a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0));
  const { page, nextToken } = paginate(tags, (t) => t.Key, max, token);
  return { Tags: page, ...(nextToken ? { NextToken: nextToken } : {}) };
}
