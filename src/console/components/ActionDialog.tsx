/**
 * A button that opens a confirmation saying exactly what will change, and
 * then does it. Without the needed scope the button stays focusable but
 * `aria-disabled`, and a click says why. After a failure the dialog explains
 * it: CONFLICT (the state moved; nothing changed) offers a refresh,
 * POLICY_VIOLATION lists the broken rules.
 */
import { useId, useRef, useState, type ReactNode } from 'react';
import { describeFailure, type ActionFailure } from '../errors';

export interface ActionDialogProps {
  /** The button's text, e.g. `Promote…`. */
  label: string;
  /** Accessible name when the label alone is ambiguous (e.g. in a table row). */
  ariaLabel?: string;
  /** The dialog's heading. */
  title: string;
  /** Why the button is disabled (missing scope, nothing to do), or null when enabled. */
  disabledReason: string | null;
  /** Each line is one change this action makes, in words. */
  changes: ReactNode[];
  /** Extra form fields (alias name, canary percent…), rendered above the reason. */
  fields?: ReactNode;
  /** The reason/note field's label (default `Reason (recorded in the history)`). */
  reasonLabel?: string;
  confirmLabel: string;
  danger?: boolean;
  /** Runs the action; a rejection is shown in the dialog. */
  run(reason: string): Promise<unknown>;
  /** Re-reads the page's data (after success, and from the CONFLICT message). */
  refresh(): Promise<unknown> | void;
  className?: string;
}

export function ActionDialog(props: ActionDialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [why, setWhy] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<ActionFailure | null>(null);
  const [reason, setReason] = useState('');
  const titleId = useId();
  const whyId = useId();

  const open = () => {
    if (props.disabledReason) {
      setWhy(true);
      return;
    }
    setFailure(null);
    setReason('');
    dialog.current?.showModal();
  };
  const close = () => dialog.current?.close();
  const confirm = async () => {
    setBusy(true);
    setFailure(null);
    try {
      await props.run(reason.trim());
      close();
      await props.refresh();
    } catch (err) {
      setFailure(describeFailure(err));
    } finally {
      setBusy(false);
    }
  };
  const refreshAfterConflict = async () => {
    close();
    await props.refresh();
  };

  return (
    <span className={`action ${props.className ?? ''}`}>
      <button
        type="button"
        className={props.danger ? 'danger' : undefined}
        aria-disabled={props.disabledReason ? 'true' : undefined}
        aria-describedby={props.disabledReason && why ? whyId : undefined}
        aria-label={props.ariaLabel}
        title={props.disabledReason ?? undefined}
        onClick={open}
      >
        {props.label}
      </button>
      {props.disabledReason && why ? (
        <span id={whyId} className="why" role="status">
          {props.disabledReason}
        </span>
      ) : null}
      <dialog ref={dialog} aria-labelledby={titleId} className="confirm">
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            void confirm();
          }}
        >
          <h2 id={titleId}>{props.title}</h2>
          <p>This will change exactly:</p>
          <ul className="changes">
            {props.changes.map((c, i) => (
              <li key={i}>{c}</li>
            ))}
          </ul>
          {props.fields}
          <label className="field">
            {props.reasonLabel ?? 'Reason (recorded in the history)'}
            <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} />
          </label>
          {failure ? <FailureMessage failure={failure} onRefresh={refreshAfterConflict} /> : null}
          <div className="buttons">
            <button type="button" onClick={close}>
              Cancel
            </button>
            <button type="submit" className={props.danger ? 'danger primary' : 'primary'} disabled={busy}>
              {busy ? 'Working…' : props.confirmLabel}
            </button>
          </div>
        </form>
      </dialog>
    </span>
  );
}

export function FailureMessage({ failure, onRefresh }: { failure: ActionFailure; onRefresh?: () => void }) {
  if (failure.code === 'CONFLICT') {
    return (
      <div className="failure conflict" role="alert">
        <strong>Conflict: the state moved since this page loaded. Nothing was changed.</strong>
        <p>{failure.message}</p>
        {onRefresh ? (
          <button type="button" onClick={onRefresh}>
            Refresh to see the current state
          </button>
        ) : null}
      </div>
    );
  }
  if (failure.code === 'POLICY_VIOLATION') {
    return (
      <div className="failure policy" role="alert">
        <strong>Refused by the promotion policy. Nothing was changed. Rules broken:</strong>
        <table>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Required</th>
              <th scope="col">This version has</th>
            </tr>
          </thead>
          <tbody>
            {failure.violations.map((v) => (
              <tr key={v.rule}>
                <td>
                  <code>{v.rule}</code>
                </td>
                <td>{v.required}</td>
                <td>{v.actual}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }
  return (
    <div className="failure" role="alert">
      <strong>{failure.code}</strong>
      {failure.rule ? <> (rule {failure.rule})</> : null}: {failure.message}
    </div>
  );
}
