/** Two versions side by side (compareVersions). */
import { useQuery } from '@apollo/client/react';
import { useState } from 'react';
import {
  ConsoleCompareDocument,
  ConsoleVersionsDocument,
  type ConsoleModelQuery,
} from '../../generated/client/graphql';
import { count, percent, points } from '../format';
import { ApprovalBadge } from './Badges';
import { LoadError } from './States';
import { Time } from './Time';

type Model = NonNullable<ConsoleModelQuery['model']>;

export function Compare({ model }: { model: Model }) {
  const names = useQuery(ConsoleVersionsDocument, {
    variables: { id: model.id, orderBy: { field: 'CREATED_AT', direction: 'DESC' }, first: 200 },
  });
  const all = names.data?.model?.versionsConnection.edges.map((e) => e.node.version) ?? [];
  const [a, setA] = useState<string | null>(null);
  const [b, setB] = useState<string | null>(null);
  const va = a ?? model.production?.version ?? all[1] ?? all[0] ?? null;
  const vb =
    b ?? (model.staging && model.staging.version !== va ? model.staging.version : all.find((v) => v !== va)) ?? null;
  const cmp = useQuery(ConsoleCompareDocument, {
    variables: { model: model.id, a: va ?? '', b: vb ?? '' },
    skip: !va || !vb || va === vb,
  });
  if (all.length < 2) return <p className="empty">Only one version so far: publish another to compare them.</p>;
  const c = cmp.data?.compareVersions;
  const list = (xs: string[]) =>
    xs.length ? xs.map((x) => <code key={x}>{x} </code>) : <span className="muted">none</span>;
  return (
    <>
      <div className="filters">
        <label className="field inline">
          Version A
          <select value={va ?? ''} onChange={(e) => setA(e.target.value)}>
            {all.map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </label>
        <label className="field inline">
          Version B
          <select value={vb ?? ''} onChange={(e) => setB(e.target.value)}>
            {all.map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </label>
      </div>
      {va === vb ? <p className="empty">Pick two different versions.</p> : null}
      {cmp.error ? <LoadError error={cmp.error} retry={cmp.refetch} /> : null}
      {c ? (
        <table className="dense compare">
          <thead>
            <tr>
              <th scope="col">
                <span className="sr-only">Property</span>
              </th>
              <th scope="col">
                A <code>{c.a.version}</code>
              </th>
              <th scope="col">
                B <code>{c.b.version}</code>
              </th>
              <th scope="col">B − A</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <th scope="row">Created</th>
              <td>
                <Time at={c.a.createdAt} />
              </td>
              <td>
                <Time at={c.b.createdAt} />
              </td>
              <td />
            </tr>
            <tr>
              <th scope="row">Approval</th>
              <td>
                <ApprovalBadge status={c.a.approval.status} />
              </td>
              <td>
                <ApprovalBadge status={c.b.approval.status} />
              </td>
              <td />
            </tr>
            <tr>
              <th scope="row">Training accuracy</th>
              <td className="num">{percent(c.a.accuracy)}</td>
              <td className="num">{percent(c.b.accuracy)}</td>
              <td className="num">{points(c.accuracyDelta)}</td>
            </tr>
            <tr>
              <th scope="row">Training samples</th>
              <td className="num">{count(c.a.trainingSamples)}</td>
              <td className="num">{count(c.b.trainingSamples)}</td>
              <td className="num">
                {c.trainingSamplesDelta === null || c.trainingSamplesDelta === undefined
                  ? '—'
                  : `${c.trainingSamplesDelta >= 0 ? '+' : ''}${count(c.trainingSamplesDelta)}`}
              </td>
            </tr>
            <tr>
              <th scope="row">Realised accuracy (outcomes)</th>
              <td className="num">
                {percent(c.a.realizedAccuracy)} ({count(c.a.realizedPredictions)})
              </td>
              <td className="num">
                {percent(c.b.realizedAccuracy)} ({count(c.b.realizedPredictions)})
              </td>
              <td className="num">
                {c.a.realizedAccuracy !== null &&
                c.b.realizedAccuracy !== null &&
                c.a.realizedAccuracy !== undefined &&
                c.b.realizedAccuracy !== undefined
                  ? points(c.b.realizedAccuracy - c.a.realizedAccuracy)
                  : '—'}
              </td>
            </tr>
            <tr>
              <th scope="row">Features</th>
              <td className="num">{c.a.featureNames.length}</td>
              <td className="num">{c.b.featureNames.length}</td>
              <td>
                added {list(c.featuresAdded)}; removed {list(c.featuresRemoved)}; reordered {list(c.featuresReordered)}
              </td>
            </tr>
            <tr>
              <th scope="row">Labels</th>
              <td className="num">{c.a.labels.length}</td>
              <td className="num">{c.b.labels.length}</td>
              <td>
                added {list(c.labelsAdded)}; removed {list(c.labelsRemoved)}
              </td>
            </tr>
            <tr>
              <th scope="row">Shadow agreement</th>
              <td colSpan={3}>
                {c.shadowAgreement
                  ? `${percent(c.shadowAgreement.rate)} of ${count(c.shadowAgreement.rows)} rows (${c.shadowAgreement.productionVersion} in production)`
                  : 'never ran side by side'}
              </td>
            </tr>
          </tbody>
        </table>
      ) : null}
    </>
  );
}
