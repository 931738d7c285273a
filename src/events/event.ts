import type { PromotionPolicy } from '../registry/governanceRecords';

/**
 * One event per recorded change: a stage pointer move (PROMOTE, ROLLBACK,
 * TRAFFIC), an approval document record (REGISTER, APPROVE, REJECT), an alias
 * document record (SET, DELETE) or a policy document record (SET_POLICY).
 * Events are derived from those records of record, never from memory: `id` is
 * the record's id (the de-duplication key; delivery is at least once) and
 * `generation` the record's generation in its document.
 */
export const EVENT_TYPES = [
  'VERSION_REGISTERED',
  'VERSION_APPROVED',
  'VERSION_REJECTED',
  'PROMOTED',
  'ROLLED_BACK',
  'TRAFFIC_CHANGED',
  'ALIAS_SET',
  'ALIAS_DELETED',
  'POLICY_CHANGED',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface ModelgraphEvent {
  /** The record's id (uuid): the same change always has the same id. */
  id: string;
  type: EventType;
  model: string;
  /** The version the change is about (for a stage or alias move: the version after it; ALIAS_DELETED: the one before). Null for POLICY_CHANGED. */
  version: string | null;
  /** "production" | "staging" for stage pointer moves, "alias:<name>" for alias moves, null for version and policy events. */
  target: string | null;
  /** Stage and alias moves: the version before / after. Approval events: the status before / after (e.g. PENDING → APPROVED). */
  from: string | null;
  to: string | null;
  /** The record's generation in its document (stage pointer, approval, alias or policy document). */
  generation: number;
  /** The authenticated principal that made the change. */
  by: string;
  /** The move's reason or the approval's note. */
  reason: string | null;
  /** When the change was written (ISO 8601). */
  at: string;
  /** TRAFFIC_CHANGED: the settings after the change. */
  traffic?: { shadow: boolean; canaryPercent: number };
  /** PROMOTED despite the model's policy (a principal with models:approve overrode it; the record names the broken rules). */
  override?: true;
  /** POLICY_CHANGED: the policy after the change. */
  policy?: PromotionPolicy;
}

/** EventBridge DetailType of each event type: "Modelgraph Version Approved", … */
export const DETAIL_TYPES: Record<EventType, string> = {
  VERSION_REGISTERED: 'Modelgraph Version Registered',
  VERSION_APPROVED: 'Modelgraph Version Approved',
  VERSION_REJECTED: 'Modelgraph Version Rejected',
  PROMOTED: 'Modelgraph Version Promoted',
  ROLLED_BACK: 'Modelgraph Version Rolled Back',
  TRAFFIC_CHANGED: 'Modelgraph Traffic Changed',
  ALIAS_SET: 'Modelgraph Alias Set',
  ALIAS_DELETED: 'Modelgraph Alias Deleted',
  POLICY_CHANGED: 'Modelgraph Policy Changed',
};

/** EventBridge `Source` of every event. */
export const EVENT_SOURCE = 'modelgraph';
