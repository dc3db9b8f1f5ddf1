/// <reference path="./memwarden-policy-policy.d.ts" />
/// <reference path="./memwarden-policy-tenant-index.d.ts" />
/// <reference path="./memwarden-policy-types.d.ts" />
declare module 'memwarden:policy/policy-module@0.2.0' {
  export type * as MemwardenPolicyTenantIndex020 from 'memwarden:policy/tenant-index@0.2.0'; // import memwarden:policy/tenant-index@0.2.0
  export type * as MemwardenPolicyTypes020 from 'memwarden:policy/types@0.2.0'; // import memwarden:policy/types@0.2.0
  export * as policy from 'memwarden:policy/policy@0.2.0'; // export memwarden:policy/policy@0.2.0
}
