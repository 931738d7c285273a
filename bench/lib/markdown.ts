/** Markdown helpers shared by the sections' renderers. */

/** A markdown table: the first column (or every column, with `leftAll`) left-aligned, the others right-aligned. */
export function table(header: string[], rows: string[][], leftAll = false): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 || leftAll ? '---' : '---:'))), ...rows.map(line)].join(
    '\n',
  );
}

/** Bytes as "12.34 MB" (10^6). */
export const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;
/** One decimal, or "–" for a missing value. */
export const n1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');
