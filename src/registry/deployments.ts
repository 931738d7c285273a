import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import * as z from 'zod';
import { BadUserInputError, ConflictError, ModelNotDeployedError } from '../errors';
import { ObjectNotFoundError, PreconditionFailedError } from '../storage/errors';
import { stageHistoryArchiveKey, stagePointerKey, versionPrefix } from './bucketLayout';
import { assertStageAllowed, type Stage } from './identifiers';
import type { Registry, Versioned } from './registry';
import {
  DeploymentRecordSchema,
  parseJsonDocument,
  StagePointerSchema,
  type DeploymentAction,
  type DeploymentRecord,
  type StagePointer,
  type Traffic,
  TRAFFIC_OFF,
} from './versionMetadata';
import { replacing } from '../storage/objectStore';

export interface DeploymentRequest {
  model: string;
  version: string;
  stage: Stage;
  by: string;
  reason?: string | null;
  /**
   * The stage pointer's generation the caller saw (e.g. a console's confirmation):
   * if the pointer has moved since, CONFLICT and nothing is written. Without it,
   * the move applies to whatever the pointer holds when it is read.
   */
  expectedGeneration?: number | null;
  /**
   * Governance: runs after the pointer this move replaces was read and before it
   * is written with If-Match that read. It refuses the move by throwing, or
   * answers what the record keeps as evidence (approval read, override).
   */
  gate?: DeploymentGate;
}

/** What a gate saw about the move it let through; kept in the deployment record. */
export type GateEvidence = Pick<DeploymentRecord, 'override' | 'violations' | 'approval'>;

export type DeploymentGate = (move: {
  model: string;
  stage: Stage;
  action: 'PROMOTE' | 'ROLLBACK';
  version: string;
  current: StagePointer | null;
}) => Promise<GateEvidence>;

export interface DeploymentResult {
  record: DeploymentRecord;
  pointer: StagePointer;
}

/**
 * Moves stage pointers. Each move is ONE conditional PutObject of the pointer
 * document, which carries the stage's history: If-Match the ETag we read (or
 * If-None-Match: * when creating it). Of two concurrent moves one wins and the
 * other gets CONFLICT; the winner's history entry is written in the same PUT, so
 * it is recorded exactly once and a loser's never.
 */
/** Most deployments kept inside a stage pointer; beyond it the oldest chunk is archived. */
export const HISTORY_INLINE_MAX = 200;
export const HISTORY_ARCHIVE_CHUNK = 100;

/**
 * Called after every successful move of a stage pointer (e.g. to keep
 * metadata/model_registry.json in step). The pointer is the source of truth: a
 * listener that fails is reported to `onWarning` and does not fail the move.
 */
export type DeploymentListener = (result: DeploymentResult) => Promise<void>;

export interface DeploymentsOptions {
  listeners?: DeploymentListener[];
  onWarning?: (message: string, details: Record<string, unknown>) => void;
}

export class Deployments {
  /** Archived history chunks are write-once: cached for good. */
  private readonly archives = new LRUCache<string, DeploymentRecord[]>({ max: 1_000 });
  private readonly listeners: DeploymentListener[];

  constructor(
    private readonly registry: Registry,
    private readonly opts: DeploymentsOptions = {},
  ) {
    this.listeners = [...(opts.listeners ?? [])];
  }

  /** Adds a listener called after every successful pointer move. */
  addListener(listener: DeploymentListener): void {
    this.listeners.push(listener);
  }

