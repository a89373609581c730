import { useState, type ReactNode } from 'react';
import { ApiError } from '../api';
import { eventLabel, machineLabel, tone } from '../format';

export function EventBadge({ status }: { status: string }) {
  return (
    <span className={`badge ${tone(status)}`} data-status={status}>
      {eventLabel(status)}
    </span>
  );
}

export function MachineBadge({ status }: { status: string }) {
  return (
    <span className={`badge ${tone(status)}`} data-status={status}>
      {machineLabel(status)}
    </span>
  );
}

/** The API's refusal, in place: its message, and for a 400 or 409 every field it names. */
export function ErrorBox({ error, fieldsShown }: { error: unknown; fieldsShown?: boolean }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  const fields = e ? Object.entries(e.fields()) : [];
  return (
    <div className="error" role="alert">
      <strong>{e ? (e.status ? `${e.status} ${e.code}` : e.code) : 'Error'}:</strong>{' '}
      {e && (e.status === 400 || e.status === 409) && fields.length
        ? 'the API refused these fields'
        : (error as Error).message}
      {!fieldsShown && fields.length > 0 && (
        <ul>
          {fields.map(([path, msg]) => (
            <li key={path}>
              <code>{path || '(body)'}</code> {msg}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A form field with its label and the API's message for its path beside it. */
export function Field({
  label,
  error,
  hint,
  children,
  id,
  group,
}: {
  label: string;
  error?: string;
  hint?: ReactNode;
  children: ReactNode;
  id: string;
  /** Several controls (a list, radio buttons): a labelled group instead of a label for one control. */
  group?: boolean;
}) {
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      {group ? (
        <span className="label" id={`${id}-label`}>
          {label}
        </span>
      ) : (
        <label htmlFor={id}>{label}</label>
      )}
      <div
        className="control"
        role={group ? 'group' : undefined}
        aria-labelledby={group ? `${id}-label` : undefined}
      >
        {children}
        {hint && <div className="hint">{hint}</div>}
        {error && (
          <div className="field-error" id={`${id}-error`} role="alert">
            {error}
          </div>
        )}
      </div>
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function Loading({ what }: { what: string }) {
  return (
    <div className="loading" aria-live="polite">
      Loading {what}…
    </div>
  );
}

/** A button whose action asks once more before it runs (delete, approve). */
export function ConfirmButton({
  label,
  confirm,
  onConfirm,
  disabled,
  title,
  className,
}: {
  label: string;
  confirm: ReactNode;
  onConfirm: () => void;
  disabled?: boolean;
  title?: string;
  className?: string;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button
        type="button"
        className={className}
        disabled={disabled}
        title={title}
        onClick={() => setAsking(true)}
      >
        {label}
      </button>
    );
  return (
    <span className="confirm" role="group" aria-label={`Confirm ${label}`}>
      <span>{confirm}</span>
      <button
        type="button"
        className={className}
        autoFocus
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        Yes, {label.toLowerCase()}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

/** Why a control is disabled: the key lacks the permission the API would check. */
export function noPerm(resource: string, action: string): string {
  return `This API key may not ${action} ${resource}`;
}
