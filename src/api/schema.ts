// A typed builder for structural OpenAPI v3 schemas: one definition yields both the CRD's schema and the TypeScript type.

/** A CEL rule as `x-kubernetes-validations` holds it. Rules that read `oldSelf` run only on update. */
export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  /** Where the error points, relative to the schema node holding the rule (".a.b"). */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** The subset of JSONSchemaProps that Nacre's CRDs use. */
export interface JsonSchema {
  type?: 'object' | 'string' | 'integer' | 'boolean' | 'array';
  description?: string;
  format?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema;
  enum?: (string | number)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: CelRule[];
}

/** A schema node whose instances have the TypeScript type T (a phantom: `_type` is never set). */
export interface Schema<T> {
  readonly json: JsonSchema;
  readonly _type?: T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type Props = Record<string, Schema<unknown>>;

type ObjectOf<P extends Props, R extends keyof P> = Simplify<
  { [K in R]: Infer<P[K]> } & { [K in Exclude<keyof P, R>]?: Infer<P[K]> }
>;

interface Common<T> {
  default?: T;
  validations?: CelRule[];
}

function node<T>(json: JsonSchema, common: Common<T> = {}): Schema<T> {
  const out: JsonSchema = { ...json };
  if (common.default !== undefined) out.default = common.default;
  if (common.validations?.length) out['x-kubernetes-validations'] = common.validations;
  return { json: out };
}

export interface StringOpts extends Common<string> {
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  format?: string;
}

export function str(description: string, opts: StringOpts = {}): Schema<string> {
  const { pattern, minLength, maxLength, format } = opts;
  return node(
    {
      type: 'string',
      description,
      ...(format !== undefined && { format }),
      ...(minLength !== undefined && { minLength }),
      ...(maxLength !== undefined && { maxLength }),
      ...(pattern !== undefined && { pattern }),
    },
    opts,
  );
}

/** A string restricted to `values`. */
export function oneOf<const V extends readonly string[]>(
  values: V,
  description: string,
  opts: Common<V[number]> = {},
): Schema<V[number]> {
  const maxLength = Math.max(...values.map((v) => v.length));
  return node({ type: 'string', description, enum: [...values], maxLength }, opts);
}

export interface IntOpts extends Common<number> {
  min?: number;
  max?: number;
  enum?: readonly number[];
}

export function int(description: string, opts: IntOpts = {}): Schema<number> {
  const big = (opts.max ?? 0) > 2 ** 31 - 1 || (opts.min ?? 0) < -(2 ** 31);
  return node(
    {
      type: 'integer',
      description,
      format: big ? 'int64' : 'int32',
      ...(opts.min !== undefined && { minimum: opts.min }),
      ...(opts.max !== undefined && { maximum: opts.max }),
      ...(opts.enum !== undefined && { enum: [...opts.enum] }),
    },
    opts,
  );
}

export function bool(description: string, opts: Common<boolean> = {}): Schema<boolean> {
  return node({ type: 'boolean', description }, opts);
}

export interface ListOpts<T> extends Common<T[]> {
  minItems?: number;
  maxItems?: number;
  /** `set` for lists of unique scalars; `map` with `mapKeys` for lists of objects keyed by a field. */
  listType?: 'atomic' | 'set' | 'map';
  mapKeys?: string[];
}

export function list<T>(items: Schema<T>, description: string, opts: ListOpts<T> = {}): Schema<T[]> {
  return node(
    {
      type: 'array',
      description,
      items: items.json,
      ...(opts.minItems !== undefined && { minItems: opts.minItems }),
      ...(opts.maxItems !== undefined && { maxItems: opts.maxItems }),
      ...(opts.listType !== undefined && { 'x-kubernetes-list-type': opts.listType }),
      ...(opts.mapKeys !== undefined && { 'x-kubernetes-list-map-keys': opts.mapKeys }),
    },
    opts,
  );
}

export interface ObjectOpts<R, I> {
  required?: readonly R[];
  /**
   * Properties that cannot change once the object exists: each gets `self == oldSelf`, and this
   * object a rule that they are neither added nor removed.
   */
  immutable?: readonly I[];
  validations?: CelRule[];
}

const fixed = (message: string): CelRule => ({ rule: 'self == oldSelf', message });

/** An object with the given properties; those named in `required` are required. */
export function obj<
  P extends Props,
  const R extends keyof P & string = never,
  const I extends keyof P & string = never,
>(description: string, properties: P, opts: ObjectOpts<R, I> = {}): Schema<ObjectOf<P, R>> {
  const props: Record<string, JsonSchema> = {};
  const frozen = new Set<string>(opts.immutable ?? []);
  for (const [k, v] of Object.entries(properties)) {
    if (!frozen.has(k)) {
      props[k] = v.json;
      continue;
    }
    const rules = [...(v.json['x-kubernetes-validations'] ?? []), fixed(`${k} is immutable`)];
    props[k] = { ...v.json, 'x-kubernetes-validations': rules };
  }
  const json: JsonSchema = { type: 'object', description, properties: props };
  if (opts.required?.length) json.required = [...opts.required];
  const rules = [...[...frozen].map((k) => presenceFixed(k)), ...(opts.validations ?? [])];
  return node(json, { validations: rules });
}

/** An object of arbitrary keys mapping to values of one schema. */
export function mapOf<T>(values: Schema<T>, description: string): Schema<Record<string, T>> {
  return node({ type: 'object', description, additionalProperties: values.json });
}

/**
 * A transition rule for the node holding it: the optional field at `path` (dotted, relative) may
 * not be added or removed once the object exists. With `self == oldSelf` on the field itself (see
 * `immutable` of obj) the field cannot change at all.
 */
export function presenceFixed(
  path: string,
  message = `${path} is immutable: it cannot be added or removed`,
): CelRule {
  const parts = path.split('.');
  const has = (root: string) =>
    parts.map((_, i) => `has(${root}.${parts.slice(0, i + 1).join('.')})`).join(' && ');
  const rule =
    parts.length === 1 ? `${has('self')} == ${has('oldSelf')}` : `(${has('self')}) == (${has('oldSelf')})`;
  return { rule, message, fieldPath: `.${path}`, reason: 'FieldValueForbidden' };
}
