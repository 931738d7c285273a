import type { Command } from 'commander';
import { BadUserInputError, ModelNotFoundError, VersionNotFoundError } from '../../errors';
import { parseModelId, parseVersion } from '../../registry/identifiers';
import { table } from '../io';
import { withCommonOptions, type CommandRunner, type CommonFlags } from '../program';
import { parseReason } from './deploy';

/**
 * Governance through the API: approve / reject (models:approve, four eyes),
 * aliases and tags (models:write), the promotion policy (models:approve), and
 * the reads that go with them (versions, compare). The server decides every
 * rule; the CLI only checks its own command line.
 */

const MAX_NOTE = 500;

function parseNote(note: string | undefined): string | null {
  if (note === undefined) return null;
  if (note.length > MAX_NOTE || /[\u0000-\u0008\u000b-\u001f\u007f]/.test(note))
    throw new BadUserInputError(`--note must be at most ${MAX_NOTE} printable characters`, { argument: 'note' });
  return note;
}

function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n))
      throw new BadUserInputError(`--${name} must be a whole number ≥ 0, not "${v.slice(0, 40)}"`, { argument: name });
    return n;
  };
}

function fraction(name: string) {
  return (v: string): number => {
    const n = /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(v) ? Number(v) : Number.NaN;
    if (!(n >= 0 && n <= 1))
      throw new BadUserInputError(`--${name} must be a number from 0 to 1, not "${v.slice(0, 40)}"`, {
        argument: name,
      });
    return n;
  };
}

const pct = (x: number | null | undefined) => (x == null ? '-' : `${(x * 100).toFixed(1)}%`);
const when = (at: string | null | undefined) => (at ? at.replace('T', ' ').slice(0, 19) : '-');

// ---- approve / reject -------------------------------------------------------------------

const APPROVAL_FIELDS = `status by at note publishedBy publishedAt generation`;
interface ApprovalView {
  status: 'PENDING' | 'APPROVED' | 'REJECTED';
  by: string | null;
  at: string | null;
  note: string | null;
  publishedBy: string | null;
  publishedAt: string | null;
  generation: number;
}

interface NoteFlags extends CommonFlags {
  note?: string;
}

function addDecisionCommand(program: Command, run: CommandRunner, decision: 'approve' | 'reject'): void {
  const mutation = decision === 'approve' ? 'approveVersion' : 'rejectVersion';
  withCommonOptions(
    program
      .command(decision)
      .summary(decision === 'approve' ? 'approve a version (models:approve)' : 'reject a version (models:approve)')
      .description(
        (decision === 'approve'
          ? 'Approve a registered version (mutation approveVersion). '
          : 'Reject a registered version (mutation rejectVersion): it is never rolled back to, and never promoted to ' +
            'production without an override. ') +
          'Needs the models:approve scope. Four eyes: the principal that published (registered) the version may not ' +
          "decide on it (FORBIDDEN, rule FOUR_EYES). Recorded in the version's approval history with the principal as `by`.",
      )
      .argument('<model>', 'model id, e.g. etfs/SMH')
      .argument('<version>', 'a registered version, e.g. v1.3')
      .option('--note <text>', 'why (recorded in the approval history)'),
  ).action(async (modelArg: string, versionArg: string, flags: NoteFlags) =>
    run(flags, async ({ out, api }) => {
      const model = parseModelId(modelArg);
      const version = parseVersion(versionArg);
      const note = parseNote(flags.note);
      const data = await api().request<Record<string, ApprovalView>>(
        `mutation Decide($model: ID!, $version: String!, $note: String) {
          ${mutation}(model: $model, version: $version, note: $note) { ${APPROVAL_FIELDS} }
        }`,
        { model, version, note },
      );
      const a = data[mutation];
      out.result(
        `${model}@${version} ${a.status} by ${a.by} (published by ${a.publishedBy ?? 'unknown'}, generation ${a.generation}` +
          `${a.note ? `, note: ${a.note}` : ''})`,
        { model, version, approval: a },
      );
    }),
  );
}

