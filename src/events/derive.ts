import * as z from 'zod';
import { stageFolder } from '../registry/bucketLayout';
import {
  AliasDocumentSchema,
  ApprovalDocumentSchema,
  PolicyDocumentSchema,
  type AliasDocument,
  type ApprovalDocument,
  type PolicyDocument,
} from '../registry/governanceRecords';
import { modelTypeOf, type Stage } from '../registry/identifiers';
import { StagePointerSchema, type DeploymentRecord, type StagePointer } from '../registry/versionMetadata';
import type { ModelgraphEvent } from './event';

/**
 * Pure derivation of events from the records of record (no I/O): which keys are
 * such documents, and which events a document holds beyond a watermark
 * generation. The deliverer (eventDelivery.ts) reads the documents and the
 * watermark; everything it decides is decided here.
 */

/** A document of record, named by its key. */
export type RecordDocument =
  | { kind: 'stage'; model: string; stage: Stage }
  | { kind: 'approval'; model: string; version: string }
  | { kind: 'alias'; model: string; alias: string }
  | { kind: 'policy'; model: string };

const MODEL = '([^/]+/[^/]+)';
const STAGE_KEY = new RegExp(`^${MODEL}/(production|staging)/metadata\\.json$`);
const APPROVAL_KEY = new RegExp(`^${MODEL}/approvals/([^/]+)\\.json$`);
const ALIAS_KEY = new RegExp(`^${MODEL}/aliases/([^/]+)\\.json$`);
const POLICY_KEY = new RegExp(`^${MODEL}/policy\\.json$`);
const ARCHIVE_CHUNK_KEY = /\/history\/(\d+)-(\d+)\.json$/;

/** Which document of record `key` is (undefined: none — version folders, tags, registries, anything else). */
export function recordDocumentOf(key: string): RecordDocument | undefined {
  let m = STAGE_KEY.exec(key);
  if (m && modelTypeOf(m[1]))
    return { kind: 'stage', model: m[1], stage: m[2] === 'production' ? 'PRODUCTION' : 'STAGING' };
  m = APPROVAL_KEY.exec(key);
  if (m && modelTypeOf(m[1])) return { kind: 'approval', model: m[1], version: m[2] };
  m = ALIAS_KEY.exec(key);
  if (m && modelTypeOf(m[1])) return { kind: 'alias', model: m[1], alias: m[2] };
  m = POLICY_KEY.exec(key);
  if (m && modelTypeOf(m[1])) return { kind: 'policy', model: m[1] };
  return undefined;
}

/** A stage's deployment records as events, those with a generation above `after`, oldest first. */
export function stageEvents(records: readonly DeploymentRecord[], after: number): ModelgraphEvent[] {
  return dedupe(records.filter((r) => r.generation > after)).map((r) => ({
    id: r.id,
    type: r.action === 'PROMOTE' ? 'PROMOTED' : r.action === 'ROLLBACK' ? 'ROLLED_BACK' : 'TRAFFIC_CHANGED',
    model: r.model,
    version: r.to,
    target: stageFolder(r.stage),
    from: r.from,
    to: r.to,
    generation: r.generation,
    by: r.by,
    reason: r.reason,
    at: r.at,
    ...(r.action === 'TRAFFIC' && r.traffic
      ? { traffic: { shadow: r.traffic.shadow, canaryPercent: r.traffic.canary_percent } }
      : {}),
    ...(r.override ? { override: true as const } : {}),
  }));
}

/** An approval document's records as events (REGISTER / APPROVE / REJECT), above `after`, oldest first. */
export function approvalEvents(doc: ApprovalDocument, after: number): ModelgraphEvent[] {
  const records = dedupe(doc.history);
  return records.flatMap((r, i) => {
    if (r.generation <= after) return [];
    const type =
      r.action === 'REGISTER' ? 'VERSION_REGISTERED' : r.action === 'APPROVE' ? 'VERSION_APPROVED' : 'VERSION_REJECTED';
    return [
      {
        id: r.id,
        type,
        model: doc.model,
        version: doc.version,
        target: null,
        from: i > 0 ? records[i - 1].status : null,
        to: r.status,
        generation: r.generation,
        by: r.by,
        reason: r.note,
        at: r.at,
      } satisfies ModelgraphEvent,
    ];
  });
}

