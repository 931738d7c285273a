import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { BadUserInputError } from '../errors';

let hyparquetModule: Promise<typeof import('hyparquet')> | undefined;
/**
 * hyparquet is imported with the first Parquet file, not with the module: the API
 * function carries evaluation for the `evaluate` mutation, and a cold start that
 * answers `predict` should not compile a Parquet reader (the Lambda build puts it
 * in a chunk of its own).
 */
function hyparquet(): Promise<typeof import('hyparquet')> {
  hyparquetModule ??= import('hyparquet');
  return hyparquetModule;
}

/**
 * A dataset file, Parquet or CSV, as evaluation reads it: its columns and
 * their kinds, its row groups (the unit chunks are cut from), and a reader of
 * some columns over a row range. Parquet is read with hyparquet (a
 * pure-JavaScript reader, so the same code runs on Lambda without native
 * modules), through an AsyncBuffer: on S3 a chunk fetches only the byte ranges
 * of its row group's column chunks and the footer.
 */
export type DatasetFormat = 'parquet' | 'csv';

/** What a column holds, as far as evaluation cares. */
export type ColumnKind = 'number' | 'string' | 'timestamp' | 'other';

export interface DatasetColumn {
  name: string;
  kind: ColumnKind;
}

export interface RowGroup {
  rowStart: number;
  rows: number;
}

/** Values of one column over a row range: numbers (timestamps as epoch ms) or strings; null where missing. */
export type ColumnValues = ArrayLike<number | string | null>;

export interface DatasetFile {
  format: DatasetFormat;
  rows: number;
  columns: DatasetColumn[];
  rowGroups: RowGroup[];
  /** The named columns' values for rows [rowStart, rowEnd). */
  read(rowStart: number, rowEnd: number, columns: readonly string[]): Promise<Map<string, ColumnValues>>;
}

/** hyparquet decodes timestamps to Date by default: evaluation wants epoch milliseconds. */
const TIMESTAMP_PARSERS = {
  timestampFromMilliseconds: (ms: bigint) => Number(ms),
  timestampFromMicroseconds: (us: bigint) => Number(us / 1000n),
  timestampFromNanoseconds: (ns: bigint) => Number(ns / 1_000_000n),
  dateFromDays: (days: number) => days * 86_400_000,
};

/** "PAR1" at both ends. */
export function looksLikeParquet(bytes: Uint8Array): boolean {
  const magic = [0x50, 0x41, 0x52, 0x31];
  return (
    bytes.byteLength >= 12 &&
    magic.every((b, i) => bytes[i] === b) &&
    magic.every((b, i) => bytes[bytes.byteLength - 4 + i] === b)
  );
}

function columnKind(element: { type?: string; converted_type?: string; logical_type?: { type: string } }): ColumnKind {
  const logical = element.logical_type?.type;
  const converted = element.converted_type;
  if (
    logical === 'TIMESTAMP' ||
    logical === 'DATE' ||
    converted === 'TIMESTAMP_MILLIS' ||
    converted === 'TIMESTAMP_MICROS' ||
    converted === 'DATE'
  )
    return 'timestamp';
  if (logical === 'STRING' || converted === 'UTF8' || (element.type === 'BYTE_ARRAY' && !logical && !converted))
    return 'string';
  if (logical === 'DECIMAL' || converted === 'DECIMAL') return 'other';
  if (element.type === 'DOUBLE' || element.type === 'FLOAT' || element.type === 'INT32' || element.type === 'INT64')
    return 'number';
  return 'other';
}

function normalise(value: unknown): number | string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.getTime();
  return String(value);
}

/** Opens a Parquet file from an AsyncBuffer (an S3 object read by ranges, or bytes in memory). */
export async function openParquet(file: AsyncBuffer, known?: FileMetaData): Promise<DatasetFile> {
  const { parquetMetadataAsync, parquetRead, parquetSchema } = await hyparquet();
  let metadata: FileMetaData;
  try {
    metadata = known ?? (await parquetMetadataAsync(file));
  } catch (err) {
    throw new BadUserInputError(`not a readable Parquet file (${err instanceof Error ? err.message : String(err)})`);
  }
  const schema = parquetSchema(metadata);
  const columns = schema.children.map((child) => ({
    name: child.element.name,
    kind: child.children.length ? ('other' as const) : columnKind(child.element),
  }));
  const rowGroups: RowGroup[] = [];
  let start = 0;
  for (const group of metadata.row_groups) {
    const rows = Number(group.num_rows);
    rowGroups.push({ rowStart: start, rows });
    start += rows;
  }
  return {
    format: 'parquet',
    rows: Number(metadata.num_rows),
    columns,
    rowGroups,
    read: async (rowStart, rowEnd, names) => {
      const n = rowEnd - rowStart;
      const kinds = new Map(columns.map((c) => [c.name, c.kind]));
      // Numbers and timestamps go to a Float64Array (NaN where missing): no per-value boxing.
      const out = new Map<string, Float64Array | Array<number | string | null>>();
      for (const name of names) {
        const kind = kinds.get(name);
        out.set(
          name,
          kind === 'number' || kind === 'timestamp' ? new Float64Array(n).fill(Number.NaN) : new Array(n).fill(null),
        );
      }
      await parquetRead({
        file: file instanceof ArrayBuffer ? file : await prefetchRows(file, metadata, rowStart, rowEnd, names),
        metadata,
        columns: [...names],
        rowStart,
        rowEnd,
        parsers: TIMESTAMP_PARSERS,
        // Chunks may hold rows outside the range (whole pages): keep the rows asked for.
        onChunk: ({ columnName, columnData, rowStart: chunkStart }) => {
          const into = out.get(columnName);
          if (!into) return;
          const from = Math.max(rowStart, chunkStart);
          const to = Math.min(rowEnd, chunkStart + columnData.length);
          if (to <= from) return;
          if (into instanceof Float64Array) {
            if (ArrayBuffer.isView(columnData) && !(columnData instanceof BigInt64Array)) {
              into.set((columnData as Float32Array).subarray(from - chunkStart, to - chunkStart), from - rowStart);
              return;
            }
            for (let r = from; r < to; r++) {
              const v = columnData[r - chunkStart];
              into[r - rowStart] = v === null || v === undefined ? Number.NaN : Number(v);
            }
            return;
          }
          for (let r = from; r < to; r++) into[r - rowStart] = normalise(columnData[r - chunkStart]);
        },
      });
      return out;
    },
  };
}

