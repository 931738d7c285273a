import { describeFailure } from '../errors';

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      Loading {what}…
    </p>
  );
}

export function LoadError({ error, retry }: { error: unknown; retry(): unknown }) {
  const f = describeFailure(error);
  return (
    <div className="failure" role="alert">
      <strong>Could not load this page ({f.code}).</strong> {f.message}{' '}
      <button type="button" onClick={() => void retry()}>
        Try again
      </button>
    </div>
  );
}
