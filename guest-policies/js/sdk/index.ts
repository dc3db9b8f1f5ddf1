// memwarden-policy: write a memwarden policy module in TypeScript. One call,
// `definePolicy`, turns a name, its codes, a config schema and a per-change
// rule into the `policy` export of the world `memwarden:policy/policy-module`
// (wit/policy.wit); ComponentizeJS makes the component. The guide is
// README.md. What this file does not do: run anything at load (no
// `configure`: ComponentizeJS already snapshots the top level at build time),
// or compute similarity fingerprints (the index gives the stored ones).

/// <reference path="./wit-types/policy-module.d.ts" />
import type {
  Context,
  Decision,
  EntrySummary,
  IndexStats,
  MemoryChange,
  ModuleInfo,
  PieceEdit,
  Proposal,
  Verdict,
} from "memwarden:policy/types@0.2.0";
import * as tenantIndex from "memwarden:policy/tenant-index@0.2.0";

export type { Context, Decision, EntrySummary, IndexStats, MemoryChange, PieceEdit, Proposal, Verdict };

// ---- Verdicts ---------------------------------------------------------------

/** Accepts the change. */
export function accept(): Verdict {
  return { tag: "accept" };
}

/** Refuses the change with a declared snake_case `code` and a message. */
export function reject(code: string, message: string): Verdict {
  return { tag: "reject", val: { code, message } };
}

/** Holds the change for a person to decide (the review queue). */
export function hold(code: string, message: string): Verdict {
  return { tag: "hold", val: { code, message } };
}

/**
 * Accepts `change` instead of the proposed memory change. Only its
 * description and body may differ, and the policy must accept it as it is
 * when the host checks it once more.
 */
export function amend(code: string, message: string, change: MemoryChange): Verdict {
  return { tag: "amend", val: { code, message, change: { tag: "memory", val: change } } };
}

/** Accepts `yaml` instead of the proposed piece edit, as `amend` does. */
export function amendPiece(code: string, message: string, yaml: string): Verdict {
  return { tag: "amend", val: { code, message, change: { tag: "piece", val: yaml } } };
}

/** A decision accepting every change of `proposal`, to refine in `evaluate`. */
export function acceptAll(proposal: Proposal): Decision {
  return {
    memory: proposal.memoryChanges.map(accept),
    piece: proposal.pieceEdit === undefined ? undefined : accept(),
  };
}

/** Sets memory verdict `index` unless this module already refused or amended it. */
export function refineChange(decision: Decision, index: number, verdict: Verdict): void {
  if (decision.memory[index]?.tag === "accept") decision.memory[index] = verdict;
}

// ---- The tenant index -------------------------------------------------------

/** The tenant's store, read-only; each call copies only what it returns. */
export const index = {
  /** Number of entries and their total body size. */
  stats: (): IndexStats => tenantIndex.stats(),
  /** The summary of the entry called `name`. */
  lookup: (name: string): EntrySummary | undefined => tenantIndex.lookup(name),
  /** Whether an entry called `name` exists. */
  contains: (name: string): boolean => tenantIndex.lookup(name) !== undefined,
  /** The body of the entry called `name`. */
  body: (name: string): string | undefined => tenantIndex.body(name),
  /** Every entry's summary, by name: copies the whole index, so prefer `lookup`. */
  entries: (): EntrySummary[] => tenantIndex.entries(),
  /** Every entry's similarity fingerprint, in the order of `entries`. */
  fingerprints: (): BigUint64Array => tenantIndex.fingerprints(),
  /** The summary at `position` in the order of `entries`. */
  entryAt: (position: number): EntrySummary | undefined => tenantIndex.entryAt(position),
};

/** Bits that differ between two fingerprints: 0 is the same text, 64 unrelated. */
export function hammingDistance(a: bigint, b: bigint): number {
  let bits = BigInt.asUintN(64, a ^ b);
  let count = 0;
  for (; bits !== 0n; bits &= bits - 1n) count++;
  return count;
}

// ---- Config -----------------------------------------------------------------

/** One config field: its default, and how a JSON value becomes its type. */
export interface Field<T> {
  readonly default: T;
  /** The value, or a message saying what `value` should have been. */
  parse(value: unknown): { ok: true; value: T } | { ok: false; expected: string };
}

function field<T>(fallback: T, expected: string, accepts: (value: unknown) => boolean): Field<T> {
  return {
    default: fallback,
    parse: (value) => (accepts(value) ? { ok: true, value: value as T } : { ok: false, expected }),
  };
}

const isString = (value: unknown): value is string => typeof value === "string";
const isNumber = (value: unknown): value is number => typeof value === "number";

/** The kinds of config field; a rule pack's value must have the field's type. */
export const fields = {
  string: (fallback: string) => field(fallback, "a string", isString),
  number: (fallback: number) => field(fallback, "a number", isNumber),
  integer: (fallback: number) => field(fallback, "an integer", Number.isSafeInteger),
  boolean: (fallback: boolean) => field(fallback, "true or false", (v) => typeof v === "boolean"),
  strings: (fallback: string[]) =>
    field(fallback, "a list of strings", (v) => Array.isArray(v) && v.every(isString)),
  numbers: (fallback: number[]) =>
    field(fallback, "a list of numbers", (v) => Array.isArray(v) && v.every(isNumber)),
  /** One of a fixed set of strings, e.g. `oneOf(["warn", "block"], "block")`. */
  oneOf: <const C extends string>(choices: readonly C[], fallback: C) =>
    field<C>(fallback, `one of ${choices.map((c) => `\`${c}\``).join(", ")}`, (v) =>
      choices.includes(v as C),
    ),
};

/** A config schema: field name → field. */
export type Schema = Record<string, Field<unknown>>;
/** The config a schema describes, as the rule is given it. */
export type ConfigOf<S extends Schema> = { readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never };

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "a mapping" : `${typeof value} \`${JSON.stringify(value)}\``;
}

