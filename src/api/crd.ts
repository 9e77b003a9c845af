// Turns a resource definition (spec and status schemas, names, printer columns) into its CustomResourceDefinition manifest.
import { GROUP, VERSION } from './common.ts';
import type { JsonSchema, Schema } from './schema.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'boolean' | 'number';
  jsonPath: string;
  priority?: number;
  description?: string;
}

/** Everything that distinguishes one of Nacre's resources. */
export interface CrdDefinition {
  kind: string;
  plural: string;
  shortNames: string[];
  description: string;
  spec: Schema<unknown>;
  status: Schema<unknown>;
  /** The object must have a spec. */
  specRequired: boolean;
  columns: PrinterColumn[];
}

/** The apiextensions.k8s.io/v1 CustomResourceDefinition of `def`, as a plain object. */
export function crdManifest(def: CrdDefinition): Record<string, unknown> {
  const openAPIV3Schema: JsonSchema = {
    type: 'object',
    description: def.description,
    properties: {
      apiVersion: { type: 'string', description: 'fsx.nacre.dev/v1alpha1' },
      kind: { type: 'string', description: def.kind },
      metadata: { type: 'object' },
      spec: def.spec.json,
      status: def.status.json,
    },
    ...(def.specRequired && { required: ['spec'] }),
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}`, labels: { 'app.kubernetes.io/name': 'nacre' } },
    spec: {
      group: GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.kind.toLowerCase(),
        shortNames: def.shortNames,
        categories: ['nacre', 'fsx'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.columns,
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}
