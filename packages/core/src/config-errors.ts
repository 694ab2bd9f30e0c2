import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ErrorCodes, VkError } from './errors.ts';

/**
 * Collects every problem of a configuration before failing, so that the user
 * fixes them all in one go: "Invalid configuration: 3 problems: ...".
 */
export class ConfigProblems {
  readonly #problems: string[] = [];

  add(key: string, problem: string): void {
    this.#problems.push(`${key}: ${problem}`);
  }

  get count(): number {
    return this.#problems.length;
  }

  /** Adds each JSON-schema error under `prefix` (e.g. the file name). */
  addSchemaErrors(prefix: string, errors: ErrorObject[] | null | undefined): void {
    for (const e of errors ?? []) {
      const path = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
      const where = [prefix, path].filter(Boolean).join('.');
      if (e.keyword === 'additionalProperties') this.add(`${where}${where ? '.' : ''}${String(e.params.additionalProperty)}`, 'unknown key');
      else if (e.keyword === 'enum') this.add(where || prefix, `${e.message} (${(e.params.allowedValues as unknown[]).join(', ')})`);
      else this.add(where || prefix, e.message ?? 'invalid');
    }
  }

  throwIfAny(what: string): void {
    if (this.#problems.length === 0) return;
    const n = this.#problems.length;
    throw new VkError(ErrorCodes.CONFIG_INVALID, `Invalid ${what}: ${n} problem${n > 1 ? 's' : ''}:\n  - ${this.#problems.join('\n  - ')}`, {
      details: { problems: [...this.#problems] },
    });
  }
}

const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: true });

/** Compiles a JSON schema once; config schemas are static. */
export function compileSchema<T>(schema: object): ValidateFunction<T> {
  return ajv.compile<T>(schema);
}

/** Kubernetes resource quantity, e.g. `20`, `100Gi`, `500m`. Negative values are invalid. */
export const QUANTITY_PATTERN = '^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$';