// ---- alias ------------------------------------------------------------------------------

const ALIAS_MOVE_FIELDS = `id model { id } alias action fromVersion toVersion by at reason generation`;
interface AliasMoveView {
  id: string;
  model: { id: string };
  alias: string;
  action: 'SET' | 'DELETE';
  fromVersion: string | null;
  toVersion: string | null;
  by: string;
  at: string;
  reason: string | null;
  generation: number;
}

interface AliasFlags extends CommonFlags {
  delete?: boolean;
  reason?: string;
  history?: boolean;
}

function describeMove(m: AliasMoveView): string {
  return (
    `${m.model.id} alias ${m.alias}: ${m.fromVersion ?? '(none)'} → ${m.toVersion ?? '(deleted)'} ` +
    `(by ${m.by}, generation ${m.generation}${m.reason ? `, reason: ${m.reason}` : ''})`
  );
}

function addAliasCommand(program: Command, run: CommandRunner): void {
  withCommonOptions(
    program
      .command('alias')
      .summary("list, show, set or delete a model's aliases (e.g. champion)")
      .description(
        'Aliases are named pointers beside production and staging (e.g. champion, paper), moved with compare-and-swap and ' +
          'kept with their history. `alias MODEL` lists them; `alias MODEL NAME` shows one with its history; ' +
          '`alias MODEL NAME VERSION` points it at a version (mutation setAlias, models:write); `alias MODEL NAME --delete` ' +
          'deletes it (mutation deleteAlias). Names: a-z, 0-9, "_" or "-", starting with a letter; production and staging are reserved.',
      )
      .argument('<model>', 'model id, e.g. etfs/SMH')
      .argument('[name]', 'the alias, e.g. champion')
      .argument('[version]', 'the version to point it at')
      .option('--delete', 'delete the alias (its history is kept)')
      .option('--reason <text>', 'why (recorded in the history)'),
  ).action(async (modelArg: string, name: string | undefined, versionArg: string | undefined, flags: AliasFlags) =>
    run(flags, async ({ out, api }) => {
      const model = parseModelId(modelArg);
      const version = versionArg === undefined ? undefined : parseVersion(versionArg);
      const reason = parseReason(flags.reason);
      const client = api();
      if (flags.delete && version !== undefined)
        throw new BadUserInputError('Give either a VERSION to point the alias at or --delete, not both', {
          argument: 'delete',
        });
      if ((flags.delete || version !== undefined) && name === undefined)
        throw new BadUserInputError('Name the alias', { argument: 'name' });
      if (!flags.delete && version === undefined && reason !== null)
        throw new BadUserInputError('--reason is recorded with a change: give a VERSION or --delete', {
          argument: 'reason',
        });

      if (version !== undefined || flags.delete) {
        const data = await client.request<{ setAlias?: AliasMoveView; deleteAlias?: AliasMoveView }>(
          flags.delete
            ? `mutation DeleteAlias($model: ID!, $alias: String!, $reason: String) {
                  deleteAlias(model: $model, alias: $alias, reason: $reason) { ${ALIAS_MOVE_FIELDS} }
                }`
            : `mutation SetAlias($model: ID!, $alias: String!, $version: String!, $reason: String) {
                  setAlias(model: $model, alias: $alias, version: $version, reason: $reason) { ${ALIAS_MOVE_FIELDS} }
                }`,
          { model, alias: name, version, reason },
        );
        const move = (data.setAlias ?? data.deleteAlias)!;
        out.result(describeMove(move), move);
        return;
      }

      if (name !== undefined) {
        const { model: found } = await client.request<{
          model: {
            alias: {
              name: string;
              version: { version: string } | null;
              generation: number;
              history: AliasMoveView[];
            } | null;
          } | null;
        }>(
          `query Alias($model: ID!, $alias: String!) {
              model(id: $model) { alias(name: $alias) { name version { version } generation history { ${ALIAS_MOVE_FIELDS} } } }
            }`,
          { model, alias: name },
        );
        if (!found) throw new ModelNotFoundError(model);
        const a = found.alias;
        if (!a)
          throw new BadUserInputError(`${model} has no alias "${name}" (see modelgraph alias ${model})`, {
            model,
            alias: name,
          });
        out.result(
          () =>
            [
              `${model} alias ${a.name}: ${a.version?.version ?? '(deleted)'}  (generation ${a.generation})`,
              '',
              table(
                ['AT', 'ACTION', 'FROM', 'TO', 'BY', 'REASON'],
                a.history.map((m) => [
                  when(m.at),
                  m.action.toLowerCase(),
                  m.fromVersion ?? '-',
                  m.toVersion ?? '-',
                  m.by,
                  m.reason ?? '',
                ]),
              ),
            ].join('\n'),
          {
            model,
            alias: { name: a.name, version: a.version?.version ?? null, generation: a.generation, history: a.history },
          },
        );
        return;
      }

      const { model: found } = await client.request<{
        model: { aliases: Array<{ name: string; version: { version: string } | null; generation: number }> } | null;
      }>(`query Aliases($model: ID!) { model(id: $model) { aliases { name version { version } generation } } }`, {
        model,
      });
      if (!found) throw new ModelNotFoundError(model);
      const aliases = found.aliases.map((a) => ({
        name: a.name,
        version: a.version?.version ?? null,
        generation: a.generation,
      }));
      out.result(
        () =>
          aliases.length === 0
            ? `${model} has no aliases. Set one with: modelgraph alias ${model} champion <version>`
            : table(
                ['ALIAS', 'VERSION', 'GENERATION'],
                aliases.map((a) => [a.name, a.version ?? '-', String(a.generation)]),
              ),
        { model, aliases },
      );
    }),
  );
}

