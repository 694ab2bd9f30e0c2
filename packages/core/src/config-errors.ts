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

  /**
   * `raw` (a flag, env or file value) as an integer from `min` to `max`; a
   * problem is added (and NaN or the bad value returned) when it is not one.
   */
  integer(key: string, raw: string | number, min: number, max?: number): number {
    const n = toNumber(raw);
    if (!Number.isInteger(n) || n < min || (max !== undefined && n > max)) {
      this.add(key, `must be an integer ${max === undefined ? `>= ${min}` : `from ${min} to ${max}`}, got "${raw}"`);
    }
    return n;
  }

  /** `raw` as a finite number >= `min`; a problem is added when it is not one. */
  number(key: string, raw: string | number, min: number): number {
    const n = toNumber(raw);
    if (!Number.isFinite(n) || n < min) this.add(key, `must be a number >= ${min}, got "${raw}"`);
    return n;
  }

  /** `raw` as any finite number (`hint` says what its range means, e.g. "<= 0: no limit"); a problem is added when it is not one. */
  finiteNumber(key: string, raw: string | number, hint: string): number {
    const n = toNumber(raw);
    if (!Number.isFinite(n)) this.add(key, `must be a number (${hint}), got "${raw}"`);
    return n;
  }

  /**
   * A switch: `true` as given by a bare flag, or text from `--flag=<value>` or
   * the environment. true/1/yes/on and false/0/no/off (any case) are read; an
   * empty value is off. Anything else is a problem, never "on": commander
   * alone turns a boolean flag on whenever its env variable is set, even to
   * "false", which for --insecure-no-auth meant no authentication at all.
   */
  boolean(key: string, raw: boolean | string | undefined): boolean {
    if (raw === undefined || typeof raw === 'boolean') return raw ?? false;
    const text = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(text)) return true;
    if (['false', '0', 'no', 'off', ''].includes(text)) return false;
    this.add(key, `must be true or false, got "${raw}"`);
    return false;
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

/** A flag's, env's or file's number; blank text is NaN (Number('') would be 0). */
function toNumber(raw: string | number): number {
  return typeof raw === 'number' ? raw : raw.trim() === '' ? NaN : Number(raw);
}

const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: true });

/** Compiles a JSON schema once; config schemas are static. */
export function compileSchema<T>(schema: object): ValidateFunction<T> {
  return ajv.compile<T>(schema);
}

/** Kubernetes resource quantity, e.g. `20`, `100Gi`, `500m`. Negative values are invalid. */
export const QUANTITY_PATTERN = '^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$';
