/**
 * Operator view: every site with its connection state, what it sends, roll call, and a button
 * to reissue the site's join link (the old link stops working at once).
 */
import type { SiteInfo, SitePresence } from '../../../protocol/events';
import { reissueErrorText, reissueLink } from '../lib/reissue';
import { STATUS_KEY, siteStatus } from '../lib/roster';
import { bootConsole, currentLang, el, showError, t, tokenFromLocation } from '../lib/ui';

const client = bootConsole({
  publish: { camera: false, microphone: false },
});

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const presence = new Map<string, SitePresence>();
let sites: SiteInfo[] = [];
/** Whose credential this page holds: never offered for reissue. */
let self = '';

client.on('joined', (info) => {
  self = info.principal;
  $('conference-title').textContent = info.conference.title;
  sites = info.sites.filter((s) => s.kind !== 'central');
  for (const p of info.presence) presence.set(p.code, p);
  render();
});
client.on('presence', (p) => {
  presence.set(p.code, p);
  render();
});
client.on('conference', () => render());

async function mark(code: string, status: 'present' | 'absent'): Promise<void> {
  try {
    await client.command('rollcall:mark', { siteCode: code, status });
  } catch (e) {
    showError(e);
  }
}

function render(): void {
  const state = client.conference;
  if (!state) return;
  let connected = 0;
  $('rows').replaceChildren(
    ...sites.map((s) => {
      const p = presence.get(s.code);
      const status = siteStatus(state, s.code, p);
      if (status !== 'offline') connected += 1;
      const roll = state.sites.find((x) => x.code === s.code)?.rollCall ?? 'unknown';
      const media = p?.connected ? `${p.camera ? '🎥' : '—'} ${p.microphone ? '🎤' : '—'}` : '';
      const present = el('button', { type: 'button', class: 'small' }, t('action.present'));
      present.addEventListener('click', () => void mark(s.code, 'present'));
      const absent = el('button', { type: 'button', class: 'small' }, t('action.absent'));
      absent.addEventListener('click', () => void mark(s.code, 'absent'));
      return el(
        'tr',
        { 'data-site': s.code, 'data-status': status },
        el('td', {}, s.name),
        el('td', { class: 'status' }, t(STATUS_KEY[status])),
        el('td', {}, media),
        el('td', {}, el('span', { class: `roll roll-${roll}` }, t(`rollcall.${roll}`)), ' ', present, absent),
        el(
          'td',
          {},
          // The central bridge's row has no link of its own (its people each have theirs).
          s.code === self || s.kind === 'central'
            ? ''
            : el(
                'button',
                {
                  type: 'button',
                  class: 'small',
                  'data-reissue': s.code,
                  'aria-label': t('operator.reissueFor', { site: s.name }),
                  'aria-haspopup': 'dialog',
                },
                t('operator.reissue'),
              ),
        ),
      );
    }),
  );
  $('summary').textContent = t('chair.connected', { count: connected, total: sites.length });
}

/* ---- reissuing a hall's link: one dialog, confirm → request → show the new link ---- */

const dialog = $('reissue') as HTMLDialogElement;
const okButton = $('reissue-ok') as HTMLButtonElement;
const copyButton = $('reissue-copy') as HTMLButtonElement;
const cancelButton = $('reissue-cancel') as HTMLButtonElement;
const urlBox = $('reissue-url') as HTMLTextAreaElement;
/** The site the dialog is about, and a counter so a late answer for an earlier opening is ignored. */
let target: SiteInfo | null = null;
let attempt = 0;
/** While the request is out the dialog stays open: the old link may already be gone, the new one must be seen. */
let busy = false;

// Rows are rebuilt on every push: one listener on the table body, not one per button.
$('rows').addEventListener('click', (ev) => {
  const button = (ev.target as Element).closest<HTMLButtonElement>('button[data-reissue]');
  const code = button?.dataset.reissue;
  if (code) openReissue(code);
});

function openReissue(code: string): void {
  const site = sites.find((s) => s.code === code);
  if (!site || code === self || dialog.open || busy) return;
  target = site;
  attempt += 1;
  $('reissue-title').textContent = t('operator.reissueFor', { site: site.name });
  $('reissue-text').textContent = t('operator.reissueWarning', { site: site.name });
  $('reissue-text').hidden = false;
  $('reissue-result').hidden = true;
  $('reissue-error').hidden = true;
  $('reissue-copied').textContent = '';
  urlBox.value = '';
  okButton.hidden = false;
  okButton.disabled = false;
  okButton.textContent = t('operator.reissueGo');
  copyButton.hidden = true;
  cancelButton.textContent = t('action.cancel');
  dialog.showModal();
  cancelButton.focus();
}

okButton.addEventListener('click', () => void confirmReissue());
cancelButton.addEventListener('click', () => {
  if (!busy) dialog.close();
});
dialog.addEventListener('cancel', (ev) => {
  if (busy) ev.preventDefault();
});
copyButton.addEventListener('click', () => void copyLink());
dialog.addEventListener('close', () => {
  attempt += 1;
  // The row was probably rebuilt while the dialog was open: focus the current button for that site.
  const code = target?.code;
  target = null;
  if (code)
    $('rows')
      .querySelector<HTMLButtonElement>(`button[data-reissue="${CSS.escape(code)}"]`)
      ?.focus();
});

async function confirmReissue(): Promise<void> {
  const site = target;
  if (!site) return;
  const mine = attempt;
  busy = true;
  okButton.disabled = true;
  cancelButton.disabled = true;
  okButton.textContent = t('operator.reissueBusy');
  $('reissue-error').hidden = true;
  try {
    const link = await reissueLink(site.code, tokenFromLocation());
    if (mine !== attempt) return;
    $('reissue-text').hidden = true;
    $('reissue-url-label').textContent = t('operator.newLink', { site: site.name });
    urlBox.value = link.url;
    const expires = new Date(link.expiresAt);
    $('reissue-expires').textContent = Number.isNaN(expires.getTime())
      ? ''
      : t('operator.expiresAt', {
          time: expires.toLocaleString(currentLang() === 'vi' ? 'vi-VN' : 'en-GB', {
            dateStyle: 'full',
            timeStyle: 'short',
          }),
        });
    $('reissue-result').hidden = false;
    okButton.hidden = true;
    copyButton.hidden = false;
    cancelButton.textContent = t('operator.dialogClose');
    copyButton.focus();
  } catch (e) {
    if (mine !== attempt) return;
    const { key, params } = reissueErrorText(e, (k) => t(k) !== k);
    $('reissue-error').textContent = t('operator.reissueFailed', { reason: t(key, params) });
    $('reissue-error').hidden = false;
    okButton.disabled = false;
    okButton.textContent = t('operator.reissueGo');
  } finally {
    busy = false;
    cancelButton.disabled = false;
  }
}

async function copyLink(): Promise<void> {
  try {
    await navigator.clipboard.writeText(urlBox.value);
    $('reissue-copied').textContent = t('operator.copied');
  } catch {
    // No clipboard (plain http, or refused): select the text for Ctrl+C.
    urlBox.focus();
    urlBox.select();
    $('reissue-copied').textContent = t('operator.copyManual');
  }
}

client.start();