// ---- policy -----------------------------------------------------------------------------

const RULE_FIELDS = `requireApproval minShadowRows minShadowAgreement minRealizedPredictions minRealizedAccuracy maxFeatureChanges
  evaluationDataset minEvaluationAccuracy maxAccuracyDropVsProduction`;
interface Rules {
  requireApproval: boolean;
  minShadowRows: number | null;
  minShadowAgreement: number | null;
  minRealizedPredictions: number | null;
  minRealizedAccuracy: number | null;
  maxFeatureChanges: number | null;
  evaluationDataset: string | null;
  minEvaluationAccuracy: number | null;
  maxAccuracyDropVsProduction: number | null;
}
interface PolicyView {
  rules: Rules;
  by: string;
  at: string;
  reason: string | null;
  generation: number;
}

interface PolicyFlags extends CommonFlags {
  requireApproval?: boolean;
  minShadowRows?: number;
  minShadowAgreement?: number;
  minRealizedPredictions?: number;
  minRealizedAccuracy?: number;
  maxFeatureChanges?: number;
  evaluationDataset?: string;
  minEvaluationAccuracy?: number;
  maxAccuracyDrop?: number;
  clear?: boolean;
  reason?: string;
}

function ruleLines(r: Rules): string[] {
  const lines = [
    r.requireApproval ? 'require approval: yes' : null,
    r.minShadowRows != null ? `min shadow rows: ${r.minShadowRows}` : null,
    r.minShadowAgreement != null ? `min shadow agreement: ${pct(r.minShadowAgreement)}` : null,
    r.minRealizedPredictions != null ? `min realized predictions: ${r.minRealizedPredictions}` : null,
    r.minRealizedAccuracy != null ? `min realized accuracy: ${pct(r.minRealizedAccuracy)}` : null,
    r.maxFeatureChanges != null ? `max feature changes: ${r.maxFeatureChanges}` : null,
    r.minEvaluationAccuracy != null
      ? `min evaluation accuracy on ${r.evaluationDataset}: ${pct(r.minEvaluationAccuracy)}`
      : null,
    r.maxAccuracyDropVsProduction != null
      ? `max accuracy drop vs production on ${r.evaluationDataset}: ${(r.maxAccuracyDropVsProduction * 100).toFixed(2)} points`
      : null,
  ].filter((l): l is string => l !== null);
  return lines.length ? lines.map((l) => `  ${l}`) : ['  (no rules: promotions are not checked)'];
}

