/**
 * A version's evaluations on history (`Version.evaluations`, newest first):
 * one row per dataset with the run's state while its chunks are scored, then
 * the result document's figures — accuracy, the comparison version's, their
 * agreement, the P&L of following each — and per class precision, recall, F1.
 * Polls while an evaluation runs.
 */
import { useQuery } from '@apollo/client/react';
import { useEffect, useState } from 'react';
import {
  ConsoleVersionEvaluationsDocument,
  ConsoleVersionsDocument,
  type ConsoleModelQuery,
  type ConsoleVersionEvaluationsQuery,
} from '../../generated/client/graphql';
import { count, percent, signed } from '../format';
import { LoadError } from './States';
import { Time } from './Time';

type Model = NonNullable<ConsoleModelQuery['model']>;
type Evaluation = NonNullable<NonNullable<ConsoleVersionEvaluationsQuery['model']>['version']>['evaluations'][number];

/** While an evaluation runs, read it again this often. */
const POLL_MS = 2000;

function StatusCell({ e }: { e: Evaluation }) {
  const label = `Progress of ${e.version} on ${e.dataset}`;
  return (
    <>
      <span className={`badge evaluation-${e.status.toLowerCase()}`}>{e.status.toLowerCase()}</span>
      {e.status === 'SUCCEEDED' ? null : (
        <span className="bar">
          <meter min={0} max={1} value={e.progress} aria-label={label} />
          <span className="num">
            {percent(e.progress, 0)} ({e.chunksDone} of {e.chunks} chunks)
          </span>
        </span>
      )}
      {e.error ? <div className="why error">{e.error}</div> : null}
    </>
  );
}

