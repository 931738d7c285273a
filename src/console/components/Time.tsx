import { ago, utc } from '../format';

/** A UTC timestamp with the relative time beside it. */
export function Time({ at }: { at: string | null | undefined }) {
  if (!at) return <span className="muted">—</span>;
  return (
    <time dateTime={at} title={at}>
      {utc(at)} <span className="muted">({ago(at)})</span>
    </time>
  );
}