function addPolicyCommand(program: Command, run: CommandRunner): void {
  withCommonOptions(
    program
      .command('policy')
      .summary("show or set a model's promotion policy (models:approve)")
      .description(
        'Without options: the promotion policy a promotion to production must satisfy (checked by the server inside the ' +
          "promotion's compare-and-swap; POLICY_VIOLATION lists the broken rules). With rule options: replace the policy " +
          '(mutation setPromotionPolicy, models:approve); rules not given are not required. --clear removes every rule. ' +
          'A rollback is never blocked by the policy.',
      )
      .argument('<model>', 'model id, e.g. etfs/SMH')
      .option('--require-approval', 'the candidate must be APPROVED')
      .option(
        '--min-shadow-rows <n>',
        'least rows run in shadow mode beside production',
        nonNegativeInt('min-shadow-rows'),
      )
      .option(
        '--min-shadow-agreement <x>',
        'least shadow agreement with production (0–1)',
        fraction('min-shadow-agreement'),
      )
      .option(
        '--min-realized-predictions <n>',
        'least predictions with recorded outcomes',
        nonNegativeInt('min-realized-predictions'),
      )
      .option('--min-realized-accuracy <x>', 'least realized accuracy (0–1)', fraction('min-realized-accuracy'))
      .option(
        '--max-feature-changes <n>',
        'most feature names added, removed or reordered against production',
        nonNegativeInt('max-feature-changes'),
      )
      .option('--evaluation-dataset <name>', 'the dataset the evaluation rules read (modelgraph dataset list)')
      .option(
        '--min-evaluation-accuracy <x>',
        'least accuracy on --evaluation-dataset (0–1; modelgraph evaluate)',
        fraction('min-evaluation-accuracy'),
      )
      .option(
        '--max-accuracy-drop <x>',
        "most accuracy points below production's on --evaluation-dataset (0–1)",
        fraction('max-accuracy-drop'),
      )
      .option('--clear', 'remove every rule')
      .option('--reason <text>', 'why (recorded in the policy history)'),
  ).action(async (modelArg: string, flags: PolicyFlags) =>
    run(flags, async ({ out, api }) => {
      const model = parseModelId(modelArg);
      const reason = parseReason(flags.reason);
      const policy = {
        ...(flags.requireApproval ? { requireApproval: true } : {}),
        ...(flags.minShadowRows !== undefined ? { minShadowRows: flags.minShadowRows } : {}),
        ...(flags.minShadowAgreement !== undefined ? { minShadowAgreement: flags.minShadowAgreement } : {}),
        ...(flags.minRealizedPredictions !== undefined ? { minRealizedPredictions: flags.minRealizedPredictions } : {}),
        ...(flags.minRealizedAccuracy !== undefined ? { minRealizedAccuracy: flags.minRealizedAccuracy } : {}),
        ...(flags.maxFeatureChanges !== undefined ? { maxFeatureChanges: flags.maxFeatureChanges } : {}),
        ...(flags.evaluationDataset !== undefined ? { evaluationDataset: flags.evaluationDataset } : {}),
        ...(flags.minEvaluationAccuracy !== undefined ? { minEvaluationAccuracy: flags.minEvaluationAccuracy } : {}),
        ...(flags.maxAccuracyDrop !== undefined ? { maxAccuracyDropVsProduction: flags.maxAccuracyDrop } : {}),
      };
      const setting = flags.clear || Object.keys(policy).length > 0;
      if (flags.clear && Object.keys(policy).length > 0)
        throw new BadUserInputError('--clear removes every rule: give it without rule options', { argument: 'clear' });
      const client = api();
      if (setting) {
        const { setPromotionPolicy: p } = await client.request<{ setPromotionPolicy: PolicyView }>(
          `mutation SetPolicy($model: ID!, $policy: PromotionPolicyInput!, $reason: String) {
            setPromotionPolicy(model: $model, policy: $policy, reason: $reason) { rules { ${RULE_FIELDS} } by at reason generation }
          }`,
          { model, policy, reason },
        );
        out.result(
          () =>
            [
              `${model} promotion policy set by ${p.by} (generation ${p.generation}${p.reason ? `, reason: ${p.reason}` : ''}):`,
              ...ruleLines(p.rules),
            ].join('\n'),
          { model, policy: p },
        );
        return;
      }
      if (reason !== null)
        throw new BadUserInputError('--reason is recorded with a change: give rule options or --clear', {
          argument: 'reason',
        });
      const { model: found } = await client.request<{ model: { policy: PolicyView | null } | null }>(
        `query Policy($model: ID!) { model(id: $model) { policy { rules { ${RULE_FIELDS} } by at reason generation } } }`,
        { model },
      );
      if (!found) throw new ModelNotFoundError(model);
      const p = found.policy;
      out.result(
        () =>
          p
            ? [
                `${model} promotion policy (set by ${p.by} at ${when(p.at)}, generation ${p.generation}${p.reason ? `, reason: ${p.reason}` : ''}):`,
                ...ruleLines(p.rules),
              ].join('\n')
            : `${model} has no promotion policy: promotions are not checked.`,
        { model, policy: p },
      );
    }),
  );
}