  private async notify(result: DeploymentResult): Promise<DeploymentResult> {
    for (const listener of this.listeners) {
      try {
        await listener(result);
      } catch (err) {
        this.opts.onWarning?.('a deployment listener failed; the stage pointer moved regardless', {
          model: result.record.model,
          stage: result.record.stage,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    return result;
  }

  /** The pointer as stored right now (no cache): the base of a compare-and-swap. */
  async currentPointer(model: string, stage: Stage): Promise<Versioned<StagePointer> | null> {
    const key = stagePointerKey(model, stage);
    const got = await this.registry.store.getIfExists(key);
    return got ? { value: parseJsonDocument(StagePointerSchema, got.body, key), etag: got.etag } : null;
  }

  async promote(req: DeploymentRequest): Promise<DeploymentResult> {
    assertStageAllowed(req.model, req.stage); // experimental models: staging only, nothing written
    await this.registry.requireModel(req.model);
    const metadata = await this.registry.versionMetadata(req.model, req.version);
    const current = await this.currentPointer(req.model, req.stage);
    expectGeneration(req, current);
    const evidence = await req.gate?.({
      model: req.model,
      stage: req.stage,
      action: 'PROMOTE',
      version: req.version,
      current: current?.value ?? null,
    });
    return this.notify(await this.swap(req, 'PROMOTE', metadata, current, undefined, evidence));
  }

  /**
   * Production (or staging) goes back to `to`, or, without it, to the version it
   * served before the current one (the `from` of the stage's latest deployment).
   */
  async rollback(req: Omit<DeploymentRequest, 'version'> & { to?: string | null }): Promise<DeploymentResult> {
    assertStageAllowed(req.model, req.stage);
    await this.registry.requireModel(req.model);
    const current = await this.currentPointer(req.model, req.stage);
    if (!current) throw new ModelNotDeployedError(req.model, req.stage);
    expectGeneration(req, current);
    let target = req.to ?? null;
    if (!target) {
      // The latest move of the version (traffic changes keep it).
      const latest = current.value.history.findLast((r) => r.action !== 'TRAFFIC');
      target = latest?.from ?? null;
      if (!target) {
        throw new BadUserInputError(
          `${req.model} has no earlier ${req.stage.toLowerCase()} version to roll back to; name one with "to"`,
          {
            model: req.model,
          },
        );
      }
    }
    const metadata = await this.registry.versionMetadata(req.model, target);
    const evidence = await req.gate?.({
      model: req.model,
      stage: req.stage,
      action: 'ROLLBACK',
      version: target,
      current: current.value,
    });
    return this.notify(
      await this.swap({ ...req, version: target }, 'ROLLBACK', metadata, current, undefined, evidence),
    );
  }

  /**
   * Sets shadow mode and/or the canary percentage of a model's production: one
   * conditional write of the production pointer, recorded in its history as a
   * TRAFFIC deployment (from = to = the current version). Omitted settings stay.
   */
  async configureTraffic(req: {
    model: string;
    shadow?: boolean | null;
    canaryPercent?: number | null;
    by: string;
    reason?: string | null;
    expectedGeneration?: number | null;
  }): Promise<DeploymentResult> {
    if (
      req.canaryPercent != null &&
      !(Number.isFinite(req.canaryPercent) && req.canaryPercent >= 0 && req.canaryPercent <= 100)
    ) {
      throw new BadUserInputError(`canaryPercent must be a number from 0 to 100 (got ${req.canaryPercent})`, {
        argument: 'canaryPercent',
      });
    }
    if (req.shadow == null && req.canaryPercent == null) {
      throw new BadUserInputError('configureTraffic needs shadow and/or canaryPercent', { argument: 'shadow' });
    }
    await this.registry.requireModel(req.model);
    const current = await this.currentPointer(req.model, 'PRODUCTION');
    if (!current) throw new ModelNotDeployedError(req.model, 'PRODUCTION');
    expectGeneration({ ...req, stage: 'PRODUCTION' }, current);
    const was = current.value.traffic ?? TRAFFIC_OFF;
    const traffic = { shadow: req.shadow ?? was.shadow, canary_percent: req.canaryPercent ?? was.canary_percent };
    const metadata = await this.registry.versionMetadata(req.model, current.value.version);
    return this.notify(
      await this.swap(
        { model: req.model, version: current.value.version, stage: 'PRODUCTION', by: req.by, reason: req.reason },
        'TRAFFIC',
        metadata,
        current,
        traffic,
      ),
    );
  }

  private async swap(
    req: DeploymentRequest,
    action: DeploymentAction,
    metadata: Awaited<ReturnType<Registry['versionMetadata']>>,
    current: Versioned<StagePointer> | null,
    traffic?: Traffic,
    evidence?: GateEvidence,
  ): Promise<DeploymentResult> {
    const generation = (current?.value.generation ?? 0) + 1;
    const at = new Date().toISOString();
    const record: DeploymentRecord = {
      id: randomUUID(),
      model: req.model,
      stage: req.stage,
      action,
      from: current?.value.version ?? null,
      to: req.version,
      by: req.by,
      at,
      reason: req.reason ?? null,
      generation,
      ...(traffic ? { traffic } : {}),
      ...evidence,
    };
    // Traffic settings belong to the stage, not the version: they survive promotions and rollbacks.
    const keptTraffic = traffic ?? current?.value.traffic;
    const pointer: StagePointer = {
      ...metadata,
      version: req.version,
      stage: req.stage,
      source: versionPrefix(req.model, req.version),
      generation,
      // A traffic change keeps the version and so its promotion's time and author.
      promoted_at: action === 'TRAFFIC' && current ? current.value.promoted_at : at,
      promoted_by: action === 'TRAFFIC' && current ? current.value.promoted_by : req.by,
      history: [...(current?.value.history ?? []), record],
      history_archives: current?.value.history_archives ?? [],
      ...(keptTraffic ? { traffic: keptTraffic } : {}),
    };
    await this.archiveOldHistory(req.model, req.stage, pointer);
    const key = stagePointerKey(req.model, req.stage);
    try {
      const { etag } = await this.registry.store.put(key, JSON.stringify(pointer, null, 2), {
        contentType: 'application/json',
        ...replacing(current?.etag),
      });
      this.registry.noteWritten(key, { value: pointer, etag });
    } catch (err) {
      // 412/409: the pointer moved since we read it; 404: it was deleted (If-Match on a missing key).
      if (err instanceof PreconditionFailedError || err instanceof ObjectNotFoundError) {
        // Our own PUT may have landed with its answer lost, and the SDK's retry of it
        // then failed its own precondition: the record in the stored history says so.
        const landed = await this.currentPointer(req.model, req.stage).catch(() => null);
        if (landed?.value.history.some((r) => r.id === record.id)) {
          this.registry.noteWritten(key, landed);
          return { record, pointer: landed.value };
        }
        this.registry.forget(key);
        throw new ConflictError(
          `${req.model} ${req.stage.toLowerCase()} changed while this ${action.toLowerCase()} was in flight; nothing was changed — read the current state and retry`,
          { model: req.model, stage: req.stage },
          { cause: err },
        );
      }
      throw err;
    }
    return { record, pointer };
  }

  /**
   * Keeps the pointer small: once its inline history exceeds HISTORY_INLINE_MAX,
   * the oldest HISTORY_ARCHIVE_CHUNK entries move to a write-once file before the
   * pointer is swapped. The chunk depends only on committed history, so racing
   * promoters write identical files (the loser's If-None-Match 412 is checked to
   * be that); a chunk written by a promoter that then loses its swap is the same
   * chunk the next promoter writes. Readers never miss an entry: the pointer
   * names its archives only once they exist.
   */
  private async archiveOldHistory(model: string, stage: Stage, pointer: StagePointer): Promise<void> {
    if (pointer.history.length <= HISTORY_INLINE_MAX) return;
    const chunk = pointer.history.slice(0, HISTORY_ARCHIVE_CHUNK);
    const key = stageHistoryArchiveKey(model, stage, chunk[0].generation, chunk.at(-1)!.generation);
    const body = JSON.stringify(chunk, null, 2);
    try {
      await this.registry.store.put(key, body, { ifNoneMatch: '*', contentType: 'application/json' });
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      const existing = await this.registry.store.get(key);
      if (existing.body.toString('utf8') !== body) {
        throw new ConflictError(
          `${key} exists with other deployments than this stage's history; nothing was changed`,
          { model, stage },
          { cause: err },
        );
      }
    }
    pointer.history = pointer.history.slice(HISTORY_ARCHIVE_CHUNK);
    pointer.history_archives = [...(pointer.history_archives ?? []), key];
  }

  private async archivedHistory(key: string): Promise<DeploymentRecord[]> {
    const cached = this.archives.get(key);
    if (cached) return cached;
    const records = parseJsonDocument(z.array(DeploymentRecordSchema), (await this.registry.store.get(key)).body, key);
    this.archives.set(key, records);
    return records;
  }

  /**
   * Both stages' histories of a model, newest first. `newest` bounds how many
   * are needed: archived chunks are read only when the inline histories do not
   * hold that many.
   */
  async history(model: string, newest = Number.POSITIVE_INFINITY): Promise<DeploymentRecord[]> {
    const pointers = await Promise.all(
      (['PRODUCTION', 'STAGING'] as const).map((s) => this.registry.stagePointer(model, s)),
    );
    const records: DeploymentRecord[] = [];
    for (const p of pointers) {
      if (!p) continue;
      let stageRecords = p.value.history;
      const archives = [...(p.value.history_archives ?? [])];
      while (stageRecords.length < newest && archives.length > 0) {
        stageRecords = [...(await this.archivedHistory(archives.pop()!)), ...stageRecords];
      }
      records.push(...stageRecords);
    }
    return records.sort((a, b) => (a.at === b.at ? b.generation - a.generation : b.at.localeCompare(a.at)));
  }
}

/**
 * CONFLICT when the caller named the generation it saw and the pointer has
 * moved since (a generation of 0 expects no pointer yet). The compare-and-swap
 * write then also fails if it moves between this read and the write.
 */
export function expectGeneration(
  req: { model: string; stage: Stage; expectedGeneration?: number | null },
  current: Versioned<StagePointer> | null,
): void {
  if (req.expectedGeneration == null) return;
  const generation = current?.value.generation ?? 0;
  if (generation !== req.expectedGeneration) {
    throw new ConflictError(
      `${req.model} ${req.stage.toLowerCase()} is at generation ${generation}, not the expected ${req.expectedGeneration}: it moved since you read it; nothing was changed — read the current state and retry`,
      { model: req.model, stage: req.stage, generation, expectedGeneration: req.expectedGeneration },
    );
  }
}