/** Reads the config JSON the host passes: empty or `null` means every default. */
function parseConfig<S extends Schema>(schema: S, json: string): ConfigOf<S> {
  const text = json.trim();
  let raw: unknown = {};
  if (text !== "" && text !== "null") {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw `the config is not JSON: ${String(err)}`;
    }
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw `the config must be a mapping of field to value, not ${describe(raw)}`;
  }
  const given = raw as Record<string, unknown>;
  const known = Object.keys(schema);
  const config: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(schema, key)) {
      const expected = known.length ? `expected one of ${known.map((k) => `\`${k}\``).join(", ")}` : "it takes none";
      throw `unknown config field \`${key}\`: ${expected}`;
    }
  }
  for (const key of known) {
    const fieldOf = schema[key]!;
    if (!Object.hasOwn(given, key)) {
      config[key] = fieldOf.default;
      continue;
    }
    const parsed = fieldOf.parse(given[key]);
    if (!parsed.ok) throw `config field \`${key}\` must be ${parsed.expected}, not ${describe(given[key])}`;
    config[key] = parsed.value;
  }
  return config as ConfigOf<S>;
}

// ---- The policy -------------------------------------------------------------

/** What a policy author writes; see README.md. */
export interface PolicyDefinition<S extends Schema> {
  /** The module's name, as rule packs and `policy inspect` show it. */
  name: string;
  version: string;
  /** Every code a verdict may carry → a one-line summary. */
  codes: Record<string, string>;
  /** The config fields; a rule pack may set any of them and no others. */
  config?: S;
  /** Checks the config beyond its shape: a message refuses the rule pack. */
  validate?(config: ConfigOf<S>): string | undefined;
  /** The verdict on one memory change. Default: accept. */
  checkChange?(change: MemoryChange, context: Context, config: ConfigOf<S>): Verdict;
  /** The verdict on the piece edit. Default: accept. */
  checkPiece?(edit: PieceEdit, context: Context, config: ConfigOf<S>): Verdict;
  /** The whole decision, for rules across changes; replaces the two above. */
  evaluate?(proposal: Proposal, context: Context, config: ConfigOf<S>): Decision;
}

/** The `policy` export ComponentizeJS binds to the WIT interface `policy`. */
export interface PolicyExport {
  info(): ModuleInfo;
  /** Throws the message (a string) when the config is refused. */
  validateConfig(config: string): void;
  evaluate(proposal: Proposal, context: Context, config: string): Decision;
}

const SNAKE_CASE = /^[a-z0-9_]{1,64}$/;

/**
 * Turns a definition into the module's export: `export const policy =
 * definePolicy({...})`. Runs at build time, in the snapshot, so a malformed
 * code fails the build.
 */
export function definePolicy<const S extends Schema = {}>(definition: PolicyDefinition<S>): PolicyExport {
  const schema = (definition.config ?? {}) as S;
  const codes = Object.entries(definition.codes).map(([code, summary]) => ({ code, summary }));
  for (const { code } of codes) {
    if (!SNAKE_CASE.test(code)) throw new Error(`code \`${code}\` of \`${definition.name}\` is not snake_case`);
  }
  const declared = new Set(codes.map(({ code }) => code));

  function configure(json: string): ConfigOf<S> {
    const config = parseConfig(schema, json);
    const problem = definition.validate?.(config);
    if (problem !== undefined) throw problem;
    return config;
  }

  // INVARIANT: an exception here traps the instance, and the host rejects
  // the whole proposal with `policy_error`: fail closed, and loudly.
  function checked(verdict: Verdict, where: string): Verdict {
    const code = verdict.tag === "accept" ? undefined : verdict.val.code;
    if (code !== undefined && !declared.has(code)) {
      throw new Error(`${definition.name}: ${where} got code \`${code}\`, which is not in \`codes\``);
    }
    return verdict;
  }

  return {
    info: () => ({ name: definition.name, version: definition.version, codes }),
    validateConfig(config) {
      configure(config);
    },
    evaluate(proposal, context, json) {
      // The host validated this config at load; a config that no longer
      // parses is a host bug, and throwing traps (fail closed).
      const config = configure(json);
      const decision = definition.evaluate
        ? definition.evaluate(proposal, context, config)
        : {
            memory: proposal.memoryChanges.map((change) =>
              definition.checkChange ? definition.checkChange(change, context, config) : accept(),
            ),
            piece:
              proposal.pieceEdit === undefined
                ? undefined
                : definition.checkPiece
                  ? definition.checkPiece(proposal.pieceEdit, context, config)
                  : accept(),
          };
      if (decision.memory.length !== proposal.memoryChanges.length) {
        throw new Error(`${definition.name}: ${decision.memory.length} verdicts for ${proposal.memoryChanges.length} changes`);
      }
      if ((decision.piece === undefined) !== (proposal.pieceEdit === undefined)) {
        throw new Error(`${definition.name}: a piece verdict must come exactly with a piece edit`);
      }
      decision.memory.forEach((verdict, i) => checked(verdict, `memory change ${i}`));
      if (decision.piece !== undefined) checked(decision.piece, "the piece edit");
      return decision;
    },
  };
}