// ---- tag ---------------------------------------------------------------------------------

interface TagFlags extends CommonFlags {
  description?: string;
}

function parseTag(raw: string): [string, string] {
  const eq = raw.indexOf('=');
  if (eq <= 0)
    throw new BadUserInputError(`Tag ${JSON.stringify(raw.slice(0, 80))} is not key=value`, { argument: 'tags' });
  return [raw.slice(0, eq), raw.slice(eq + 1)];
}

function addTagCommand(program: Command, run: CommandRunner): void {
  withCommonOptions(
    program
      .command('tag')
      .summary("show or replace a version's tags (models:write)")
      .description(
        "Without key=value pairs or --description: the version's tags and description. With them: replace the version's tags " +
          '(mutation setVersionTags, models:write) — tags not given are removed — and its description when --description is ' +
          'given. Tags live outside the immutable version folder, with their history. Keys: 1–64 of A-Z a-z 0-9 _ . : -; ' +
          'values at most 256 characters; at most 50 tags.',
      )
      .argument('<model>', 'model id, e.g. etfs/SMH')
      .argument('<version>', 'the version')
      .argument('[tags...]', 'key=value pairs, e.g. team=vol dataset=2026-q3')
      .option('--description <text>', "the version's description (at most 2,000 characters)"),
  ).action(async (modelArg: string, versionArg: string, pairs: string[], flags: TagFlags) =>
    run(flags, async ({ out, api }) => {
      const model = parseModelId(modelArg);
      const version = parseVersion(versionArg);
      const entries = pairs.map(parseTag);
      const keys = new Set<string>();
      for (const [k] of entries) {
        if (keys.has(k)) throw new BadUserInputError(`Tag "${k}" is given twice`, { argument: 'tags' });
        keys.add(k);
      }
      const client = api();
      const show = (tags: Record<string, unknown>, description: string | null) => {
        const lines = Object.entries(tags).map(([k, v]) => `  ${k}=${String(v)}`);
        return [
          `${model}@${version} tags:`,
          ...(lines.length ? lines : ['  (none)']),
          ...(description ? ['', `description: ${description}`] : []),
        ].join('\n');
      };
      if (entries.length === 0 && flags.description === undefined) {
        const { model: found } = await client.request<{
          model: { version: { tags: Record<string, unknown>; description: string | null } | null } | null;
        }>(
          `query Tags($model: ID!, $version: String!) { model(id: $model) { version(version: $version) { tags description } } }`,
          {
            model,
            version,
          },
        );
        if (!found) throw new ModelNotFoundError(model);
        if (!found.version) throw new VersionNotFoundError(model, version);
        const { tags, description } = found.version;
        out.result(() => show(tags, description), { model, version, tags, description });
        return;
      }
      if (entries.length === 0)
        throw new BadUserInputError(
          'Give the tags too (key=value …): setting tags replaces them all, so --description alone would remove them',
          { argument: 'tags' },
        );
      const { setVersionTags: v } = await client.request<{
        setVersionTags: { tags: Record<string, unknown>; description: string | null };
      }>(
        `mutation SetTags($model: ID!, $version: String!, $tags: JSONObject!, $description: String) {
          setVersionTags(model: $model, version: $version, tags: $tags, description: $description) { tags description }
        }`,
        { model, version, tags: Object.fromEntries(entries), description: flags.description },
      );
      out.result(() => show(v.tags, v.description), { model, version, tags: v.tags, description: v.description });
    }),
  );
}

