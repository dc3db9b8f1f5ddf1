// `schema`, in TypeScript: the port of guest-policies/schema/src/lib.rs, with
// the same codes, config and verdicts, so that it passes the same
// guest-policies/schema/cases.yaml. Every change is well formed: a slug name,
// an allowed type, a one-line description, a non-empty body, and exactly the
// fields its op needs. The host has already refused unsafe names and unknown
// types; this module enforces the house style on top.

import { accept, definePolicy, fields, reject, type MemoryChange } from "memwarden-policy";

const KNOWN_TYPES = ["user", "feedback", "project", "reference"];

export const policy = definePolicy({
  name: "schema",
  version: "0.1.0",
  codes: {
    name_not_slug: "a name is not a lowercase slug (`a-z`, `0-9`, `-`, `_`, starting alphanumeric)",
    entry_type_not_allowed: "the entry type is not in the pack's `allowed_types`",
    description_missing: "an add has no description, or a description is blank",
    description_multiline: "a description spans more than one line",
    body_empty: "an add or update carries a blank body",
    op_fields_inconsistent: "the change carries fields its op does not take, or an update changes nothing",
    piece_empty: "a piece edit's new YAML is blank",
  },
  config: {
    /** Entry types a change may use; a subset of the four the host knows. */
    allowed_types: fields.strings(KNOWN_TYPES),
  },

  validate(config) {
    const unknown = config.allowed_types.find((t) => !KNOWN_TYPES.includes(t));
    return unknown === undefined ? undefined : `unknown entry type \`${unknown}\` in allowed_types`;
  },

  checkChange(change, _context, config) {
    if (!isSlug(change.name)) {
      return reject("name_not_slug", `\`${change.name}\` is not a lowercase slug`);
    }
    if (change.mergeTarget !== undefined && !isSlug(change.mergeTarget)) {
      return reject("name_not_slug", `merge target \`${change.mergeTarget}\` is not a lowercase slug`);
    }
    const problem = opFieldProblem(change);
    if (problem !== undefined) return reject("op_fields_inconsistent", problem);
    if (change.entryType !== undefined && !config.allowed_types.includes(change.entryType)) {
      const allowed = config.allowed_types.join(", ");
      return reject("entry_type_not_allowed", `type \`${change.entryType}\` is not one of ${allowed}`);
    }
    if (change.description !== undefined) {
      if (change.description.trim() === "") return reject("description_missing", "the description is blank");
      if (/[\n\r]/.test(change.description)) {
        return reject("description_multiline", "the description must be one line");
      }
    }
    if (change.body !== undefined && change.body.trim() === "") return reject("body_empty", "the body is blank");
    return accept();
  },

  checkPiece(edit) {
    if (!isSlug(edit.piece)) return reject("name_not_slug", `piece \`${edit.piece}\` is not a lowercase slug`);
    if (edit.after.trim() === "") return reject("piece_empty", "the new piece YAML is blank");
    return accept();
  },
});

function isSlug(name: string): boolean {
  return /^[a-z0-9][a-z0-9_-]*$/.test(name);
}

/** What is wrong with the set of fields for this op, if anything. */
function opFieldProblem(change: MemoryChange): string | undefined {
  const carries = {
    description: change.description !== undefined,
    type: change.entryType !== undefined,
    body: change.body !== undefined,
  };
  const hasMergeTarget = change.mergeTarget !== undefined;
  switch (change.op) {
    case "add": {
      const missing = Object.entries(carries).filter(([, present]) => !present).map(([field]) => field);
      if (missing.length > 0) return `an add needs ${missing.join(", ")}`;
      return hasMergeTarget ? "an add takes no merge_target" : undefined;
    }
    case "update":
      if (hasMergeTarget) return "an update takes no merge_target";
      return Object.values(carries).some(Boolean) ? undefined : "an update must change the description, type or body";
    case "remove":
      return Object.values(carries).some(Boolean)
        ? "a remove takes only a name and an optional merge_target"
        : undefined;
  }
}
