/**
 * Try a prediction: pick a ticker, fill the serving version's features, see
 * the answer with its probabilities as bars. The API offers no recent feature
 * rows, so the form starts from deterministic sample values (and says so).
 */
import { useLazyQuery, useQuery } from '@apollo/client/react';
import { useEffect, useMemo, useState } from 'react';
import {
  ConsoleAssetsDocument,
  ConsolePredictDocument,
  ConsolePredictFormDocument,
} from '../../generated/client/graphql';
import { FailureMessage } from '../components/ActionDialog';
import { ASSET_PAGE } from './AssetsPage';
import { LoadError, Loading } from '../components/States';
import { describeFailure } from '../errors';
import { percent } from '../format';
import { Link, navigate, paths } from '../router';

/** The same value for the same feature every time: a reproducible starting point, not real market data. */
export function sampleValue(name: string, i: number): number {
  let h = 0;
  for (const c of name) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  const x = Math.sin((Math.abs(h) % 1000) + i * 12.9898) * 43758.5453;
  return Number(((x - Math.floor(x)) * 2 - 1).toFixed(3));
}

export function PredictPage({ ticker }: { ticker: string | null }) {
  const assets = useQuery(ConsoleAssetsDocument, { variables: { first: ASSET_PAGE } });
  const chosen = ticker ?? 'AAPL';
  const form = useQuery(ConsolePredictFormDocument, { variables: { ticker: chosen } });
  const [values, setValues] = useState<Record<string, string>>({});
  const [predict, result] = useLazyQuery(ConsolePredictDocument, { fetchPolicy: 'network-only' });
  const production = form.data?.asset?.model.production ?? null;
  const names = useMemo(() => production?.featureNames ?? [], [production]);

  useEffect(() => {
    setValues(Object.fromEntries(names.map((n, i) => [n, String(sampleValue(n, i))])));
  }, [names]);

  const tickers = assets.data?.assetsConnection.edges.map((e) => e.node.ticker) ?? [chosen];
  const invalid = names.filter(
    (n) => values[n] === undefined || !Number.isFinite(Number(values[n])) || values[n] === '',
  );
  const answer = result.data?.predict;

  return (
    <>
      <h1>Try a prediction</h1>
      <form
        className="predict"
        onSubmit={(e) => {
          e.preventDefault();
          if (invalid.length) return;
          const features = Object.fromEntries(names.map((n) => [n, Number(values[n])]));
          void predict({ variables: { ticker: chosen, features } });
        }}
      >
        <label className="field inline">
          Ticker
          <select value={chosen} onChange={(e) => navigate(paths.predict(e.target.value))}>
            {(tickers.includes(chosen) ? tickers : [chosen, ...tickers]).map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        {form.loading && !form.data ? <Loading what="the model's features" /> : null}
        {form.error && !form.data ? <LoadError error={form.error} retry={form.refetch} /> : null}
        {form.data && !form.data.asset ? (
          <p className="empty">{chosen} is not registered. Pick another ticker.</p>
        ) : null}
        {form.data?.asset && !production ? (
          <p className="empty">
            {form.data.asset.model.id} has no production version yet: promote one on its{' '}
            <Link href={paths.model(form.data.asset.model.id)}>model page</Link>.
          </p>
        ) : null}
        {form.data?.asset && production ? (
          <>
            <p>
              {chosen} ({form.data.asset.name ?? 'no name'}) is served by{' '}
              <Link href={paths.model(form.data.asset.model.id)}>{form.data.asset.model.id}</Link>, production version{' '}
              <code>{production.version}</code>, which takes {names.length} features.
            </p>
            <p className="note">
              The values start as deterministic sample values (the same every time, not market data): the API keeps no
              recent feature rows to prefill from. Change any of them.
            </p>
            <fieldset className="features">
              <legend>Features of {production.version}</legend>
              {names.map((n) => (
                <label key={n} className="field">
                  {n}
                  <input
                    inputMode="decimal"
                    value={values[n] ?? ''}
                    aria-invalid={invalid.includes(n) ? 'true' : undefined}
                    onChange={(e) => setValues((v) => ({ ...v, [n]: e.target.value }))}
                  />
                </label>
              ))}
            </fieldset>
            {invalid.length ? <p className="why">Not a number: {invalid.join(', ')}</p> : null}
            <button type="submit" className="primary" disabled={result.loading}>
              {result.loading ? 'Predicting…' : `Predict for ${chosen}`}
            </button>
          </>
        ) : null}
      </form>
      {result.error ? <FailureMessage failure={describeFailure(result.error)} /> : null}
      {answer ? (
        <section aria-labelledby="answer-h" className="panel answer" aria-live="polite">
          <h2 id="answer-h">
            {answer.task === 'CLASSIFICATION' ? (
              <>
                {answer.ticker}: <strong>{answer.strategy}</strong> ({percent(answer.confidence)} confidence)
              </>
            ) : (
              <>{answer.ticker}: regression outputs</>
            )}
          </h2>
          <p>
            Answered by <code>{answer.model.id}</code> version <code>{answer.version}</code>
            {answer.stage ? ` (${answer.stage.toLowerCase()})` : ''}
            {answer.canary ? ', a canary ticker served by staging' : ''}.
            {answer.shadow ? (
              <>
                {' '}
                Shadow <code>{answer.shadow.version}</code> said {answer.shadow.strategy ?? '—'} (
                {answer.shadow.agrees ? 'agrees' : 'disagrees'}).
              </>
            ) : null}
          </p>
          {answer.probabilities.length ? (
            <table className="bars" aria-label="Probability of each strategy">
              <thead>
                <tr>
                  <th scope="col">Strategy</th>
                  <th scope="col">Probability (%)</th>
                </tr>
              </thead>
              <tbody>
                {[...answer.probabilities]
                  .sort((a, b) => b.probability - a.probability)
                  .map((p) => (
                    <tr key={p.label} className={p.label === answer.strategy ? 'best' : undefined}>
                      <th scope="row">{p.label}</th>
                      <td>
                        <span className="bar" data-width={Math.round(p.probability * 1000) / 10}>
                          <meter min={0} max={1} value={p.probability} aria-label={`${p.label} probability`} />
                          <span className="num">{percent(p.probability)}</span>
                        </span>
                      </td>
                    </tr>
                  ))}
              </tbody>
            </table>
          ) : null}
          {answer.outputs.length ? (
            <table className="dense">
              <tbody>
                {answer.outputs.map((o) => (
                  <tr key={o.name}>
                    <th scope="row">{o.name}</th>
                    <td className="num">{o.value.toFixed(4)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {answer.ensemble ? (
            <table className="dense">
              <caption>Ensemble members ({answer.ensemble.voting.toLowerCase()} vote)</caption>
              <thead>
                <tr>
                  <th scope="col">Member</th>
                  <th scope="col">Version</th>
                  <th scope="col">Weight</th>
                  <th scope="col">Answer</th>
                  <th scope="col">Confidence</th>
                </tr>
              </thead>
              <tbody>
                {answer.ensemble.members.map((m) => (
                  <tr key={m.model.id}>
                    <td>{m.model.id}</td>
                    <td>
                      <code>{m.version}</code>
                    </td>
                    <td className="num">{m.weight}</td>
                    <td>{m.strategy}</td>
                    <td className="num">{percent(m.confidence)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </section>
      ) : null}
    </>
  );
}
