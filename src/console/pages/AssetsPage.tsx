/** Home: which model serves each ticker, and what changed last (who, when, why). */
import { useQuery } from '@apollo/client/react';
import { useMemo, useState } from 'react';
import {
  ConsoleAssetsDocument,
  ConsoleModelsDocument,
  ConsoleRecentDeploymentsDocument,
} from '../../generated/client/graphql';
import { inCanary } from '../canary';
import { Version } from '../components/Badges';
import { Time } from '../components/Time';
import { LoadError, Loading } from '../components/States';
import { percent } from '../format';
import { Link, paths } from '../router';

/** Assets per page (the API's query cost grows with the page size). */
export const ASSET_PAGE = 200;

export function AssetsPage() {
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const { data, loading, error, refetch } = useQuery(ConsoleAssetsDocument, {
    variables: { first: ASSET_PAGE, after: cursors[cursors.length - 1] },
  });
  const models = useQuery(ConsoleModelsDocument);
  const recentQuery = useQuery(ConsoleRecentDeploymentsDocument);
  const modelById = useMemo(() => new Map((models.data?.models ?? []).map((m) => [m.id, m])), [models.data]);
  const [filter, setFilter] = useState('');
  const assets = useMemo(() => {
    const all = data?.assetsConnection.edges.map((e) => e.node) ?? [];
    const f = filter.trim().toUpperCase();
    return f
      ? all.filter((a) => `${a.ticker} ${a.name ?? ''} ${a.sector ?? ''} ${a.model.id}`.toUpperCase().includes(f))
      : all;
  }, [data, filter]);
  if ((!data && loading) || (!models.data && models.loading)) return <Loading what="assets" />;
  if (!data) return <LoadError error={error} retry={refetch} />;
  if (!models.data) return <LoadError error={models.error} retry={models.refetch} />;
  const recent = recentQuery.data?.recentDeploymentsConnection.edges.map((e) => e.node) ?? [];

  return (
    <>
      <h1>Assets: which model serves each ticker</h1>
      <section aria-labelledby="recent-h" className="panel">
        <h2 id="recent-h">What changed last</h2>
        {recentQuery.error ? <LoadError error={recentQuery.error} retry={recentQuery.refetch} /> : null}
        {recent.length === 0 && !recentQuery.loading ? (
          <p className="empty">
            Nothing has been promoted or rolled back yet. Open a model under <Link href={paths.models()}>Models</Link>{' '}
            to promote a version.
          </p>
        ) : (
          <table className="dense">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Model</th>
                <th scope="col">What</th>
                <th scope="col">Who</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {recent.map((d) => (
                <tr key={d.id}>
                  <td>
                    <Time at={d.at} />
                  </td>
                  <td>
                    <Link href={paths.model(d.model.id)}>{d.model.id}</Link>
                  </td>
                  <td>
                    {d.action.toLowerCase()} {d.stage.toLowerCase()}{' '}
                    {d.action === 'TRAFFIC' ? (
                      <>
                        shadow {d.traffic?.shadow ? 'on' : 'off'}, canary {d.traffic?.canaryPercent ?? 0} %
                      </>
                    ) : (
                      <>
                        <code>{d.fromVersion ?? '∅'}</code> → <code>{d.toVersion}</code>
                      </>
                    )}
                    {d.override ? <span className="badge warn">override</span> : null}
                  </td>
                  <td>{d.by}</td>
                  <td>{d.reason ?? <span className="muted">no reason given</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="assets-h">
        <h2 id="assets-h">Routing table ({data.assetsConnection.totalCount} assets)</h2>
        <label className="field inline">
          Find a ticker, name, sector or model
          <input
            type="search"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            placeholder="e.g. AAPL"
            aria-controls="assets-table"
          />
        </label>
        {assets.length === 0 ? (
          <p className="empty">
            No asset matches “{filter}”. Clear the search, or register the asset with the <code>registerAsset</code>{' '}
            mutation (<code>npm run modelgraph -- asset add</code>).
          </p>
        ) : (
          <table className="dense" id="assets-table">
            <thead>
              <tr>
                <th scope="col">Ticker</th>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Served by model</th>
                <th scope="col">uses_model</th>
                <th scope="col">Serving now</th>
                <th scope="col">Canary</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {assets.map((a) => {
                const own = a.kind === 'ETF' ? `etfs/${a.ticker}` : 'stocks/universal';
                const usesModel = a.model.id !== own ? a.model.id : null;
                const m = modelById.get(a.model.id);
                const p = m?.production;
                const s = m?.staging;
                const canaryPercent = m?.traffic.canaryPercent ?? 0;
                const canaryOn = p && s && s.version !== p.version && inCanary(a.model.id, a.ticker, canaryPercent);
                return (
                  <tr key={a.id} data-ticker={a.ticker}>
                    <th scope="row">{a.ticker}</th>
                    <td>{a.name ?? <span className="muted">—</span>}</td>
                    <td>{a.kind}</td>
                    <td>{a.status}</td>
                    <td>
                      <Link href={paths.model(a.model.id)}>{a.model.id}</Link>
                    </td>
                    <td>{usesModel ? <code>{usesModel}</code> : <span className="muted">—</span>}</td>
                    <td>{canaryOn ? <Version v={s} /> : <Version v={p} />}</td>
                    <td>
                      {canaryOn ? (
                        <span className="badge warn" title={`${canaryPercent} % of tickers go to staging`}>
                          in canary (staging)
                        </span>
                      ) : canaryPercent > 0 && s && p && s.version !== p.version ? (
                        <span className="muted">not in {percent(canaryPercent / 100, 0)} canary</span>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    <td>
                      <Link href={paths.predict(a.ticker)} aria-label={`Predict for ${a.ticker}`}>
                        Predict
                      </Link>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {data.assetsConnection.totalCount > ASSET_PAGE ? (
          <nav className="pager" aria-label="Asset pages">
            <span>
              Assets {(cursors.length - 1) * ASSET_PAGE + 1}–
              {(cursors.length - 1) * ASSET_PAGE + data.assetsConnection.edges.length} of{' '}
              {data.assetsConnection.totalCount} (the search looks in this page)
            </span>
            <button type="button" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
              Previous page
            </button>
            <button
              type="button"
              disabled={!data.assetsConnection.pageInfo.hasNextPage}
              onClick={() => setCursors((c) => [...c, data.assetsConnection.pageInfo.endCursor ?? null])}
            >
              Next page
            </button>
          </nav>
        ) : null}
      </section>
    </>
  );
}