function ClassTable({ e }: { e: Evaluation }) {
  const classes = e.result?.classes ?? [];
  return (
    <table className="dense classes" data-evaluation={e.id}>
      <caption>
        Per class: <code>{e.version}</code> on {e.dataset}
      </caption>
      <thead>
        <tr>
          <th scope="col">Class</th>
          <th scope="col" className="num">
            Precision (%)
          </th>
          <th scope="col" className="num">
            Recall (%)
          </th>
          <th scope="col" className="num">
            F1 (%)
          </th>
          <th scope="col" className="num">
            Support (rows)
          </th>
        </tr>
      </thead>
      <tbody>
        {classes.map((c) => (
          <tr key={c.label} data-label={c.label}>
            <th scope="row">
              <code>{c.label}</code>
            </th>
            <td className="num">{percent(c.precision)}</td>
            <td className="num">{percent(c.recall)}</td>
            <td className="num">{percent(c.f1)}</td>
            <td className="num">{count(c.support)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Evaluations({ model }: { model: Model }) {
  const names = useQuery(ConsoleVersionsDocument, {
    variables: { id: model.id, orderBy: { field: 'CREATED_AT', direction: 'DESC' }, first: 200 },
  });
  const all = names.data?.model?.versionsConnection.edges.map((e) => e.node.version) ?? [];
  const [picked, setPicked] = useState<string | null>(null);
  // The candidate a person is about to promote: staging when it differs from production, else the newest.
  const candidate =
    model.staging && model.staging.version !== model.production?.version ? model.staging.version : all[0];
  const version = picked ?? candidate ?? null;
  const { data, error, refetch, startPolling, stopPolling } = useQuery(ConsoleVersionEvaluationsDocument, {
    variables: { model: model.id, version: version ?? '' },
    skip: !version,
  });
  const evaluations = data?.model?.version?.evaluations;
  const running = evaluations?.some((e) => e.status === 'RUNNING') ?? false;
  useEffect(() => {
    if (!running) return;
    startPolling(POLL_MS);
    return () => stopPolling();
  }, [running, startPolling, stopPolling]);

  if (names.data && all.length === 0) return <p className="empty">No version yet.</p>;
  const done = evaluations?.filter((e) => e.result) ?? [];
  return (
    <>
      <div className="filters">
        <label className="field inline">
          Version
          <select value={version ?? ''} onChange={(e) => setPicked(e.target.value)}>
            {all.map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </label>
      </div>
      {error && !data ? <LoadError error={error} retry={refetch} /> : null}
      {evaluations && evaluations.length === 0 ? (
        <p className="empty" data-testid="evaluations-empty">
          No evaluation of <code>{version}</code> yet. Score it on a dataset of past rows with{' '}
          <code>
            npm run modelgraph -- evaluate {model.id} {version} --dataset NAME
          </code>{' '}
          (<code>npm run modelgraph -- dataset list</code> names the datasets pushed); it is compared with production
          row by row.
        </p>
      ) : null}
      {evaluations && evaluations.length > 0 ? (
        // Focusable and named: a keyboard can scroll it when the columns are wider than the page.
        <div className="scroll" tabIndex={0} role="region" aria-label={`Evaluations of ${version}`}>
          <table className="dense evaluations">
            <caption className="sr-only">Evaluations of {version}</caption>
            <thead>
              <tr>
                <th scope="col">Dataset</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">
                  Rows scored
                </th>
                <th scope="col" className="num">
                  Accuracy (%)
                </th>
                <th scope="col">Compared with</th>
                <th scope="col" className="num">
                  Its accuracy (%)
                </th>
                <th scope="col" className="num">
                  Agreement (%)
                </th>
                <th scope="col" className="num">
                  P&amp;L following <code>{version}</code>
                </th>
                <th scope="col" className="num">
                  P&amp;L following the comparison
                </th>
                <th scope="col">Started (UTC)</th>
              </tr>
            </thead>
            <tbody>
              {evaluations.map((e) => {
                const r = e.result;
                return (
                  <tr key={e.id} data-evaluation={e.id} data-dataset={e.dataset}>
                    <th scope="row" className="dataset">
                      {e.dataset}
                      <div className="muted small">
                        <code title={e.datasetSha256}>{e.datasetSha256.slice(0, 12)}</code>
                      </div>
                    </th>
                    <td>
                      <StatusCell e={e} />
                    </td>
                    <td className="num" data-field="rowsScored">
                      {count(e.rowsScored)}
                      <span className="muted"> of {count(e.rows)}</span>
                    </td>
                    <td className="num" data-field="accuracy">
                      {percent(r?.accuracy)}
                    </td>
                    <td data-field="comparisonVersion">
                      {e.comparisonVersion ? <code>{e.comparisonVersion}</code> : <span className="muted">none</span>}
                    </td>
                    <td className="num" data-field="comparisonAccuracy">
                      {percent(r?.comparisonAccuracy)}
                    </td>
                    <td className="num" data-field="agreement">
                      {percent(r?.agreement?.rate)}
                      {r?.agreement ? (
                        <div className="muted small">
                          {count(r.agreement.agreements)} of {count(r.agreement.rows)}
                        </div>
                      ) : null}
                    </td>
                    <td className="num" data-field="pnlFollowing">
                      {r && !r.pnl ? <span className="muted">no pnl column</span> : signed(r?.pnl?.following)}
                    </td>
                    <td className="num" data-field="pnlComparisonFollowing">
                      {signed(r?.pnl?.comparisonFollowing)}
                    </td>
                    <td>
                      <Time at={e.startedAt} />
                      <div className="muted small">by {e.startedBy}</div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {evaluations && evaluations.length > 0 ? (
        <p className="note">
          Following a version earns a row’s <code>pnl</code> where it named the row’s label and loses |pnl| where it
          named another strategy (in the dataset’s units). Agreement: rows where both versions named the same strategy.
        </p>
      ) : null}
      {done.length ? (
        <div className="class-tables">
          {done.map((e) => (
            <ClassTable key={e.id} e={e} />
          ))}
        </div>
      ) : null}
    </>
  );
}
