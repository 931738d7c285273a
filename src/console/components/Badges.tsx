import type { ApprovalStatus } from '../../generated/client/graphql';

export function ApprovalBadge({ status }: { status: ApprovalStatus | null | undefined }) {
  if (!status) return <span className="muted">—</span>;
  return <span className={`badge approval-${status.toLowerCase()}`}>{status.toLowerCase()}</span>;
}

export function Version({
  v,
}: {
  v: { version: string; approval?: { status: ApprovalStatus } | null } | null | undefined;
}) {
  if (!v) return <span className="muted">none</span>;
  return (
    <span className="version">
      <code>{v.version}</code> {v.approval ? <ApprovalBadge status={v.approval.status} /> : null}
    </span>
  );
}
