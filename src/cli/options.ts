/**
 * Command-line parsing for every command: getopt-style long options, strict, with one-line usage errors
 * that suggest the nearest option, and typed readers for numbers and lists.
 */
import { UsageError } from "../errors.ts";
import { closestMatch } from "../suggest.ts";

export type OptionSpec = {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
  /** Shown in --help. */
  help: string;
  arg?: string;
};
export type OptionSpecs = Record<string, OptionSpec>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/**
 * Joins each string option with the argument after it (`--prompt "- fix it"` becomes `--prompt=- fix it`),
 * as getopt does: parseArgs otherwise refuses a value that starts with "-" (a prompt, a negative number
 * that deserves its own clear error, a slug to be rejected by name).
 */
export function joinValues(argv: string[], specs: OptionSpecs): string[] {
  const shorts = new Map(
    Object.entries(specs).filter(([, s]) => s.short).map(([k, s]) => [`-${s.short}`, k]),
  );
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const name = a.startsWith("--") ? a.slice(2) : shorts.get(a);
    if (name !== undefined && !name.includes("=") && specs[name]?.type === "string" && i + 1 < argv.length) {
      out.push(`--${name}=${argv[++i]}`);
    } else out.push(a);
  }
  return out;
}

/**
 * Parses argv for one command, strictly: unknown options, values given to flags, missing values and
 * (unless allowed) positionals are UsageErrors with a hint. Not node:util's parseArgs: importing node:util
 * costs 7-10 ms of start-up, a fifth of `status`'s budget (bench/RESULTS.md).
 */
export function parseOptions(
  command: string,
  argv: string[],
  specs: OptionSpecs,
  positionals = false,
): Parsed {
  const values: Parsed["values"] = {};
  const pos: string[] = [];
  const byShort = new Map(Object.entries(specs).filter(([, s]) => s.short).map(([k, s]) => [s.short!, k]));
  const words = joinValues(argv, specs);
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (word === "--") {
      pos.push(...words.slice(i + 1));
      break;
    }
    if (word.length < 2 || !word.startsWith("-")) {
      pos.push(word);
      continue;
    }
    const eq = word.indexOf("=");
    const long = word.startsWith("--");
    // A group of one-letter flags (`-fq`), as getopt and parseArgs take it.
    const group = !long && word.length > 2 ? [...word.slice(1)].map((c) => byShort.get(c)) : [];
    if (group.length && group.every((n) => n !== undefined && specs[n].type === "boolean")) {
      for (const n of group) values[n!] = true;
      continue;
    }
    const name = long ? word.slice(2, eq < 0 ? undefined : eq) : byShort.get(word.slice(1));
    const spec = name !== undefined && Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (name === undefined || spec === undefined || (!long && word.length !== 2)) {
      const shown = long ? word.slice(0, eq < 0 ? undefined : eq) : word;
      const hint = closestMatch(shown, Object.keys(specs).map((k) => `--${k}`));
      throw new UsageError(
        `${command}: unknown option ${shown}${
          hint ? ` (did you mean ${hint}?)` : ""
        }; see dispatch-cc ${command} --help`,
      );
    }
    if (spec.type === "boolean") {
      if (eq >= 0) throw new UsageError(`${command}: option --${name} takes no value`);
      values[name] = true;
      continue;
    }
    // joinValues has already attached the value of a string option given as two words.
    if (eq < 0) throw new UsageError(`${command}: option --${name} needs a value`);
    const value = word.slice(eq + 1);
    values[name] = spec.multiple ? [...(values[name] as string[] | undefined ?? []), value] : value;
  }
  if (pos.length && !positionals) {
    throw new UsageError(
      `${command}: unexpected argument "${pos[0]}" (options start with --; quote values with spaces)`,
    );
  }
  return { values, positionals: pos };
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === "string" ? v : undefined;
}

export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

/**
 * A number as a user writes it: plain decimal digits, optionally a fraction. `Number()` alone would take
 * `0x10`, `1e3`, ` 5` and `""`, turning a typo into another number.
 */
export function parseDecimal(raw: string, integer = false): number {
  return (integer ? /^[0-9]+$/ : /^[0-9]+(?:\.[0-9]+)?$/).test(raw) ? Number(raw) : NaN;
}

/** A positive number (seconds, dollars); `integer` for counts. */
export function positiveNumber(p: Parsed, name: string, integer = false): number | undefined {
  const raw = str(p, name);
  if (raw === undefined) return undefined;
  const n = parseDecimal(raw, integer);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isSafeInteger(n))) {
    throw new UsageError(
      `--${name} must be a positive ${integer ? "whole number" : "number"}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

/**
 * Splits tool lists given as repeated flags and/or comma-separated values, keeping commas inside
 * parentheses: `--allowed-tools "Read,Bash(git log:*)"` gives ["Read", "Bash(git log:*)"].
 */
export function toolList(p: Parsed, name: string): string[] | undefined {
  const v = p.values[name];
  if (v === undefined) return undefined;
  const items: string[] = [];
  for (const raw of Array.isArray(v) ? v : [String(v)]) {
    let depth = 0;
    let cur = "";
    for (const ch of raw) {
      if (ch === "(") depth++;
      if (ch === ")") depth = Math.max(0, depth - 1);
      if ((ch === "," || ch === " ") && depth === 0) {
        if (cur.trim()) items.push(cur.trim());
        cur = "";
      } else cur += ch;
    }
    if (cur.trim()) items.push(cur.trim());
  }
  return items;
}

/** Renders the options table of a command's --help. */
export function optionsHelp(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([k, s]) => {
    const left = `${s.short ? `-${s.short}, ` : "    "}--${k}${
      s.type === "string" ? ` ${s.arg ?? "VALUE"}` : ""
    }`;
    return [left, s.help] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, h]) => `  ${l.padEnd(width)}${h}`).join("\n");
}
