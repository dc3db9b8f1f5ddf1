/// <reference path="./memwarden-policy-types.d.ts" />
declare module 'memwarden:policy/policy@0.2.0' {
  /**
   * Name and version of this module.
   */
  export function info(): ModuleInfo;
  /**
   * Checks the module's config (JSON) once, when a rule pack is loaded.
   */
  export function validateConfig(config: string): void;
  /**
   * Decides on every change of `proposal`.
   */
  export function evaluate(proposal: Proposal, context: Context, config: string): Decision;
  export type Proposal = import('memwarden:policy/types@0.2.0').Proposal;
  export type Context = import('memwarden:policy/types@0.2.0').Context;
  export type Decision = import('memwarden:policy/types@0.2.0').Decision;
  export type ModuleInfo = import('memwarden:policy/types@0.2.0').ModuleInfo;
}
