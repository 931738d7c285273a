/**
 * The model page's actions, each an ActionDialog whose confirmation lists
 * exactly what will change, guarded by a fresh read of the state it describes.
 */
import { useApolloClient, useMutation } from '@apollo/client/react';
import { useState } from 'react';
import {
  ConsoleApproveDocument,
  ConsoleConfigureTrafficDocument,
  ConsolePromoteDocument,
  ConsoleRejectDocument,
  ConsoleRollbackDocument,
  ConsoleSetAliasDocument,
  type ApprovalStatus,
  type ConsoleModelQuery,
  type Stage,
} from '../../generated/client/graphql';
import { inCanary } from '../canary';
import { ensureUnchanged, generationOf } from '../guard';
import { usePermissions } from '../session';
import { ActionDialog } from './ActionDialog';

type Model = NonNullable<ConsoleModelQuery['model']>;
export interface RowVersion {
  version: string;
  approval: { status: ApprovalStatus; publishedBy?: string | null };
}
interface Common {
  model: Model;
  refresh(): Promise<unknown> | void;
}

const stageName = (s: Stage) => (s === 'PRODUCTION' ? 'production' : 'staging');

export function PromoteAction({ model, refresh, version, stage }: Common & { version: RowVersion; stage: Stage }) {
  const client = useApolloClient();
  const [promote] = useMutation(ConsolePromoteDocument);
  const perms = usePermissions();
  const [override, setOverride] = useState(false);
  const current = (stage === 'PRODUCTION' ? model.production : model.staging)?.version ?? null;
  const tickers = model.assetsConnection.totalCount;
  const rules = model.policy?.rules;
  const disabled =
    perms.write ??
    (current === version.version ? `${version.version} already serves ${stageName(stage)}.` : null) ??
    (stage === 'PRODUCTION' && model.type === 'EXPERIMENTAL'
      ? 'An experimental model is never served to production.'
      : null);
  const changes = [
    <>
      {stageName(stage)} of <code>{model.id}</code>: <code>{current ?? 'nothing'}</code> →{' '}
      <code>{version.version}</code> (approval: {version.approval.status.toLowerCase()})
    </>,
    stage === 'PRODUCTION' ? (
      <>
        the {tickers} ticker{tickers === 1 ? '' : 's'} this model serves are answered by <code>{version.version}</code>
        {model.traffic.canaryPercent > 0 ? ' (except canary tickers, served by staging)' : ''}
      </>
    ) : (
      <>
        staging predictions, shadow runs and canary tickers use <code>{version.version}</code>
      </>
    ),
    <>
      a {override ? 'policy-override ' : ''}deployment by {perms.who ?? 'you'} is added to the timeline
    </>,
  ];
  if (stage === 'PRODUCTION' && rules?.requireApproval && version.approval.status !== 'APPROVED')
    changes.push(
      <strong>
        the policy requires approval and this version is {version.approval.status.toLowerCase()}: the server will refuse
        unless you override
      </strong>,
    );
  return (
    <ActionDialog
      label={stage === 'PRODUCTION' ? 'Promote' : 'Stage'}
      ariaLabel={
        stage === 'PRODUCTION'
          ? `Promote ${version.version} to production`
          : `Stage ${version.version} (promote to staging)`
      }
      title={`Promote ${version.version} to ${stageName(stage)}?`}
      disabledReason={disabled}
      changes={changes}
      fields={
        stage === 'PRODUCTION' && !perms.approve ? (
          <label className="field check">
            <input type="checkbox" checked={override} onChange={(e) => setOverride(e.target.checked)} />
            Override the promotion policy (recorded with the broken rules; needs a reason)
          </label>
        ) : null
      }
      confirmLabel={`Promote to ${stageName(stage)}`}
      run={async (reason) => {
        const fresh = await ensureUnchanged(
          client,
          model.id,
          stage === 'PRODUCTION' ? { production: current } : { staging: current },
        );
        return promote({
          variables: {
            model: model.id,
            version: version.version,
            stage,
            reason: reason || null,
            override,
            expectedGeneration: generationOf(fresh, stage),
          },
        });
      }}
      refresh={refresh}
    />
  );
}

