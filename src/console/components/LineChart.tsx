/**
 * Lines over UTC days with uPlot (canvas), with units on both axes, a legend,
 * and the same numbers as a table for screen readers and copy-paste.
 * `data-points` counts the non-empty points drawn (the browser test reads it).
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface DaySeries {
  label: string;
  /** One value per entry of `days` (null: no data that day). */
  values: Array<number | null>;
}

const DAY = 86_400;

export const PALETTE = ['#1f5fbf', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0e7490', '#a16207', '#4b5563'];

export function LineChart(props: {
  title: string;
  /** UTC dates, `YYYY-MM-DD`, ascending. */
  days: string[];
  series: DaySeries[];
  yLabel: string;
  /** Formats a y value for the axis, legend and table. */
  format(v: number): string;
  yRange?: [number, number];
}) {
  const host = useRef<HTMLDivElement>(null);
  const { days, series, yLabel, format, yRange } = props;
  const points = series.reduce((n, s) => n + s.values.filter((v) => v !== null).length, 0);

  useEffect(() => {
    const el = host.current;
    if (!el || days.length === 0) return;
    const xs = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const opts: uPlot.Options = {
      width: Math.max(320, el.clientWidth),
      height: 260,
      // Room on the right for the last day's label.
      padding: [10, 48, 0, 0],
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: { x: { time: true }, y: yRange ? { range: yRange } : {} },
      axes: [
        {
          label: 'Day (UTC)',
          labelSize: 18,
          stroke: '#333',
          // Whole UTC days only: the data has one point per day.
          incrs: [DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY],
          values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toISOString().slice(0, 10)),
        },
        { label: yLabel, labelSize: 18, size: 56, stroke: '#333', values: (_u, ticks) => ticks.map(format) },
      ],
      series: [
        { label: 'Day (UTC)', value: (_u, v) => (v === null ? '—' : new Date(v * 1000).toISOString().slice(0, 10)) },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length],
          width: 2,
          points: { show: true, size: 6 },
          spanGaps: true,
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : format(v)),
        })),
      ],
    };
    const plot = new uPlot(opts, [xs, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(320, el.clientWidth), height: 260 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [days, series, yLabel, format, yRange]);

  return (
    <figure className="chart" data-points={points} data-series={series.length}>
      <figcaption>{props.title}</figcaption>
      <div ref={host} role="img" aria-label={`${props.title}: ${series.length} lines, ${points} points`} />
      <details>
        <summary>The chart's numbers</summary>
        <table className="dense">
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              {series.map((s) => (
                <th scope="col" key={s.label}>
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {days.map((d, i) => (
              <tr key={d}>
                <td>{d}</td>
                {series.map((s) => (
                  <td key={s.label} className="num">
                    {s.values[i] === null ? '—' : format(s.values[i]!)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
