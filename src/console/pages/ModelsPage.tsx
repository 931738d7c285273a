/** Every model with its stages, aliases, approval state and traffic. */
import { useQuery } from '@apollo/client/react';
import { ConsoleModelsDocument } from '../../generated/client/graphql';
import { Version } from '../components/Badges';
import { LoadError, Loading } from '../components/States';
import { Link, paths } from '../router';

export function ModelsPage() {
  const { data, loading, error, refetch } = useQuery(ConsoleModelsDocument);
  if (!data && loading) return <Loading what="models" />;
  if (!data) return <LoadError error={error} retry={refetch} />;
  return (
    <>
      <h1>Models ({data.models.length})</h1>
      {data.models.length === 0 ? (
        <p className="empty">
          The bucket holds no model yet. Publish one with <code>npm run modelgraph -- push</code> (see the README).
        </p>
      ) : (
        <table className="dense">
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Type</th>
              <th scope="col">Production</th>
              <th scope="col">Staging</th>
              <th scope="col">Aliases</th>
              <th scope="col">Shadow</th>
              <th scope="col">Canary</th>
              <th scope="col">Policy</th>
            </tr>
          </thead>
          <tbody>
            {data.models.map((m) => (
              <tr key={m.id}>
                <th scope="row">
                  <Link href={paths.model(m.id)}>{m.id}</Link>
                </th>
                <td>{m.type.toLowerCase().replace('_', ' ')}</td>
                <td>
                  <Version v={m.production} />
                </td>
                <td>
                  {m.staging && m.staging.version === m.production?.version ? (
                    <span className="muted">same as production</span>
                  ) : (
                    <Version v={m.staging} />
                  )}
                </td>
                <td>
                  {m.aliases.length === 0 ? (
                    <span className="muted">—</span>
                  ) : (
                    m.aliases.map((a) => (
                      <span key={a.id} className="alias">
                        {a.name} → <code>{a.version?.version}</code>
                      </span>
                    ))
                  )}
                </td>
                <td>{m.traffic.shadow ? <span className="badge on">on</span> : <span className="muted">off</span>}</td>
                <td className="num">{m.traffic.canaryPercent > 0 ? `${m.traffic.canaryPercent} %` : '—'}</td>
                <td>
                  {m.policy ? (
                    m.policy.rules.requireApproval ? (
                      'approval required'
                    ) : (
                      'governed'
                    )
                  ) : (
                    <span className="muted">none</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