// ---- versions ---------------------------------------------------------------------------

interface VersionsFlags extends CommonFlags {
  filter: string[];
  orderBy?: { field: string; direction: 'ASC' | 'DESC' };
  first?: number;
}

const FILTER_SYNTAX =
  'approval=PENDING|APPROVED|REJECTED, tag.KEY=VALUE, minAccuracy=X, minRealizedAccuracy=X, createdAfter=ISO-DATE';

/** `approval=APPROVED,tag.team=vol,minAccuracy=0.7` (repeatable) → VersionFilter. */
export function parseVersionFilter(parts: string[]): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  const tags: Record<string, string> = {};
  for (const part of parts.flatMap((p) => p.split(',')).filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    const bad = (why: string) =>
      new BadUserInputError(`--filter ${JSON.stringify(part.slice(0, 80))}: ${why} (filters: ${FILTER_SYNTAX})`, {
        argument: 'filter',
      });
    if (eq < 0) throw bad('not key=value');
    if (key.startsWith('tag.') && key.length > 4) tags[key.slice(4)] = value;
    else if (key === 'approval') {
      const status = value.toUpperCase();
      if (!['PENDING', 'APPROVED', 'REJECTED'].includes(status)) throw bad('approval is PENDING, APPROVED or REJECTED');
      filter.approval = status;
    } else if (key === 'minAccuracy' || key === 'minRealizedAccuracy') {
      const n = /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(value) ? Number(value) : Number.NaN;
      if (!(n >= 0 && n <= 1)) throw bad('an accuracy is a number from 0 to 1');
      filter[key] = n;
    } else if (key === 'createdAfter') {
      if (Number.isNaN(Date.parse(value))) throw bad('createdAfter is an ISO date or date-time');
      filter.createdAfter = new Date(value).toISOString();
    } else throw bad(`unknown filter "${key}"`);
  }
  if (Object.keys(tags).length) filter.tags = tags;
  return filter;
}

const ORDER_FIELDS: Record<string, string> = {
  created: 'CREATED_AT',
  createdat: 'CREATED_AT',
  accuracy: 'ACCURACY',
  realized: 'REALIZED_ACCURACY',
  realizedaccuracy: 'REALIZED_ACCURACY',
};

function parseOrderBy(v: string): { field: string; direction: 'ASC' | 'DESC' } {
  const [f, d = 'desc', ...rest] = v.split(':');
  const field = ORDER_FIELDS[f.toLowerCase().replace(/[_-]/g, '')];
  const direction = d.toUpperCase();
  if (!field || rest.length || (direction !== 'ASC' && direction !== 'DESC'))
    throw new BadUserInputError(
      `--order-by must be FIELD[:asc|desc] with FIELD created, accuracy or realizedAccuracy, not "${v.slice(0, 40)}"`,
      { argument: 'order-by' },
    );
  return { field, direction };
}

function firstOption(v: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!(n >= 1 && n <= 200))
    throw new BadUserInputError(`--first must be a whole number from 1 to 200, not "${v.slice(0, 40)}"`, {
      argument: 'first',
    });
  return n;
}