/** An alias document's records as events (SET / DELETE), above `after`, oldest first. */
export function aliasEvents(doc: AliasDocument, after: number): ModelgraphEvent[] {
  return dedupe(doc.history)
    .filter((r) => r.generation > after)
    .map((r) => ({
      id: r.id,
      type: r.action === 'SET' ? 'ALIAS_SET' : 'ALIAS_DELETED',
      model: r.model,
      version: r.to ?? r.from,
      target: `alias:${r.alias}`,
      from: r.from,
      to: r.to,
      generation: r.generation,
      by: r.by,
      reason: r.reason,
      at: r.at,
    }));
}

/** A policy document's records as events, above `after`, oldest first. */
export function policyEvents(doc: PolicyDocument, after: number): ModelgraphEvent[] {
  return dedupe(doc.history)
    .filter((r) => r.generation > after)
    .map((r) => ({
      id: r.id,
      type: 'POLICY_CHANGED',
      model: r.model,
      version: null,
      target: null,
      from: null,
      to: null,
      generation: r.generation,
      by: r.by,
      reason: r.reason,
      at: r.at,
      policy: r.policy,
    }));
}

/** Records ordered by generation, one per generation and id (a document never repeats one; this is cheap insurance). */
function dedupe<T extends { id: string; generation: number }>(records: readonly T[]): T[] {
  const ids = new Set<string>();
  const generations = new Set<number>();
  return [...records]
    .sort((a, b) => a.generation - b.generation)
    .filter((r) => {
      if (ids.has(r.id) || generations.has(r.generation)) return false;
      ids.add(r.id);
      generations.add(r.generation);
      return true;
    });
}

/**
 * The write-once history chunks of a stage pointer that hold records above
 * `after` (chunk keys name their first and last generation), oldest first.
 * Empty when the inline history reaches back far enough.
 */
export function archivesNeeded(pointer: StagePointer, after: number): string[] {
  const firstInline = pointer.history[0]?.generation ?? pointer.generation + 1;
  if (firstInline <= after + 1) return [];
  return (pointer.history_archives ?? []).filter((key) => {
    const m = ARCHIVE_CHUNK_KEY.exec(key);
    return !m || Number(m[2]) > after; // an unparseable name is read, to be safe
  });
}

/** What a document of record holds, parsed: its generation and its events above `after`. */
export type ParsedRecordDocument =
  | { kind: 'stage'; generation: number; pointer: StagePointer }
  | { kind: 'approval'; generation: number; doc: ApprovalDocument }
  | { kind: 'alias'; generation: number; doc: AliasDocument }
  | { kind: 'policy'; generation: number; doc: PolicyDocument };

/** Parses a document of record (its JSON value); throws a readable error for a malformed one. */
export function parseRecordDocument(what: RecordDocument, raw: unknown, key: string): ParsedRecordDocument {
  const parsed = <T>(schema: z.ZodType<T>): T => {
    const r = schema.safeParse(raw);
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    throw new Error(`${key} is malformed: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  };
  switch (what.kind) {
    case 'stage': {
      const pointer = parsed(StagePointerSchema);
      return { kind: 'stage', generation: pointer.generation, pointer };
    }
    case 'approval': {
      const doc = parsed(ApprovalDocumentSchema);
      return { kind: 'approval', generation: doc.generation, doc };
    }
    case 'alias': {
      const doc = parsed(AliasDocumentSchema);
      return { kind: 'alias', generation: doc.generation, doc };
    }
    case 'policy': {
      const doc = parsed(PolicyDocumentSchema);
      return { kind: 'policy', generation: doc.generation, doc };
    }
  }
}

/**
 * The events of a parsed document above `after`, oldest first. A stage
 * pointer's older records may live in archive chunks: pass those read (any
 * order; records at or below `after` are ignored).
 */
export function eventsOfDocument(
  parsed: ParsedRecordDocument,
  after: number,
  archived: readonly DeploymentRecord[] = [],
): ModelgraphEvent[] {
  switch (parsed.kind) {
    case 'stage':
      return stageEvents([...archived, ...parsed.pointer.history], after);
    case 'approval':
      return approvalEvents(parsed.doc, after);
    case 'alias':
      return aliasEvents(parsed.doc, after);
    case 'policy':
      return policyEvents(parsed.doc, after);
  }
}
