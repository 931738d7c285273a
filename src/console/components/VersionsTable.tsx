/** The model's versions, a page at a time: filter by approval, tags and accuracy; sort by date or accuracy. */
import { useQuery } from '@apollo/client/react';
import { useState } from 'react';
import {
  ConsoleVersionsDocument,
  type ApprovalStatus,
  type ConsoleModelQuery,
  type VersionFilter,
  type VersionOrderField,
} from '../../generated/client/graphql';
import { count, percent } from '../format';
import { ApprovalBadge } from './Badges';
import { AliasAction, DecideAction, PromoteAction } from './ModelActions';
import { LoadError } from './States';
import { Time } from './Time';

type Model = NonNullable<ConsoleModelQuery['model']>;
const PAGE = 10;

/** `team=vol, dataset=2026-q3` → `{ team: "vol", dataset: "2026-q3" }`; null when malformed. */
export function parseTags(text: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

export function VersionsTable({
  model,
  refresh,
  refreshKey,
}: {
  model: Model;
  refresh(): Promise<unknown> | void;
  refreshKey: number;
}) {
  const [approval, setApproval] = useState<ApprovalStatus | ''>('');
  const [tagText, setTagText] = useState('');
  const [minAccuracy, setMinAccuracy] = useState('');
  const [order, setOrder] = useState<{ field: VersionOrderField; direction: 'ASC' | 'DESC' }>({
    field: 'CREATED_AT',
    direction: 'DESC',
  });
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const tags = parseTags(tagText);
  const filter: VersionFilter = {};
  if (approval) filter.approval = approval;
  if (tags && Object.keys(tags).length) filter.tags = tags;
  if (minAccuracy !== '' && Number.isFinite(Number(minAccuracy))) filter.minAccuracy = Number(minAccuracy) / 100;
  const after = cursors[cursors.length - 1];
  const { data, error, refetch, loading } = useQuery(ConsoleVersionsDocument, {
    variables: { id: model.id, filter, orderBy: order, first: PAGE, after },
  });
  const [seenKey, setSeenKey] = useState(refreshKey);
  if (seenKey !== refreshKey) {
    setSeenKey(refreshKey);
    void refetch();
  }
  const resetPaging = () => setCursors([null]);
  const sortBy = (field: VersionOrderField) => {
    setOrder((o) => ({ field, direction: o.field === field && o.direction === 'DESC' ? 'ASC' : 'DESC' }));
    resetPaging();
  };
  const ariaSort = (field: VersionOrderField) =>
    order.field === field ? (order.direction === 'ASC' ? 'ascending' : 'descending') : 'none';
  const conn = data?.model?.versionsConnection;
  const first = (cursors.length - 1) * PAGE;

  return (
    <>
      <div className="filters" role="group" aria-label="Filter versions">
        <label className="field inline">
          Approval
          <select
            value={approval}
            onChange={(e) => {
              setApproval(e.target.value as ApprovalStatus | '');
              resetPaging();
            }}
          >
            <option value="">any</option>
            <option value="PENDING">pending</option>
            <option value="APPROVED">approved</option>
            <option value="REJECTED">rejected</option>
          </select>
        </label>
        <label className="field inline">
          Tags (key=value, …)
          <input
            value={tagText}
            placeholder="team=vol"
            aria-invalid={tags === null || undefined}
            onChange={(e) => {
              setTagText(e.target.value);
              resetPaging();
            }}
          />
        </label>
        <label className="field inline">
          Min. training accuracy (%)
          <input
            type="number"
            min={0}
            max={100}
            value={minAccuracy}
            onChange={(e) => {
              setMinAccuracy(e.target.value);
              resetPaging();
            }}
          />
        </label>
      </div>
      {error && !data ? <LoadError error={error} retry={refetch} /> : null}
      {conn && conn.edges.length === 0 ? (
        <p className="empty">
          No version matches these filters. Clear them, or publish a version with{' '}
          <code>npm run modelgraph -- push</code>.
        </p>
      ) : null}
      {conn && conn.edges.length > 0 ? (
        <table className="dense versions" aria-busy={loading}>
          <caption className="sr-only">Versions of {model.id}</caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Stages / aliases</th>
              <th scope="col" aria-sort={ariaSort('CREATED_AT')}>
                <button type="button" className="sort" onClick={() => sortBy('CREATED_AT')}>
                  Created (UTC)
                </button>
              </th>
              <th scope="col" aria-sort={ariaSort('ACCURACY')}>
                <button type="button" className="sort" onClick={() => sortBy('ACCURACY')}>
                  Training acc. (%)
                </button>
              </th>
              <th scope="col" aria-sort={ariaSort('REALIZED_ACCURACY')}>
                <button type="button" className="sort" onClick={() => sortBy('REALIZED_ACCURACY')}>
                  Realised acc. (%)
                </button>
              </th>
              <th scope="col">Approval</th>
              <th scope="col">Tags</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {conn.edges.map(({ node: v }) => (
              <tr key={v.id} data-version={v.version}>
                <th scope="row">
                  <code>{v.version}</code>
                </th>
                <td>
                  {v.stages.map((s) => (
                    <span key={s} className={`badge stage-${s.toLowerCase()}`}>
                      {s.toLowerCase()}
                    </span>
                  ))}
                  {v.aliases.map((a) => (
                    <span key={a} className="badge alias">
                      {a}
                    </span>
                  ))}
                </td>
                <td>
                  <Time at={v.createdAt} />
                </td>
                <td className="num">{percent(v.accuracy)}</td>
                <td className="num">
                  {percent(v.realizedAccuracy)}
                  {v.realizedPredictions ? <span className="muted"> / {count(v.realizedPredictions)}</span> : null}
                </td>
                <td>
                  <ApprovalBadge status={v.approval.status} />
                  {v.approval.by ? <span className="muted"> by {v.approval.by}</span> : null}
                  {v.approval.publishedBy ? (
                    <div className="muted small">published by {v.approval.publishedBy}</div>
                  ) : null}
                </td>
                <td>
                  {Object.entries(v.tags).map(([k, val]) => (
                    <span key={k} className="tag">
                      {k}={String(val)}
                    </span>
                  ))}
                </td>
                <td className="row-actions">
                  <PromoteAction model={model} refresh={refresh} version={v} stage="PRODUCTION" />
                  <PromoteAction model={model} refresh={refresh} version={v} stage="STAGING" />
                  <DecideAction model={model} refresh={refresh} version={v} decision="approve" />
                  <DecideAction model={model} refresh={refresh} version={v} decision="reject" />
                  <AliasAction model={model} refresh={refresh} version={v} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {conn ? (
        <nav className="pager" aria-label="Versions pages">
          <span>
            {conn.totalCount === 0
              ? 'No versions'
              : `Versions ${first + 1}–${first + conn.edges.length} of ${conn.totalCount}`}
          </span>
          <button type="button" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
            Previous page
          </button>
          <button
            type="button"
            disabled={!conn.pageInfo.hasNextPage}
            onClick={() => setCursors((c) => [...c, conn.pageInfo.endCursor ?? null])}
          >
            Next page
          </button>
        </nav>
      ) : null}
    </>
  );
}
