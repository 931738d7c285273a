/**
 * Realised accuracy per UTC day per version (lines) over every ticker, from
 * `compareVersions.realizedDaily` (the API's per-day series of two versions of
 * one model): the versions are paired up, so N versions take ⌈N/2⌉ reads.
 * And shadow agreement per version pair.
 */
import { useApolloClient, useQuery } from '@apollo/client/react';
import { useEffect, useMemo, useState } from 'react';
import {
  ConsoleRealizedDailyDocument,
  ConsoleVersionsDocument,
  type ConsoleModelQuery,
} from '../../generated/client/graphql';
import { count, percent } from '../format';
import { LineChart, type DaySeries } from './LineChart';

type Model = NonNullable<ConsoleModelQuery['model']>;
type Day = { date: string; accuracy?: number | null; predictions: number } | null | undefined;

/** [[v0, v1], [v2, v3], …, [vLast, v0]]: every version in at least one pair of two different versions. */
export function pairUp(versions: string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < versions.length; i += 2) pairs.push([versions[i]!, versions[i + 1]!]);
  if (versions.length % 2 === 1 && versions.length > 1) pairs.push([versions[versions.length - 1]!, versions[0]!]);
  return pairs;
}

export function useRealizedDaily(model: Model, refreshKey: number) {
  const client = useApolloClient();
  const list = useQuery(ConsoleVersionsDocument, {
    variables: { id: model.id, orderBy: { field: 'CREATED_AT', direction: 'ASC' }, first: 200 },
  });
  const versions = useMemo(
    () => list.data?.model?.versionsConnection.edges.map((e) => e.node.version) ?? null,
    [list.data],
  );
  const [state, setState] = useState<{
    byVersion: Map<string, Map<string, number | null>>;
    error: string | null;
  } | null>(null);
  useEffect(() => {
    if (!versions) return;
    let live = true;
    Promise.all(
      pairUp(versions).map(([a, b]) =>
        client
          .query({
            query: ConsoleRealizedDailyDocument,
            variables: { model: model.id, a, b },
            fetchPolicy: 'network-only',
          })
          .then((r) => ({ a, b, days: r.data?.compareVersions.realizedDaily ?? [] })),
      ),
    )
      .then((answers) => {
        const byVersion = new Map<string, Map<string, number | null>>();
        const add = (version: string, day: Day) => {
          if (!day || day.predictions === 0) return;
          const m = byVersion.get(version) ?? new Map<string, number | null>();
          m.set(day.date, day.accuracy ?? null);
          byVersion.set(version, m);
        };
        for (const { a, b, days } of answers) {
          for (const d of days) {
            add(a, d.a);
            add(b, d.b);
          }
        }
        if (live) setState({ byVersion, error: null });
      })
      .catch((err: unknown) => live && setState({ byVersion: new Map(), error: String(err) }));
    return () => {
      live = false;
    };
  }, [client, model.id, versions, refreshKey]);
  return { state, versions };
}

const asPercent = (v: number) => `${(v * 100).toFixed(0)} %`;
const Y_RANGE: [number, number] = [0, 1];

export function RealizedAccuracyChart({ model, refreshKey }: { model: Model; refreshKey: number }) {
  const { state, versions } = useRealizedDaily(model, refreshKey);
  const { days, series } = useMemo(() => {
    if (!state) return { days: [] as string[], series: [] as DaySeries[] };
    const allDays = [...new Set([...state.byVersion.values()].flatMap((m) => [...m.keys()]))].sort();
    const s = [...state.byVersion.entries()]
      .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
      .map(([version, m]) => ({ label: version, values: allDays.map((d) => m.get(d) ?? null) }));
    return { days: allDays, series: s };
  }, [state]);
  if (versions && versions.length < 2)
    return (
      <p className="empty">
        Realised accuracy is drawn per version once the model has two versions (the API compares versions in pairs).
      </p>
    );
  if (!state) return <p role="status">Loading realised outcomes…</p>;
  if (state.error) return <p className="failure">Could not read outcomes: {state.error}</p>;
  if (days.length === 0)
    return (
      <p className="empty" data-testid="accuracy-empty">
        No realised outcomes yet for {model.id}. Record them with the <code>recordOutcomes</code> mutation (what the
        model predicted and what turned out right); each UTC day then becomes a point here.
      </p>
    );
  return (
    <LineChart
      title="Realised accuracy per UTC day, per version (all tickers)"
      days={days}
      series={series}
      yLabel="Realised accuracy (%)"
      format={asPercent}
      yRange={Y_RANGE}
    />
  );
}

export function ShadowAgreementBars({ model }: { model: Model }) {
  const pairs = model.shadowAgreement;
  return (
    <>
      <p className="note">
        The API keeps one running count per pair of versions (not a series over time), so this shows each pair’s
        agreement so far.
      </p>
      {pairs.length === 0 ? (
        <p className="empty">
          No shadow rows yet. Turn shadow mode on (Configure traffic) while staging differs from production; every
          production prediction then also runs staging.
        </p>
      ) : (
        <table className="bars dense" aria-label="Shadow agreement per version pair">
          <thead>
            <tr>
              <th scope="col">Production</th>
              <th scope="col">Staging</th>
              <th scope="col">Rows (count)</th>
              <th scope="col">Agreement (%)</th>
            </tr>
          </thead>
          <tbody>
            {pairs.map((p) => (
              <tr key={`${p.productionVersion}|${p.stagingVersion}`}>
                <td>
                  <code>{p.productionVersion}</code>
                </td>
                <td>
                  <code>{p.stagingVersion}</code>
                </td>
                <td className="num">{count(p.rows)}</td>
                <td>
                  <span className="bar">
                    <meter
                      min={0}
                      max={1}
                      low={0.9}
                      optimum={1}
                      value={p.rate ?? 0}
                      aria-label={`Agreement of ${p.stagingVersion} with ${p.productionVersion}`}
                    />
                    <span className="num">
                      {percent(p.rate)} ({count(p.agreements)} of {count(p.rows)})
                    </span>
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
