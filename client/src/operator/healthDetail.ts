/**
 * One hall's connection over the last hour, in a dialog: its level and figures now in words,
 * charts of its bit rates, loss and delay (the server's history, `health:history`, with what
 * has been pushed since), and when it was not good and why. Esc or the close button closes it
 * and the focus goes back to what opened it.
 */
import type { HealthSample } from '../../../protocol/health';
import { el, setHidden, setText } from '../lib/dom';
import { type ChartSeries, lineChart } from '../lib/healthChart';
import { mergeSamples, troublePeriods } from '../lib/health';
import { figure, figuresSentence, levelText, reasonsText, timeOf } from '../lib/healthWords';
import type { Changes, ConsoleStore } from '../lib/store';
import { t } from '../lib/ui';

export interface DetailView {
  open(code: string, opener: HTMLElement | null): void;
  update(changes: Changes): void;
}

const HOUR_MS = 3_600_000;

interface Chart {
  title: string;
  series: ChartSeries[];
  floor: number;
  unit: string;
}

export function healthDetail(store: ConsoleStore): DetailView {
  const $ = (id: string) => document.getElementById(id) as HTMLElement;
  const dialog = $('health-detail') as HTMLDialogElement;
  const status = $('health-detail-status');
  const charts = $('health-detail-charts');
  const problems = $('health-detail-problems');
  const closeButton = $('health-detail-close') as HTMLButtonElement;
  let code: string | null = null;
  let opener: HTMLElement | null = null;
  /** Bumped at every opening and closing: a late answer for an earlier opening is dropped. */
  let attempt = 0;
  /** The samples shown; null until the history has come (or failed). */
  let samples: HealthSample[] | null = null;

  const CHARTS: Chart[] = [
    {
      title: t('health.chart.kbps'),
      unit: 'kbit/s',
      floor: 100,
      series: [
        { figure: 'upKbps', cls: 'line-up', label: t('health.series.up') },
        { figure: 'downKbps', cls: 'line-down', label: t('health.series.down') },
      ],
    },
    {
      title: t('health.chart.loss'),
      unit: '%',
      floor: 5,
      series: [{ figure: 'lossPct', cls: 'line-loss', label: t('health.series.loss') }],
    },
    {
      title: t('health.chart.delay'),
      unit: 'ms',
      floor: 100,
      series: [
        { figure: 'rttMs', cls: 'line-rtt', label: t('health.series.rtt') },
        { figure: 'jitterMs', cls: 'line-jitter', label: t('health.series.jitter') },
      ],
    },
  ];

  function showNow(): void {
    if (!code) return;
    const h = store.health(code);
    const parts = !h
      ? [t('health.noData')]
      : [
          h.since > 0
            ? t('health.nowLine', { level: levelText(h.level), time: timeOf(h.since) })
            : `${levelText(h.level)}.`,
          h.level === 'good' ? '' : t('health.reasonsLine', { reasons: reasonsText(h.last?.reasons ?? []) }),
          figuresSentence(h.last),
        ];
    setText($('health-detail-now'), parts.filter(Boolean).join(' '));
    $('health-detail-now').dataset.level = h?.level ?? 'unknown';
  }

  function draw(): void {
    if (!samples) return;
    const first = samples[0];
    const last = samples[samples.length - 1];
    setHidden(charts, !first);
    if (!first || !last) {
      charts.replaceChildren();
      problems.replaceChildren();
      setText(status, t('health.empty'));
      return;
    }
    const figures = CHARTS.map((c) => {
      const legend = el(
        'ul',
        { class: 'chart-legend' },
        ...c.series.map((s) =>
          el('li', {}, el('span', { class: `swatch ${s.cls}`, 'aria-hidden': 'true' }), s.label),
        ),
      );
      const id = `health-chart-${c.series[0]?.figure ?? ''}`;
      const chart = lineChart({
        samples: samples as HealthSample[],
        series: c.series,
        floor: c.floor,
        label: t('health.chartAria', {
          what: c.title,
          from: timeOf(first.t),
          to: timeOf(last.t),
          figures: c.series
            .map(
              (s) =>
                `${s.label}: ${figure(last[s.figure], s.figure)}${last[s.figure] === null ? '' : ` ${c.unit}`}`,
            )
            .join('; '),
        }),
        value: (v) => figure(v, c.series[0]?.figure ?? 'upKbps'),
        // Minutes on an hour's axis; seconds when it spans a few minutes.
        time: (ms) => (last.t - first.t > 10 * 60_000 ? timeOf(ms).slice(0, 5) : timeOf(ms)),
      });
      return el(
        'figure',
        { class: 'chart-box', 'aria-labelledby': id },
        el('figcaption', { id }, el('strong', {}, c.title), legend),
        chart,
      );
    });
    charts.replaceChildren(...figures);
    const periods = troublePeriods(samples, 30);
    problems.replaceChildren(
      ...(periods.length
        ? periods.map((p) =>
            el(
              'li',
              { 'data-level': p.level },
              el('time', {}, p.from === p.to ? timeOf(p.from) : `${timeOf(p.from)}–${timeOf(p.to)}`),
              ' ',
              el('span', { class: 'problem-level' }, levelText(p.level)),
              ': ',
              reasonsText(p.reasons),
            ),
          )
        : [el('li', { class: 'muted' }, t('health.noProblems'))]),
    );
  }

  async function load(which: string, mine: number): Promise<void> {
    const pushed = store.healthTrail(which)?.samples ?? [];
    try {
      const history = await store.client.healthHistory(which);
      if (mine !== attempt) return;
      samples = mergeSamples(history, store.healthTrail(which)?.samples ?? pushed);
      setText(status, t('health.historyFrom', { count: samples.length }));
    } catch (e) {
      if (mine !== attempt) return;
      // The server's history is out of reach: what this page has seen is still worth showing.
      samples = [...(store.healthTrail(which)?.samples ?? pushed)];
      const message = e instanceof Error ? e.message : String(e);
      setText(status, t('health.historyFailed', { message }));
    }
    draw();
  }

  closeButton.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    attempt += 1;
    code = null;
    samples = null;
    const back = opener?.isConnected ? opener : null;
    opener = null;
    back?.focus();
  });

  return {
    open(which, from) {
      if (dialog.open && code === which) return;
      attempt += 1;
      code = which;
      opener = from;
      samples = null;
      setText($('health-detail-title'), t('health.detailFor', { site: store.siteName(which) }));
      showNow();
      setText(status, t('health.loading'));
      setHidden(charts, true);
      charts.replaceChildren();
      problems.replaceChildren();
      if (!dialog.open) dialog.showModal();
      closeButton.focus();
      void load(which, attempt);
    },
    update(changes) {
      if (!code || !dialog.open || !changes.health.has(code)) return;
      showNow();
      const last = store.health(code)?.last;
      const newest = samples?.[samples.length - 1];
      if (samples && last && (!newest || last.t > newest.t)) {
        samples.push(last);
        // The last hour, as the server keeps it, however long the panel stays open.
        while ((samples[0] as HealthSample).t < last.t - HOUR_MS) samples.shift();
        draw();
      }
    },
  };
}
