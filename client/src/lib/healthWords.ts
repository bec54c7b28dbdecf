/** A site's health in words, in the page's language: levels, reasons, figures and times. */
import type { HealthLevel, HealthReason, HealthSample } from '../../../protocol/health';
import { type Figure, formatFigure } from './health';
import { currentLang, t } from './ui';

export function locale(): string {
  return currentLang() === 'vi' ? 'vi-VN' : 'en-GB';
}

export function levelText(level: HealthLevel | undefined): string {
  return level ? t(`health.level.${level}`) : t('health.noData');
}

export function reasonsText(reasons: readonly HealthReason[]): string {
  return reasons.length ? reasons.map((r) => t(`health.reason.${r}`)).join(', ') : t('health.noReason');
}

/** "14:03:12", from a server time. */
export function timeOf(ms: number): string {
  return new Date(ms).toLocaleTimeString(locale(), { hour12: false });
}

export function figure(value: number | null | undefined, f: Figure): string {
  return formatFigure(value, f, locale());
}

/** The figures of a sample in one sentence (the detail panel's text beside its charts). */
export function figuresSentence(s: HealthSample | null): string {
  return t('health.figuresLine', {
    up: figure(s?.upKbps, 'upKbps'),
    down: figure(s?.downKbps, 'downKbps'),
    loss: figure(s?.lossPct, 'lossPct'),
    rtt: figure(s?.rttMs, 'rttMs'),
    jitter: figure(s?.jitterMs, 'jitterMs'),
    score: figure(s?.score, 'score'),
    fps: figure(s?.fps, 'fps'),
  });
}
