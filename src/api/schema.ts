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
  return node({ type: 'string', description, enum: [...values] }, opts);
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

export interface ObjectOpts<R> {
  required?: readonly R[];
  validations?: CelRule[];
}

/** An object with the given properties; those named in `required` are required. */
export function obj<P extends Props, const R extends keyof P & string = never>(
  description: string,
  properties: P,
  opts: ObjectOpts<R> = {},
): Schema<ObjectOf<P, R>> {
  const props: Record<string, JsonSchema> = {};
  for (const [k, v] of Object.entries(properties)) props[k] = v.json;
  const json: JsonSchema = { type: 'object', description, properties: props };
  if (opts.required?.length) json.required = [...opts.required];
  return node(json, opts.validations ? { validations: opts.validations } : {});
}

/** An object of arbitrary keys mapping to values of one schema. */
export function mapOf<T>(values: Schema<T>, description: string): Schema<Record<string, T>> {
  return node({ type: 'object', description, additionalProperties: values.json });
}

/**
 * A transition rule (for the node holding it) that makes the optional field at `path` (dotted,
 * relative) immutable: it may not be added, removed or changed once the object exists.
 */
export function immutable(path: string, message = `${path} is immutable`): CelRule {
  const opt = path
    .split('.')
    .map((p) => `.?${p}`)
    .join('');
  return {
    rule: `self${opt} == oldSelf${opt}`,
    message,
    fieldPath: `.${path}`,
    reason: 'FieldValueForbidden',
  };
}
