/**
 * A small schema validator for signaling messages. A schema checks an unknown JSON value and
 * returns it typed, or throws `SchemaError` naming the path of the first bad field. Objects are
 * strict: an unknown key is an error, so no unvalidated field reaches the server's logic.
 */
export class SchemaError extends Error {
  readonly path: string;
  constructor(path: string, detail: string) {
    super(`${path || 'message'}: ${detail}`);
    this.path = path;
  }
}

export interface Schema<T> {
  /** Validates `value` found at `path` and returns it typed; throws SchemaError. */
  check(value: unknown, path: string): T;
  /** True when the key may be absent from an object. */
  readonly optional?: boolean;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

export function str(opts: { min?: number; max: number; pattern?: RegExp }): Schema<string> {
  return {
    check(v, path) {
      if (typeof v !== 'string') throw new SchemaError(path, 'must be a string');
      if (v.length < (opts.min ?? 0))
        throw new SchemaError(path, `must have at least ${opts.min} characters`);
      if (v.length > opts.max) throw new SchemaError(path, `must have at most ${opts.max} characters`);
      if (opts.pattern && !opts.pattern.test(v)) throw new SchemaError(path, `must match ${opts.pattern}`);
      return v;
    },
  };
}

export function num(opts: { min: number; max: number; integer?: boolean }): Schema<number> {
  return {
    check(v, path) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new SchemaError(path, 'must be a finite number');
      if (opts.integer && !Number.isInteger(v)) throw new SchemaError(path, 'must be an integer');
      if (v < opts.min || v > opts.max) throw new SchemaError(path, `must be in [${opts.min}, ${opts.max}]`);
      return v;
    },
  };
}

export function int(min: number, max: number): Schema<number> {
  return num({ min, max, integer: true });
}

export function literal<const L extends string | number | boolean>(value: L): Schema<L> {
  return {
    check(v, path) {
      if (v !== value) throw new SchemaError(path, `must be ${JSON.stringify(value)}`);
      return value;
    },
  };
}

export function bool(): Schema<boolean> {
  return {
    check(v, path) {
      if (typeof v !== 'boolean') throw new SchemaError(path, 'must be true or false');
      return v;
    },
  };
}

export function oneOf<const L extends string>(values: readonly L[]): Schema<L> {
  const set = new Set<string>(values);
  return {
    check(v, path) {
      if (typeof v !== 'string' || !set.has(v))
        throw new SchemaError(path, `must be one of ${values.join(', ')}`);
      return v as L;
    },
  };
}

export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return { check: (v, path) => (v === null ? null : inner.check(v, path)) };
}

/** A field that may be absent (typed as an optional property by `obj`). */
export function optional<T>(inner: Schema<T>): Schema<T | undefined> & { readonly optional: true } {
  return { optional: true, check: (v, path) => (v === undefined ? undefined : inner.check(v, path)) };
}

export function arr<T>(item: Schema<T>, opts: { max: number }): Schema<T[]> {
  return {
    check(v, path) {
      if (!Array.isArray(v)) throw new SchemaError(path, 'must be an array');
      if (v.length > opts.max) throw new SchemaError(path, `must have at most ${opts.max} items`);
      return v.map((x, i) => item.check(x, `${path}[${i}]`));
    },
  };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : never }[keyof S];
type Obj<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & {
  [K in OptionalKeys<S>]?: Infer<S[K]>;
};

export function obj<S extends Shape>(shape: S): Schema<Obj<S>> {
  const keys = Object.keys(shape);
  return {
    check(v, path) {
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw new SchemaError(path, 'must be an object');
      const rec = v as Record<string, unknown>;
      for (const k of Object.keys(rec)) {
        if (!Object.hasOwn(shape, k)) throw new SchemaError(path ? `${path}.${k}` : k, 'unknown field');
      }
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const s = shape[k]!;
        const p = path ? `${path}.${k}` : k;
        if (!Object.hasOwn(rec, k)) {
          if (s.optional) continue;
          throw new SchemaError(p, 'is required');
        }
        const val = s.check(rec[k], p);
        if (val !== undefined) out[k] = val;
      }
      return out as Obj<S>;
    },
  };
}
