declare module 'memwarden:policy/types@0.2.0' {
  /**
   * What a memory change does to the entry it names.
   * # Variants
   * 
   * ## `"add"`
   * 
   * ## `"update"`
   * 
   * ## `"remove"`
   */
  export type Op = 'add' | 'update' | 'remove';
  /**
   * One proposed change to the tenant's memory store.
   * 
   * Which optional fields must be present depends on `op`; the host has
   * already checked the shape (see the host-level checks in the README).
   */
  export interface MemoryChange {
    op: Op,
    name: string,
    description?: string,
    /**
     * `user`, `feedback`, `project` or `reference`.
     */
    entryType?: string,
    body?: string,
    /**
     * For `remove`: the entry this one was folded into.
     */
    mergeTarget?: string,
  }
  /**
   * A proposed edit of one workflow piece, as whole YAML documents.
   */
  export interface PieceEdit {
    piece: string,
    /**
     * The piece as it is now; `none` when the tenant has no such piece.
     */
    before?: string,
    after: string,
  }
  /**
   * What the reflection (or consolidation) LLM proposed.
   */
  export interface Proposal {
    reasoning: string,
    memoryChanges: Array<MemoryChange>,
    pieceEdit?: PieceEdit,
  }
  /**
   * How the agent run that is being reflected upon ended.
   * # Variants
   * 
   * ## `"succeeded"`
   * 
   * ## `"failed"`
   * 
   * ## `"aborted"`
   * 
   * ## `"consolidation"`
   * 
   * Not an agent run: a consolidation job.
   */
  export type RunOutcome = 'succeeded' | 'failed' | 'aborted' | 'consolidation';
  /**
   * One past edit of a piece.
   */
  export interface PieceEditRecord {
    piece: string,
    atMs: bigint,
  }
  /**
   * Everything about the job a policy may look at, besides the index.
   */
  export interface Context {
    tenant: string,
    jobId: string,
    piece: string,
    runOutcome: RunOutcome,
    /**
     * Milliseconds since the Unix epoch, fixed by the host for the job.
     */
    nowMs: bigint,
    /**
     * Past piece edits of this tenant, newest first.
     */
    pieceEdits: Array<PieceEditRecord>,
    /**
     * Times (ms) of this tenant's recent applied memory writes, newest
     * first; the host keeps at least the last 24 hours.
     */
    recentWrites: BigUint64Array,
  }
  /**
   * What the store holds for one entry, without its body.
   */
  export interface EntrySummary {
    name: string,
    entryType: string,
    description: string,
    bodyBytes: bigint,
    /**
     * First 8 bytes of the SHA-256 of the body, big-endian.
     */
    bodyHash: bigint,
    /**
     * 64-bit similarity fingerprint of the normalised body, as computed
     * by `memwarden-similarity`; compare with the Hamming distance.
     */
    fingerprint: bigint,
    updatedAtMs: bigint,
  }
  /**
   * Size of the tenant's store.
   */
  export interface IndexStats {
    entries: number,
    bodyBytes: bigint,
  }
  /**
   * Why a change is refused or held. `code` is a stable snake_case string.
   */
  export interface Rejection {
    code: string,
    message: string,
  }
  /**
   * A change as the module would accept it instead of the proposed one.
   */
  export type AmendedChange = AmendedChangeMemory | AmendedChangePiece;
  /**
   * The whole memory change; its `op`, `name`, `entry-type` and
   * `merge-target` must be those proposed.
   */
  export interface AmendedChangeMemory {
    tag: 'memory',
    val: MemoryChange,
  }
  /**
   * The whole new YAML of the piece edit.
   */
  export interface AmendedChangePiece {
    tag: 'piece',
    val: string,
  }
  /**
   * An accepted correction: why, and the corrected change.
   */
  export interface Amendment {
    code: string,
    message: string,
    change: AmendedChange,
  }
  /**
   * How the host combines verdicts on one change: any `reject` rejects
   * it; else any `hold` holds it for a person; else the amendments apply
   * in pack order and the amended change is checked once more by the
   * host and every module; else it is accepted.
   */
  export type Verdict = VerdictAccept | VerdictReject | VerdictHold | VerdictAmend;
  export interface VerdictAccept {
    tag: 'accept',
  }
  export interface VerdictReject {
    tag: 'reject',
    val: Rejection,
  }
  /**
   * Neither accept nor reject: a person decides (the review queue).
   */
  export interface VerdictHold {
    tag: 'hold',
    val: Rejection,
  }
  export interface VerdictAmend {
    tag: 'amend',
    val: Amendment,
  }
  /**
   * A module's answer to one proposal.
   */
  export interface Decision {
    /**
     * Exactly one verdict per memory change, in proposal order.
     */
    memory: Array<Verdict>,
    /**
     * A verdict if and only if the proposal has a piece edit.
     */
    piece?: Verdict,
  }
  /**
   * One rejection code a module may return, for docs and `inspect`.
   */
  export interface CodeInfo {
    code: string,
    summary: string,
  }
  /**
   * Who a module is and which codes it may return.
   */
  export interface ModuleInfo {
    name: string,
    version: string,
    codes: Array<CodeInfo>,
  }
}