export function RollbackAction({ model, refresh, stage }: Common & { stage: Stage }) {
  const client = useApolloClient();
  const [rollback] = useMutation(ConsoleRollbackDocument);
  const perms = usePermissions();
  const current = (stage === 'PRODUCTION' ? model.production : model.staging)?.version ?? null;
  const last = model.historyConnection.edges
    .map((e) => e.node)
    .find((d) => d.stage === stage && d.action !== 'TRAFFIC');
  const to = last?.fromVersion ?? null;
  const disabled = perms.write ?? (!current || !to ? `${stageName(stage)} has no earlier version to return to.` : null);
  return (
    <ActionDialog
      label={`Roll back ${stageName(stage)}`}
      title={`Roll back ${stageName(stage)} of ${model.id}?`}
      disabledReason={disabled}
      danger
      changes={[
        <>
          {stageName(stage)} of <code>{model.id}</code>: <code>{current}</code> → <code>{to}</code> (the version it
          served before)
        </>,
        <>a rollback by {perms.who ?? 'you'} is added to the timeline (the promotion policy never blocks a rollback)</>,
      ]}
      confirmLabel="Roll back"
      run={async (reason) => {
        const fresh = await ensureUnchanged(
          client,
          model.id,
          stage === 'PRODUCTION' ? { production: current } : { staging: current },
        );
        return rollback({
          variables: {
            model: model.id,
            to,
            stage,
            reason: reason || null,
            expectedGeneration: generationOf(fresh, stage),
          },
        });
      }}
      refresh={refresh}
    />
  );
}

export function DecideAction({
  model,
  refresh,
  version,
  decision,
}: Common & { version: RowVersion; decision: 'approve' | 'reject' }) {
  const [approve] = useMutation(ConsoleApproveDocument);
  const [reject] = useMutation(ConsoleRejectDocument);
  const perms = usePermissions();
  const target: ApprovalStatus = decision === 'approve' ? 'APPROVED' : 'REJECTED';
  const disabled =
    perms.approve ??
    (version.approval.status === target ? `${version.version} is already ${target.toLowerCase()}.` : null) ??
    (version.approval.publishedBy && version.approval.publishedBy === perms.who
      ? `Four eyes: you (${perms.who}) published ${version.version}; another principal must decide.`
      : null);
  return (
    <ActionDialog
      label={decision === 'approve' ? 'Approve' : 'Reject'}
      ariaLabel={`${decision === 'approve' ? 'Approve' : 'Reject'} ${version.version}`}
      title={`${decision === 'approve' ? 'Approve' : 'Reject'} ${model.id} ${version.version}?`}
      disabledReason={disabled}
      danger={decision === 'reject'}
      changes={[
        <>
          approval of <code>{version.version}</code>: {version.approval.status.toLowerCase()} → {target.toLowerCase()},
          decided by {perms.who ?? 'you'}
        </>,
        decision === 'reject' ? (
          <>a rejected version is never promoted to production without an override and never rolled back to</>
        ) : (
          <>the version then meets a policy's “requireApproval” rule</>
        ),
      ]}
      reasonLabel="Note (recorded in the approval history)"
      confirmLabel={decision === 'approve' ? 'Approve' : 'Reject'}
      run={(note) => {
        const variables = { model: model.id, version: version.version, note: note || null };
        return decision === 'approve' ? approve({ variables }) : reject({ variables });
      }}
      refresh={refresh}
    />
  );
}

