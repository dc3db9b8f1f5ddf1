/// <reference path="./memwarden-policy-types.d.ts" />
declare module 'memwarden:policy/tenant-index@0.2.0' {
  /**
   * Number of entries and their total body size.
   */
  export function stats(): IndexStats;
  /**
   * The summary of the entry called `name`, if there is one.
   */
  export function lookup(name: string): EntrySummary | undefined;
  /**
   * Every entry's summary, ordered by name.
   */
  export function entries(): Array<EntrySummary>;
  /**
   * Every entry's fingerprint, in the order of `entries`.
   */
  export function fingerprints(): BigUint64Array;
  /**
   * The summary at `position` in the order of `entries`.
   */
  export function entryAt(position: number): EntrySummary | undefined;
  /**
   * The body of the entry called `name`, if there is one.
   */
  export function body(name: string): string | undefined;
  export type EntrySummary = import('memwarden:policy/types@0.2.0').EntrySummary;
  export type IndexStats = import('memwarden:policy/types@0.2.0').IndexStats;
}
