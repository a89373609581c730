import type { ReactNode } from 'react';

/** One column of a DataTable: its header and how a row shows in it. */
export interface Column<T> {
  header: string;
  cell: (row: T) => ReactNode;
  /** The header is read by screen readers only (an actions column). */
  hiddenHeader?: boolean;
  className?: string;
}

/** The console's list table: one header row, one row per item, every header a column header for readers. */
export function DataTable<T>({
  rows,
  columns,
  rowKey,
  className = 'grid',
  rowAttributes,
}: {
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T, index: number) => string;
  className?: string;
  /** Extra attributes per row (data-* hooks the browser tests find rows by). */
  rowAttributes?: (row: T) => Record<string, string>;
}) {
  return (
    <table className={className}>
      <thead>
        <tr>
          {columns.map((c) => (
            <th scope="col" key={c.header}>
              {c.hiddenHeader ? <span className="sr-only">{c.header}</span> : c.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row, i) => (
          <tr key={rowKey(row, i)} {...rowAttributes?.(row)}>
            {columns.map((c) => (
              <td key={c.header} className={c.className}>
                {c.cell(row)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
