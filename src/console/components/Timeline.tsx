/** The model's deployments, newest first: who, when, why, overrides. */
import type { ConsoleDeploymentFragment } from '../../generated/client/graphql';
import { ApprovalBadge } from './Badges';
import { Time } from './Time';

export function Timeline({ deployments, total }: { deployments: ConsoleDeploymentFragment[]; total: number }) {
  if (deployments.length === 0)
    return (
      <p className="empty">
        No promotion, rollback or traffic change yet. Promote a version from the versions table below.
      </p>
    );
  return (
    <>
      <ol className="timeline" aria-label="Deployments, newest first">
        {deployments.map((d) => (
          <li key={d.id} data-deployment={d.deploymentId} className={`action-${d.action.toLowerCase()}`}>
            <div className="when">
              <Time at={d.at} />
            </div>
            <div className="what">
              <strong>
                {d.action === 'PROMOTE' ? 'Promoted' : d.action === 'ROLLBACK' ? 'Rolled back' : 'Traffic'}
              </strong>{' '}
              {d.stage.toLowerCase()}{' '}
              {d.action === 'TRAFFIC' ? (
                <>
                  → shadow {d.traffic?.shadow ? 'on' : 'off'}, canary {d.traffic?.canaryPercent ?? 0} %
                </>
              ) : (
                <>
                  <code>{d.fromVersion ?? '∅'}</code> → <code>{d.toVersion}</code>
                </>
              )}{' '}
              by <span className="who">{d.by}</span>
              {d.approval ? (
                <>
                  {' '}
                  · approval at the move <ApprovalBadge status={d.approval} />
                </>
              ) : null}
              {d.override ? <span className="badge warn">policy override</span> : null}
              <span className="muted"> · generation {d.generation}</span>
            </div>
            <div className="why-text">
              {d.reason ? `“${d.reason}”` : <span className="muted">no reason given</span>}
            </div>
            {d.violations.length ? (
              <ul className="violations" aria-label="Rules the override broke">
                {d.violations.map((v) => (
                  <li key={v.rule}>
                    <code>{v.rule}</code>: required {v.required}, had {v.actual}
                  </li>
                ))}
              </ul>
            ) : null}
          </li>
        ))}
      </ol>
      {total > deployments.length ? (
        <p className="muted">
          Showing the newest {deployments.length} of {total} deployments.
        </p>
      ) : null}
    </>
  );
}
