// `hostile-js`: a TypeScript policy that misbehaves on purpose, chosen by its
// config, so the host's containment of ComponentizeJS modules (fuel, memory
// limit, wall-clock deadline) is tested against a real JS engine. Each mode
// but `accept` must end in `policy_error` on every change.

import { acceptAll, definePolicy, fields } from "memwarden-policy";

export const policy = definePolicy({
  name: "hostile-js",
  version: "0.1.0",
  codes: {},
  config: {
    /** `accept` behaves; the others never return a decision. */
    mode: fields.oneOf(["accept", "loop", "grow", "recurse"], "accept"),
  },

  evaluate(proposal, _context, config) {
    switch (config.mode) {
      case "accept":
        break;
      case "loop":
        spin();
        break;
      case "grow":
        hoard();
        break;
      case "recurse":
        descend(0);
        break;
    }
    return acceptAll(proposal);
  },
});

/** Never returns: only fuel or the deadline stop it. */
function spin(): void {
  let turns = 0;
  for (;;) turns = (turns + 1) | 0;
}

/** Keeps every megabyte it allocates, touched so it is really committed. */
function hoard(): void {
  const kept: Uint8Array[] = [];
  for (;;) kept.push(new Uint8Array(1 << 20).fill(kept.length & 0xff));
}

/**
 * Recurses without end. If SpiderMonkey's own stack check stops it first
 * (`too much recursion`), the exception escapes `evaluate` and traps too.
 */
function descend(depth: number): number {
  return descend(depth + 1) + 1;
}