interface VersionsPage {
  model: {
    versionsConnection: {
      edges: Array<{ node: VersionListRow }>;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  } | null;
}

interface VersionListRow {
  version: string;
  createdAt: string | null;
  accuracy: number | null;
  stages: string[];
  approval: { status: string; publishedBy: string | null };
  tags: Record<string, unknown>;
  aliases: string[];
}

function addVersionsCommand(program: Command, run: CommandRunner): void {
  withCommonOptions(
    program
      .command('versions')
      .summary("list a model's versions: approval, tags, aliases; filtered and ordered")
      .description(
        "A model's versions with their stages, approval, tags and aliases (Model.versions). --filter and --order-by ask the " +
          `server to filter and order (newest first by default). Filters (comma-separated or repeated): ${FILTER_SYNTAX}.`,
      )
      .argument('<model>', 'model id, e.g. etfs/SMH')
      .option(
        '--filter <filters>',
        'e.g. approval=APPROVED,tag.team=vol,minAccuracy=0.7',
        (value: string, previous: string[]) => [...previous, value],
        [] as string[],
      )
      .option(
        '--order-by <field[:dir]>',
        'created, accuracy or realizedAccuracy, :asc or :desc (default desc)',
        parseOrderBy,
      )
      .option('--first <n>', 'at most this many versions (1–200)', firstOption),
  ).action(async (modelArg: string, flags: VersionsFlags) =>
    run(flags, async ({ out, api }) => {
      const model = parseModelId(modelArg);
      const filter = parseVersionFilter(flags.filter);
      const paged = flags.filter.length > 0 || flags.orderBy !== undefined || flags.first !== undefined;
      // versionsConnection a page at a time: --first is one page; without it, every version (pages of 200).
      const client = api();
      const versions: VersionListRow[] = [];
      let after: string | null = null;
      for (;;) {
        const page: VersionsPage = await client.request<VersionsPage>(
          `query Versions($model: ID!, $filter: VersionFilter, $orderBy: VersionOrder, $first: Int, $after: String) {
            model(id: $model) {
              versionsConnection(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
                edges { node { version createdAt accuracy stages approval { status publishedBy } tags aliases } }
                pageInfo { hasNextPage endCursor }
              }
            }
          }`,
          { model, filter: paged ? filter : undefined, orderBy: flags.orderBy, first: flags.first ?? 200, after },
        );
        if (!page.model) throw new ModelNotFoundError(model);
        const conn = page.model.versionsConnection;
        versions.push(...conn.edges.map((e) => e.node));
        if (flags.first !== undefined || !conn.pageInfo.hasNextPage || !conn.pageInfo.endCursor) break;
        after = conn.pageInfo.endCursor;
      }
      out.result(
        () =>
          versions.length === 0
            ? `No versions of ${model}${paged ? ' match' : ''}.`
            : table(
                ['VERSION', 'CREATED', 'ACCURACY', 'APPROVAL', 'PUBLISHED BY', 'STAGES', 'ALIASES', 'TAGS'],
                versions.map((v) => [
                  v.version,
                  v.createdAt?.slice(0, 10) ?? '-',
                  v.accuracy?.toFixed(3) ?? '-',
                  v.approval.status.toLowerCase(),
                  v.approval.publishedBy ?? '-',
                  v.stages.map((s) => s.toLowerCase()).join(',') || '-',
                  v.aliases.join(',') || '-',
                  Object.entries(v.tags)
                    .map(([k, val]) => `${k}=${String(val)}`)
                    .join(' ') || '-',
                ]),
              ),
        { model, versions },
      );
    }),
  );
}

// ---- compare -----------------------------------------------------------------------------

interface Comparison {
  a: { version: string; accuracy: number | null; trainingSamples: number | null; approval: { status: string } };
  b: { version: string; accuracy: number | null; trainingSamples: number | null; approval: { status: string } };
  featuresAdded: string[];
  featuresRemoved: string[];
  featuresReordered: string[];
  labelsAdded: string[];
  labelsRemoved: string[];
  accuracyDelta: number | null;
  trainingSamplesDelta: number | null;
  realizedDaily: Array<{
    date: string;
    a: { predictions: number; accuracy: number | null } | null;
    b: { predictions: number; accuracy: number | null } | null;
  }>;
  shadowAgreement: {
    productionVersion: string;
    stagingVersion: string;
    rows: number;
    agreements: number;
    rate: number | null;
  } | null;
}

function addCompareCommand(program: Command, run: CommandRunner): void {
  withCommonOptions(
    program
      .command('compare')
      .summary('two versions of a model side by side')
      .description(
        'Two versions side by side (compareVersions): feature and label changes, training accuracy and samples, realized ' +
          'accuracy per day, shadow agreement of the pair, approvals.',
      )
      .argument('<model>', 'model id, e.g. etfs/SMH')
      .argument('<a>', 'the first version (e.g. production)')
      .argument('<b>', 'the second version (e.g. the candidate)'),
  ).action(async (modelArg: string, aArg: string, bArg: string, flags: CommonFlags) =>
    run(flags, async ({ out, api }) => {
      const model = parseModelId(modelArg);
      const a = parseVersion(aArg);
      const b = parseVersion(bArg);
      const side = `version accuracy trainingSamples approval { status }`;
      const { compareVersions: c } = await api().request<{ compareVersions: Comparison }>(
        `query Compare($model: ID!, $a: String!, $b: String!) {
          compareVersions(model: $model, a: $a, b: $b) {
            a { ${side} } b { ${side} }
            featuresAdded featuresRemoved featuresReordered labelsAdded labelsRemoved accuracyDelta trainingSamplesDelta
            realizedDaily { date a { predictions accuracy } b { predictions accuracy } }
            shadowAgreement { productionVersion stagingVersion rows agreements rate }
          }
        }`,
        { model, a, b },
      );
      const list = (xs: string[]) => (xs.length ? xs.join(', ') : '-');
      const signed = (x: number | null, f: (n: number) => string) => (x == null ? '-' : `${x >= 0 ? '+' : ''}${f(x)}`);
      out.result(
        () =>
          [
            `${model}: ${a} → ${b}`,
            '',
            table(
              ['', a, b, 'DELTA'],
              [
                ['approval', c.a.approval.status.toLowerCase(), c.b.approval.status.toLowerCase(), ''],
                [
                  'accuracy',
                  c.a.accuracy?.toFixed(3) ?? '-',
                  c.b.accuracy?.toFixed(3) ?? '-',
                  signed(c.accuracyDelta, (n) => n.toFixed(3)),
                ],
                [
                  'training samples',
                  String(c.a.trainingSamples ?? '-'),
                  String(c.b.trainingSamples ?? '-'),
                  signed(c.trainingSamplesDelta, String),
                ],
              ],
            ),
            '',
            `features added: ${list(c.featuresAdded)}`,
            `features removed: ${list(c.featuresRemoved)}`,
            `features reordered: ${list(c.featuresReordered)}`,
            `labels added: ${list(c.labelsAdded)}`,
            `labels removed: ${list(c.labelsRemoved)}`,
            `shadow agreement: ${
              c.shadowAgreement
                ? `${pct(c.shadowAgreement.rate)} of ${c.shadowAgreement.rows} rows (production ${c.shadowAgreement.productionVersion}, staging ${c.shadowAgreement.stagingVersion})`
                : 'never ran side by side'
            }`,
            ...(c.realizedDaily.length
              ? [
                  '',
                  'REALIZED ACCURACY PER DAY',
                  table(
                    ['DATE', a, b],
                    c.realizedDaily.map((d) => [
                      d.date,
                      d.a ? `${pct(d.a.accuracy)} of ${d.a.predictions}` : '-',
                      d.b ? `${pct(d.b.accuracy)} of ${d.b.predictions}` : '-',
                    ]),
                  ),
                ]
              : []),
          ].join('\n'),
        { model, comparison: c },
      );
    }),
  );
}

export function addGovernanceCommands(program: Command, run: CommandRunner): void {
  addDecisionCommand(program, run, 'approve');
  addDecisionCommand(program, run, 'reject');
  addAliasCommand(program, run);
  addPolicyCommand(program, run);
  addTagCommand(program, run);
  addVersionsCommand(program, run);
  addCompareCommand(program, run);
}