export function AliasAction({ model, refresh, version }: Common & { version: RowVersion }) {
  const client = useApolloClient();
  const [setAlias] = useMutation(ConsoleSetAliasDocument);
  const perms = usePermissions();
  const [name, setName] = useState(model.aliases[0]?.name ?? 'champion');
  const current = model.aliases.find((a) => a.name === name)?.version?.version ?? null;
  const valid = /^[a-z][a-z0-9_-]{0,62}$/.test(name) && name !== 'production' && name !== 'staging';
  const listId = `aliases-${version.version}`;
  return (
    <ActionDialog
      label="Set alias"
      ariaLabel={`Set alias for ${version.version}`}
      title={`Point an alias of ${model.id} at ${version.version}?`}
      disabledReason={perms.write}
      fields={
        <label className="field">
          Alias name (lower case; not production or staging)
          <input
            value={name}
            list={listId}
            onChange={(e) => setName(e.target.value)}
            aria-invalid={!valid || undefined}
          />
          <datalist id={listId}>
            {model.aliases.map((a) => (
              <option key={a.id} value={a.name} />
            ))}
          </datalist>
        </label>
      }
      changes={[
        <>
          alias <code>{name || '…'}</code>: <code>{current ?? 'new alias'}</code> → <code>{version.version}</code>
        </>,
        <>
          predictions asking for alias “{name}” are answered by {version.version}
        </>,
      ]}
      confirmLabel="Set alias"
      run={async (reason) => {
        const fresh = await ensureUnchanged(client, model.id, { alias: { name, version: current } });
        return setAlias({
          variables: {
            model: model.id,
            alias: name,
            version: version.version,
            reason: reason || null,
            // A deleted alias is not listed: then the server creates or revives it without an expectation.
            expectedGeneration: fresh.aliases.find((a) => a.name === name)?.generation ?? null,
          },
        });
      }}
      refresh={refresh}
    />
  );
}

export function TrafficAction({ model, refresh }: Common) {
  const client = useApolloClient();
  const [configure] = useMutation(ConsoleConfigureTrafficDocument);
  const perms = usePermissions();
  const [shadow, setShadow] = useState(model.traffic.shadow);
  const [canary, setCanary] = useState(String(model.traffic.canaryPercent));
  const pct = Number(canary);
  const tickers = model.assetsConnection.edges.map((e) => e.node.ticker);
  const canaryTickers = Number.isFinite(pct) ? tickers.filter((t) => inCanary(model.id, t, pct)) : [];
  const disabled = perms.write ?? (model.production ? null : 'Nothing is deployed to production yet.');
  const changes = [];
  if (shadow !== model.traffic.shadow)
    changes.push(
      <>
        shadow mode: {model.traffic.shadow ? 'on' : 'off'} → {shadow ? 'on' : 'off'}
        {shadow ? ` (every production prediction also runs staging ${model.staging?.version ?? ''})` : ''}
      </>,
    );
  if (pct !== model.traffic.canaryPercent)
    changes.push(
      <>
        canary: {model.traffic.canaryPercent} % → {Number.isFinite(pct) ? pct : '?'} % of tickers served by staging{' '}
        <code>{model.staging?.version ?? '—'}</code>: {canaryTickers.length} of {tickers.length} tickers
        {canaryTickers.length
          ? ` (${canaryTickers.slice(0, 12).join(', ')}${canaryTickers.length > 12 ? ', …' : ''})`
          : ''}
      </>,
    );
  if (changes.length === 0) changes.push(<>nothing yet: change shadow or canary below</>);
  return (
    <ActionDialog
      label="Configure traffic…"
      title={`Configure shadow and canary traffic of ${model.id}`}
      disabledReason={disabled}
      fields={
        <>
          <label className="field check">
            <input type="checkbox" checked={shadow} onChange={(e) => setShadow(e.target.checked)} />
            Shadow mode (run staging beside production, compare answers)
          </label>
          <label className="field">
            Canary (% of tickers served by staging, 0–100)
            <input
              type="number"
              min={0}
              max={100}
              step={1}
              value={canary}
              onChange={(e) => setCanary(e.target.value)}
            />
          </label>
        </>
      }
      changes={changes}
      confirmLabel="Apply traffic"
      run={async (reason) => {
        const fresh = await ensureUnchanged(client, model.id, {
          production: model.production?.version ?? null,
          traffic: { shadow: model.traffic.shadow, canaryPercent: model.traffic.canaryPercent },
        });
        return configure({
          variables: {
            model: model.id,
            shadow,
            canaryPercent: pct,
            reason: reason || null,
            expectedGeneration: generationOf(fresh, 'PRODUCTION'),
          },
        });
      }}
      refresh={refresh}
    />
  );
}
