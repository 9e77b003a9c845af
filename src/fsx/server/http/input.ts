// Reading request members from the network: JSON types, then the API model's constraints (required, length, pattern, range, enum).
import { serializationError, validationError } from './api-error.ts';

export interface StringRule {
  required?: boolean;
  min?: number;
  max?: number;
  pattern?: RegExp;
  oneOf?: readonly string[];
}

export interface IntRule {
  required?: boolean;
  min?: number;
  max?: number;
}

export interface ListRule {
  required?: boolean;
  minItems?: number;
  maxItems?: number;
}

/** AWS names members in validation messages in lowerCamelCase ("lustreConfiguration.deploymentType"). */
function memberPath(parent: string, key: string): string {
  const name = key.charAt(0).toLowerCase() + key.slice(1);
  return parent ? `${parent}.${name}` : name;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * One JSON object of a request. Every accessor returns undefined for an absent (or null) member,
 * throws SerializationException for a member of the wrong JSON type and ValidationException for a
 * value that breaks the rule — the two errors AWS's own front end returns before the service runs.
 */
export class Input {
  readonly #obj: Record<string, unknown>;
  readonly #path: string;

  constructor(value: unknown, path = '') {
    if (!isObject(value)) throw serializationError(`Expected an object at '${path || 'request'}'`);
    this.#obj = value;
    this.#path = path;
  }

  has(key: string): boolean {
    return this.#obj[key] !== undefined && this.#obj[key] !== null;
  }

  #get(key: string, required: boolean | undefined): unknown {
    const v = this.#obj[key];
    if (v === undefined || v === null) {
      if (required) throw validationError(memberPath(this.#path, key), null, 'Member must not be null');
      return undefined;
    }
    return v;
  }

  str(key: string, rule: StringRule = {}): string | undefined {
    const v = this.#get(key, rule.required);
    if (v === undefined) return undefined;
    if (typeof v !== 'string')
      throw serializationError(`Value of '${memberPath(this.#path, key)}' must be a string`);
    checkString(memberPath(this.#path, key), v, rule);
    return v;
  }

  int(key: string, rule: IntRule = {}): number | undefined {
    const v = this.#get(key, rule.required);
    if (v === undefined) return undefined;
    const path = memberPath(this.#path, key);
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw serializationError(`Value of '${path}' must be an integer`);
    if (rule.min !== undefined && v < rule.min)
      throw validationError(path, v, `Member must have value greater than or equal to ${rule.min}`);
    if (rule.max !== undefined && v > rule.max)
      throw validationError(path, v, `Member must have value less than or equal to ${rule.max}`);
    return v;
  }

  bool(key: string): boolean | undefined {
    const v = this.#get(key, false);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean')
      throw serializationError(`Value of '${memberPath(this.#path, key)}' must be a boolean`);
    return v;
  }

  obj(key: string, required = false): Input | undefined {
    const v = this.#get(key, required);
    return v === undefined ? undefined : new Input(v, memberPath(this.#path, key));
  }

  #list(key: string, rule: ListRule): unknown[] | undefined {
    const v = this.#get(key, rule.required);
    if (v === undefined) return undefined;
    const path = memberPath(this.#path, key);
    if (!Array.isArray(v)) throw serializationError(`Value of '${path}' must be a list`);
    if (rule.minItems !== undefined && v.length < rule.minItems)
      throw validationError(path, v, `Member must have length greater than or equal to ${rule.minItems}`);
    if (rule.maxItems !== undefined && v.length > rule.maxItems)
      throw validationError(path, v, `Member must have length less than or equal to ${rule.maxItems}`);
    return v;
  }

  strList(key: string, rule: ListRule, item: StringRule): string[] | undefined {
    const list = this.#list(key, rule);
    if (!list) return undefined;
    const path = memberPath(this.#path, key);
    return list.map((v, i) => {
      const p = `${path}.${i + 1}.member`;
      if (typeof v !== 'string') throw serializationError(`Value of '${p}' must be a string`);
      checkString(p, v, item);
      return v;
    });
  }

  objList(key: string, rule: ListRule): Input[] | undefined {
    const list = this.#list(key, rule);
    if (!list) return undefined;
    const path = memberPath(this.#path, key);
    return list.map((v, i) => new Input(v, `${path}.${i + 1}.member`));
  }
}

function checkString(path: string, v: string, rule: StringRule): void {
  if (rule.min !== undefined && v.length < rule.min)
    throw validationError(path, v, `Member must have length greater than or equal to ${rule.min}`);
  if (rule.max !== undefined && v.length > rule.max)
    throw validationError(path, v, `Member must have length less than or equal to ${rule.max}`);
  if (rule.oneOf && !rule.oneOf.includes(v))
    throw validationError(path, v, `Member must satisfy enum value set: [${rule.oneOf.join(', ')}]`);
  if (rule.pattern && !rule.pattern.test(v))
    throw validationError(path, v, `Member must satisfy regular expression pattern: ${rule.pattern.source}`);
}

/** Constraints of the FSx API model that several operations share. */
export const RULES = {
  clientRequestToken: { min: 1, max: 63, pattern: /^[A-Za-z0-9_.-]{0,63}$/ },
  fileSystemId: { min: 11, max: 21, pattern: /^(fs-[0-9a-f]{8,})$/ },
  backupId: { min: 12, max: 128, pattern: /^(backup-[0-9a-f]{8,})$/ },
  subnetId: { min: 15, max: 24, pattern: /^(subnet-[0-9a-f]{8,})$/ },
  securityGroupId: { min: 11, max: 20, pattern: /^(sg-[0-9a-f]{8,})$/ },
  kmsKeyId: { min: 1, max: 2048, pattern: /^.{1,2048}$/ },
  weeklyTime: { min: 7, max: 7, pattern: /^[1-7]:([01]\d|2[0-3]):?([0-5]\d)$/ },
  dailyTime: { min: 5, max: 5, pattern: /^([01]\d|2[0-3]):?([0-5]\d)$/ },
  resourceArn: { min: 8, max: 512, pattern: /^arn:[^:]+:[^:]+:[^:]*:[^:]*:.+$/ },
  tagKey: { min: 1, max: 128, pattern: /^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u },
  tagValue: { min: 0, max: 256, pattern: /^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$/u },
  nextToken: { min: 1, max: 255, pattern: /^[A-Za-z0-9_=-]+$/ },
  fileSystemTypeVersion: { min: 1, max: 20, pattern: /^[0-9](.[0-9]*)*$/ },
  archivePath: { min: 3, max: 4357 },
  logDestination: { min: 8, max: 1024 },
  rootSquash: { min: 3, max: 21, pattern: /^([0-9]{1,10}):([0-9]{1,10})$/ },
  lustreNid: { min: 11, max: 43, pattern: /^([0-9[\]-]*\.){3}([0-9[\]-]*)@tcp$/ },
  filterValue: { min: 1, max: 128, pattern: /^[0-9a-zA-Z*.\\/?\-_]*$/ },
} as const satisfies Record<string, StringRule>;

export interface Tag {
  Key: string;
  Value: string;
}

/** Reads a Tags member (1 to 50 tags). */
export function readTags(input: Input, key = 'Tags', required = false): Tag[] | undefined {
  return input.objList(key, { required, minItems: 1, maxItems: 50 })?.map((t) => ({
    Key: t.str('Key', { required: true, ...RULES.tagKey })!,
    Value: t.str('Value', { required: true, ...RULES.tagValue })!,
  }));
}
