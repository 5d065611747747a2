/**
 * The command line's flag conventions for the commands that take a fixed set of flags (token,
 * nat-check, record, play): `--flag value` or `--flag=value`, boolean flags without a value, each
 * flag at most once, `-` alone a positional, `--` ends the flags. Errors are one-line messages for
 * the user, returned before anything starts.
 */

export interface SplitArgs {
  readonly values: Map<string, string>;
  readonly bools: Set<string>;
  readonly positionals: string[];
}

/** Splits argv by the flags a command knows; `-` alone is a positional, `--` ends the flags. */
export function splitFlags(
  argv: readonly string[],
  valueFlags: readonly string[],
  boolFlags: readonly string[],
): SplitArgs | string {
  const out: SplitArgs = { values: new Map(), bools: new Set(), positionals: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (boolFlags.includes(name)) {
      if (eq > 0) return `${name}: takes no value`;
      out.bools.add(name);
      continue;
    }
    if (!valueFlags.includes(name)) return `unknown flag '${name}'`;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) return `${name}: needs a value`;
    if (out.values.has(name)) return `${name}: given twice`;
    out.values.set(name, value);
  }
  return out;
}
