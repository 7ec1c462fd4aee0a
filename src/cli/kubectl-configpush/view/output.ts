import { stringify } from 'yaml';

export type OutputFormat = 'json' | 'yaml';

/** The machine-readable form of a command's result, as `kubectl get -o json|yaml` prints objects. */
export function formatOutput(value: unknown, format: OutputFormat): string {
  return format === 'json' ? `${JSON.stringify(value, null, 4)}\n` : stringify(value, { lineWidth: 0 });
}

/** An object as kubectl prints it by default: without managedFields. */
export function withoutManagedFields<T extends { metadata?: object }>(object: T): T {
  if (!object.metadata || !('managedFields' in object.metadata)) return object;
  const { managedFields: _hidden, ...metadata } = object.metadata as { managedFields?: unknown };
  return { ...object, metadata };
}
