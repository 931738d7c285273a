/** One model: stages, actions, versions, their evaluations, deployment timeline, charts, comparison, ensemble members. */
import { useQuery } from '@apollo/client/react';
import { useCallback, useState } from 'react';
import { ConsoleModelDocument } from '../../generated/client/graphql';
import { Version } from '../components/Badges';
import { Compare } from '../components/Compare';
import { Evaluations } from '../components/Evaluations';
import { RealizedAccuracyChart, ShadowAgreementBars } from '../components/ModelCharts';
import { RollbackAction, TrafficAction } from '../components/ModelActions';
import { LoadError, Loading } from '../components/States';
import { Time } from '../components/Time';
import { Timeline } from '../components/Timeline';
import { VersionsTable } from '../components/VersionsTable';
import { percent } from '../format';
import { Link, paths } from '../router';
import { usePermissions } from '../session';

export function ModelPage({ id }: { id: string }) {
  const { data, loading, error, refetch } = useQuery(ConsoleModelDocument, { variables: { id } });
  const [refreshKey, setRefreshKey] = useState(0);
  const perms = usePermissions();
  const refresh = useCallback(async () => {
    setRefreshKey((k) => k + 1);
    await refetch();
  }, [refetch]);
  if (!data && loading) return <Loading what={id} />;
  if (!data) return <LoadError error={error} retry={refetch} />;
  const m = data.model;
  if (!m)
    return (
      <p className="empty">
        There is no model <code>{id}</code>. Pick one from <Link href={paths.models()}>Models</Link>.
      </p>
    );
  const tickers = m.assetsConnection.edges.map((e) => e.node.ticker);
  const rules = m.policy?.rules;
  const ruleText = rules
    ? [
        rules.requireApproval ? 'approved' : null,
        rules.minShadowRows !== null && rules.minShadowRows !== undefined
          ? `≥ ${rules.minShadowRows} shadow rows`
          : null,
        rules.minShadowAgreement !== null && rules.minShadowAgreement !== undefined
          ? `shadow agreement ≥ ${percent(rules.minShadowAgreement)}`
          : null,
        rules.minRealizedPredictions !== null && rules.minRealizedPredictions !== undefined
          ? `≥ ${rules.minRealizedPredictions} realised outcomes`
          : null,
        rules.minRealizedAccuracy !== null && rules.minRealizedAccuracy !== undefined
          ? `realised accuracy ≥ ${percent(rules.minRealizedAccuracy)}`
          : null,
        rules.maxFeatureChanges !== null && rules.maxFeatureChanges !== undefined
          ? `≤ ${rules.maxFeatureChanges} feature changes`
          : null,
      ].filter(Boolean)
    : [];
  const deployments = m.historyConnection.edges.map((e) => e.node);
  const ensemble = m.production?.ensemble;

  return (
    <>
      <p className="crumbs">
        <Link href={paths.models()}>Models</Link> / {m.id}
      </p>
      <h1>
        {m.id} <span className="muted small">{m.type.toLowerCase().replace('_', ' ')}</span>
      </h1>
      <section className="summary panel" aria-label="What serves now">
        <dl>
          <dt>Production</dt>
          <dd>
            <Version v={m.production} />
          </dd>
          <dt>Staging</dt>
          <dd>
            <Version v={m.staging} />
          </dd>
          <dt>Aliases</dt>
          <dd>
            {m.aliases.length ? (
              m.aliases.map((a) => (
                <span key={a.id} className="alias">
                  {a.name} → <code>{a.version?.version}</code>{' '}
                </span>
              ))
            ) : (
              <span className="muted">none</span>
            )}
          </dd>
          <dt>Traffic</dt>
          <dd>
            shadow {m.traffic.shadow ? <span className="badge on">on</span> : 'off'}, canary {m.traffic.canaryPercent} %
            of tickers
          </dd>
          <dt>Policy</dt>
          <dd>
            {m.policy ? (
              <>
                production needs {ruleText.length ? ruleText.join(', ') : 'nothing'}{' '}
                <span className="muted">
                  (set by {m.policy.by}, <Time at={m.policy.at} />)
                </span>
              </>
            ) : (
              <span className="muted">none: any version may be promoted</span>
            )}
          </dd>
          <dt>Serves</dt>
          <dd>
            {tickers.length === 0 ? (
              <span className="muted">no asset</span>
            ) : (
              <>
                {m.assetsConnection.totalCount} ticker{m.assetsConnection.totalCount === 1 ? '' : 's'}:{' '}
                {tickers.slice(0, 20).map((t) => (
                  <Link key={t} href={paths.predict(t)} className="ticker" aria-label={`Predict for ${t}`}>
                    {t}
                  </Link>
                ))}
                {tickers.length > 20 ? '…' : ''}
              </>
            )}
          </dd>
        </dl>
        <div className="model-actions">
          <RollbackAction model={m} refresh={refresh} stage="PRODUCTION" />
          <TrafficAction model={m} refresh={refresh} />
          {perms.write ? <p className="why">{perms.write}</p> : null}
        </div>
      </section>

      <div className="columns">
        <section aria-labelledby="timeline-h" className="panel">
          <h2 id="timeline-h">Deployment timeline</h2>
          <Timeline deployments={deployments} total={m.historyConnection.totalCount} />
        </section>
        <section aria-labelledby="charts-h" className="panel">
          <h2 id="charts-h">Realised accuracy</h2>
          <RealizedAccuracyChart model={m} refreshKey={refreshKey} />
          <h2>Shadow agreement per version pair</h2>
          <ShadowAgreementBars model={m} />
        </section>
      </div>

      <section aria-labelledby="versions-h" className="panel">
        <h2 id="versions-h">Versions</h2>
        <VersionsTable model={m} refresh={refresh} refreshKey={refreshKey} />
      </section>

      <section aria-labelledby="evaluations-h" className="panel">
        <h2 id="evaluations-h">Evaluations on history</h2>
        <Evaluations model={m} />
      </section>

      <section aria-labelledby="compare-h" className="panel">
        <h2 id="compare-h">Compare two versions</h2>
        <Compare model={m} />
      </section>

      {ensemble ? (
        <section aria-labelledby="ensemble-h" className="panel">
          <h2 id="ensemble-h">
            Ensemble members of {m.production?.version} ({ensemble.voting.toLowerCase()} vote)
          </h2>
          <table className="dense bars">
            <thead>
              <tr>
                <th scope="col">Member model</th>
                <th scope="col">Pinned version</th>
                <th scope="col">Weight (share of the vote)</th>
              </tr>
            </thead>
            <tbody>
              {ensemble.members.map((mem) => {
                const total = ensemble.members.reduce((s, x) => s + x.weight, 0) || 1;
                return (
                  <tr key={mem.model.id}>
                    <td>
                      <Link href={paths.model(mem.model.id)}>{mem.model.id}</Link>
                    </td>
                    <td>
                      <code>{mem.version}</code>
                    </td>
                    <td>
                      <span className="bar">
                        <meter min={0} max={1} value={mem.weight / total} aria-label={`Weight of ${mem.model.id}`} />
                        <span className="num">
                          {mem.weight} ({percent(mem.weight / total)})
                        </span>
                      </span>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
      ) : null}
    </>
  );
}