/**
 * One ranged GET for a read instead of one per column chunk: the bytes from
 * the first to the last needed column chunk of the row groups the rows fall
 * in. Slices inside it are served from it; anything else goes to the file.
 */
async function prefetchRows(
  file: AsyncBuffer,
  metadata: FileMetaData,
  rowStart: number,
  rowEnd: number,
  names: readonly string[],
): Promise<AsyncBuffer> {
  const wanted = new Set(names);
  let start = Number.POSITIVE_INFINITY;
  let end = 0;
  let groupStart = 0;
  for (const group of metadata.row_groups) {
    const groupEnd = groupStart + Number(group.num_rows);
    if (groupEnd > rowStart && groupStart < rowEnd) {
      for (const column of group.columns) {
        const meta = column.meta_data;
        if (!meta || !wanted.has(meta.path_in_schema[0])) continue;
        const first = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
        start = Math.min(start, first);
        end = Math.max(end, first + Number(meta.total_compressed_size));
      }
    }
    groupStart = groupEnd;
  }
  if (!(end > start)) return file;
  const bytes = await file.slice(start, end);
  return {
    byteLength: file.byteLength,
    slice: (from: number, to = file.byteLength) =>
      from >= start && to <= end ? bytes.slice(from - start, to - start) : file.slice(from, to),
  };
}

/** Parquet bytes already in memory. */
export async function openParquetBytes(bytes: Uint8Array): Promise<DatasetFile> {
  const { parquetMetadata } = await hyparquet();
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(buffer);
  } catch (err) {
    throw new BadUserInputError(`not a readable Parquet file (${err instanceof Error ? err.message : String(err)})`);
  }
  return openParquet(buffer, metadata);
}

/** CSV files are read whole (they are for small datasets); chunks are cut every this many rows. */
export const CSV_ROWS_PER_GROUP = 50_000;

/**
 * A CSV file (RFC 4180: a header line, comma-separated fields, double quotes
 * around fields holding commas, quotes or line breaks). A column is numeric
 * when every non-empty value is a finite number.
 */
export function openCsv(text: string, rowsPerGroup = CSV_ROWS_PER_GROUP): DatasetFile {
  const records = parseCsv(text);
  const header = records.shift();
  if (!header || header.length === 0 || (header.length === 1 && header[0] === ''))
    throw new BadUserInputError('the CSV file has no header line');
  if (new Set(header).size !== header.length) throw new BadUserInputError('the CSV header names a column twice');
  const width = header.length;
  records.forEach((r, i) => {
    if (r.length !== width)
      throw new BadUserInputError(`CSV line ${i + 2} has ${r.length} fields, the header ${width}`, { row: i });
  });
  const values: Array<Array<number | string | null>> = header.map(() => new Array(records.length));
  const kinds: ColumnKind[] = header.map((_, c) => {
    const numeric = records.every((r) => r[c] === '' || Number.isFinite(Number(r[c])));
    records.forEach((r, i) => (values[c][i] = r[c] === '' ? null : numeric ? Number(r[c]) : r[c]));
    return numeric ? 'number' : 'string';
  });
  const rowGroups: RowGroup[] = [];
  for (let s = 0; s < records.length; s += rowsPerGroup)
    rowGroups.push({ rowStart: s, rows: Math.min(rowsPerGroup, records.length - s) });
  const index = new Map(header.map((name, c) => [name, c]));
  return {
    format: 'csv',
    rows: records.length,
    columns: header.map((name, c) => ({ name, kind: kinds[c] })),
    rowGroups,
    read: async (rowStart, rowEnd, names) =>
      new Map(names.map((name) => [name, values[index.get(name)!]?.slice(rowStart, rowEnd) ?? []])),
  };
}

function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += ch;
  }
  if (quoted) throw new BadUserInputError('the CSV file ends inside a quoted field');
  if (field !== '' || record.length) {
    record.push(field);
    records.push(record);
  }
  return records;
}

/** Reads a dataset file from its bytes, by content (Parquet's magic) rather than by name. */
export async function openDatasetBytes(bytes: Uint8Array): Promise<DatasetFile> {
  if (looksLikeParquet(bytes)) return openParquetBytes(bytes);
  return openCsv(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}
