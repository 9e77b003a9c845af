// Names and schema pieces every Nacre custom resource shares: group, metadata, conditions, tags, references.
import { type Infer, int, list, obj, oneOf, str } from './schema.ts';

export const GROUP = 'fsx.nacre.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
/** The finalizer the controller holds on every resource whose backend object it manages. */
export const FINALIZER = 'fsx.nacre.dev/finalizer';

export const BACKENDS = ['aws', 'emulated'] as const;
export type Backend = (typeof BACKENDS)[number];

/** The object metadata fields Nacre reads or writes. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** A namespaced custom resource of this group. */
export interface Resource<K extends string, Spec, Status> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export const backendField = oneOf(
  BACKENDS,
  'Where the resource lives: aws (Amazon FSx through the FSx API) or emulated (Nacre’s in-cluster file system, which speaks the same API). Defaults to the controller’s --default-backend; the choice is recorded in status.backend and cannot change.',
);

export const deletionPolicyField = oneOf(
  ['Delete', 'Retain'] as const,
  'What happens to the backend resource when this object is deleted: Delete removes it, Retain leaves it in place.',
);

export const tagSchema = obj(
  'A tag of the backend resource.',
  {
    key: str('The tag key.', {
      minLength: 1,
      maxLength: 128,
      pattern: '^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$',
    }),
    value: str('The tag value.', { maxLength: 256, pattern: '^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$' }),
  },
  { required: ['key'] },
);
export type Tag = Infer<typeof tagSchema>;

export const tagsField = list(tagSchema, 'Tags of the backend resource, as in the FSx API.', {
  maxItems: 50,
  listType: 'map',
  mapKeys: ['key'],
});

export const fileSystemIdPattern = '^(fs-[0-9a-f]{8,})$';

export const fileSystemRefField = obj(
  'A FileSystem object in the same namespace; its status.fileSystemID is used once it has one.',
  { name: str('Name of the FileSystem object.', { minLength: 1, maxLength: 253 }) },
  { required: ['name'] },
);

/** Rules shared by every resource that names its file system by reference or by ID. */
export const fileSystemTargetRules = [
  {
    rule: 'has(self.fileSystemRef) != has(self.fileSystemID)',
    message: 'set exactly one of fileSystemRef and fileSystemID',
    fieldPath: '.fileSystemRef',
  },
];

/** Fields that tie a resource to its file system and backend: fixed once created. */
export const FILE_SYSTEM_TARGET_FIELDS = ['fileSystemRef', 'fileSystemID', 'backend'] as const;

export const conditionSchema = obj(
  'The state of one aspect of the resource, as in metav1.Condition.',
  {
    type: str('Ready or Synced.', { maxLength: 316 }),
    status: oneOf(['True', 'False', 'Unknown'] as const, 'Whether the condition holds.'),
    observedGeneration: int('The metadata.generation the condition was computed from.', {
      min: 0,
      max: 2 ** 53,
    }),
    lastTransitionTime: str('When the status last changed.', { format: 'date-time' }),
    reason: str('Why, in one PascalCase word.', { maxLength: 1024 }),
    message: str('Why, for people.', { maxLength: 32768 }),
  },
  { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
);
export type Condition = Infer<typeof conditionSchema>;

export const conditionsField = list(
  conditionSchema,
  'Ready: the backend resource is usable. Synced: the backend accepted the latest spec.',
  {
    listType: 'map',
    mapKeys: ['type'],
    maxItems: 8,
  },
);

export const observedGenerationField = int('The metadata.generation the status was computed from.', {
  min: 0,
  max: 2 ** 53,
});

export const failureDetailsField = obj('Why the backend resource failed, in the backend’s words.', {
  message: str('The backend’s FailureDetails.Message.'),
});

export const backendStatusField = oneOf(BACKENDS, 'The backend the resource was created on.');

/** The printer column showing a condition's status. */
export function conditionColumn(
  name: string,
  type: string,
): { name: string; type: 'string'; jsonPath: string } {
  return { name, type: 'string', jsonPath: `.status.conditions[?(@.type=="${type}")].status` };
}
