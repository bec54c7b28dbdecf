/**
 * The agenda editor on the operator's page: the prepared programme (opening, reports, named
 * halls' statements with their allotted times, conclusion) edited as a draft and saved with
 * `agenda:set`, which reaches the chair's panel at once. Each item has a kind, a title, a
 * speaking hall chosen from the roster (searched without diacritics) and an allotted time in
 * minutes; items are added, moved and removed. A draft with changes is never overwritten by a
 * push: the page says the agenda changed elsewhere and the operator chooses.
 */
import type { AgendaKind, AgendaItem } from '../../../protocol/conference';
import { KeyedList, el, setDisabled, setHidden, setText } from '../lib/dom';
import { nameMatches } from '../lib/roster';
import type { ConsoleStore } from '../lib/store';
import { runCommand, t } from '../lib/ui';

const KINDS: AgendaKind[] = ['opening', 'report', 'statement', 'conclusion', 'other'];
/** The protocol's bounds for an allotted time (10 s to 3 h), in whole minutes here. */
const MAX_MINUTES = 180;

interface Draft {
  key: string;
  kind: AgendaKind;
  title: string;
  speakerSite: string | null;
  minutes: number | null;
  deckId: string | null;
}

interface ItemRow {
  el: HTMLElement;
  draft: Draft;
  index: number;
  number: HTMLElement;
  kind: HTMLSelectElement;
  title: HTMLInputElement;
  search: HTMLInputElement;
  site: HTMLSelectElement;
  minutes: HTMLInputElement;
  deck: HTMLSelectElement;
  up: HTMLButtonElement;
  down: HTMLButtonElement;
}

export function agendaEditor(store: ConsoleStore): { render(): void } {
  const $ = (id: string) => document.getElementById(id) as HTMLElement;
  let drafts: Draft[] = [];
  let nextKey = 1;
  let dirty = false;
  /** The agenda the draft was taken from, to tell a change made elsewhere. */
  let base = '';

  const fromState = (items: readonly AgendaItem[]): Draft[] =>
    items.map((it) => ({
      key: `d${nextKey++}`,
      kind: it.kind,
      title: it.title,
      speakerSite: it.speakerSite,
      minutes: it.allottedSec === null ? null : Math.round(it.allottedSec / 60),
      deckId: it.deckId ?? null,
    }));
  const signature = (items: readonly AgendaItem[]) =>
    JSON.stringify(items.map((i) => [i.kind, i.title, i.speakerSite, i.allottedSec, i.deckId ?? null]));

  const changed = () => {
    dirty = true;
    setText($('agenda-status'), t('agendaEditor.unsaved'));
  };

  /** The site choices for a search: every hall matching it (all with an empty search). */
  const fillSites = (row: ItemRow) => {
    const options = [new Option(t('agendaEditor.noSite'), '')];
    for (const s of store.halls)
      if (nameMatches(s.name, row.search.value) || s.code === row.draft.speakerSite)
        options.push(new Option(s.name, s.code, false, s.code === row.draft.speakerSite));
    row.site.replaceChildren(...options);
    row.site.value = row.draft.speakerSite ?? '';
  };

  /** The deck choices: none, or any deck of the conference (re-made only when the decks change). */
  const fillDecks = (row: ItemRow) => {
    const decks = store.state?.decks ?? [];
    const key = decks.map((d) => d.id).join(',');
    if (row.deck.dataset.decks !== key) {
      row.deck.dataset.decks = key;
      row.deck.replaceChildren(
        new Option(t('agendaEditor.noDeck'), ''),
        ...decks.map((d) => new Option(t('deck.option', { title: d.title, pages: d.pages }), d.id)),
      );
    }
    if (row.deck.value !== (row.draft.deckId ?? '')) row.deck.value = row.draft.deckId ?? '';
  };

  const list = new KeyedList<Draft, ItemRow>(
    $('agenda-items'),
    (d) => d.key,
    (d) => {
      const number = el('span', { class: 'agenda-number' });
      const kind = el('select', { 'aria-label': t('agendaEditor.kind') });
      kind.append(...KINDS.map((k) => new Option(t(`agenda.kind.${k}`), k)));
      const title = el('input', { maxlength: '200', 'aria-label': t('agendaEditor.title') });
      title.placeholder = t('agendaEditor.title');
      const search = el('input', { type: 'search', 'aria-label': t('agendaEditor.findSite') });
      search.placeholder = t('agendaEditor.findSite');
      const site = el('select', { 'aria-label': t('agendaEditor.site') });
      const minutes = el('input', {
        type: 'number',
        min: '1',
        max: String(MAX_MINUTES),
        'aria-label': t('agendaEditor.minutes'),
      });
      minutes.placeholder = t('agendaEditor.minutes');
      const deck = el('select', { 'aria-label': t('agendaEditor.deck') });
      const button = (label: string, cls: string) => el('button', { type: 'button', class: cls }, label);
      const up = button(t('action.up'), 'small');
      const down = button(t('action.down'), 'small');
      const remove = button(t('agendaEditor.remove'), 'small danger');
      const row: ItemRow = {
        el: el(
          'li',
          { class: 'agenda-item', 'data-key': d.key },
          number,
          kind,
          title,
          el('span', { class: 'site-pick' }, search, site),
          el('span', { class: 'minutes' }, minutes, ` ${t('agendaEditor.unit')}`),
          deck,
          el('span', { class: 'buttons' }, up, down, remove),
        ),
        draft: d,
        index: 0,
        number,
        kind,
        title,
        search,
        site,
        minutes,
        deck,
        up,
        down,
      };
      deck.addEventListener('change', () => {
        row.draft.deckId = deck.value || null;
        changed();
      });
      kind.addEventListener('change', () => {
        row.draft.kind = kind.value as AgendaKind;
        changed();
      });
      title.addEventListener('input', () => {
        row.draft.title = title.value;
        changed();
      });
      search.addEventListener('input', () => {
        fillSites(row);
        // One match: chosen at once (typing "ba ria" picks Bà Rịa - Vũng Tàu).
        const matches = [...site.options].filter((o) => o.value);
        if (matches.length === 1 && search.value.trim()) {
          site.value = (matches[0] as HTMLOptionElement).value;
          row.draft.speakerSite = site.value;
          changed();
        }
      });
      site.addEventListener('change', () => {
        row.draft.speakerSite = site.value || null;
        changed();
      });
      minutes.addEventListener('input', () => {
        const v = Number(minutes.value);
        row.draft.minutes = minutes.value === '' || !Number.isFinite(v) ? null : v;
        changed();
      });
      const move = (by: number) => {
        const i = drafts.indexOf(row.draft);
        const j = i + by;
        if (i < 0 || j < 0 || j >= drafts.length) return;
        [drafts[i], drafts[j]] = [drafts[j] as Draft, drafts[i] as Draft];
        changed();
        render();
      };
      up.addEventListener('click', () => move(-1));
      down.addEventListener('click', () => move(1));
      remove.addEventListener('click', () => {
        drafts = drafts.filter((x) => x !== row.draft);
        changed();
        render();
      });
      fillSites(row);
      return row;
    },
    (row, d, index) => {
      row.draft = d;
      row.index = index;
      setText(row.number, `${index + 1}.`);
      if (row.kind.value !== d.kind) row.kind.value = d.kind;
      if (row.title.value !== d.title) row.title.value = d.title;
      if (row.site.value !== (d.speakerSite ?? '')) fillSites(row);
      const m = d.minutes === null ? '' : String(d.minutes);
      if (row.minutes.value !== m && document.activeElement !== row.minutes) row.minutes.value = m;
      fillDecks(row);
      setDisabled(row.up, index === 0);
      setDisabled(row.down, index === drafts.length - 1);
    },
  );

  function render(): void {
    const items = store.state?.agenda.items ?? [];
    const sig = signature(items);
    if (sig !== base) {
      if (!dirty) {
        drafts = fromState(items);
        base = sig;
      } else setHidden($('agenda-changed'), false);
    }
    list.render(drafts);
  }

  function revert(): void {
    const items = store.state?.agenda.items ?? [];
    drafts = fromState(items);
    base = signature(items);
    dirty = false;
    setHidden($('agenda-changed'), true);
    setText($('agenda-status'), '');
    render();
  }

  $('agenda-add').addEventListener('click', () => {
    drafts.push({
      key: `d${nextKey++}`,
      kind: 'statement',
      title: '',
      speakerSite: null,
      minutes: null,
      deckId: null,
    });
    changed();
    render();
    list.get(drafts[drafts.length - 1]?.key ?? '')?.title.focus();
  });
  $('agenda-revert').addEventListener('click', revert);
  $('agenda-save').addEventListener('click', () => {
    const empty = drafts.findIndex((d) => !d.title.trim());
    if (empty >= 0) {
      setText($('agenda-status'), t('agendaEditor.needTitle', { n: empty + 1 }));
      list.get(drafts[empty]?.key ?? '')?.title.focus();
      return;
    }
    const bad = drafts.findIndex(
      (d) =>
        d.minutes !== null && !(Number.isInteger(d.minutes) && d.minutes >= 1 && d.minutes <= MAX_MINUTES),
    );
    if (bad >= 0) {
      setText($('agenda-status'), t('agendaEditor.badMinutes', { n: bad + 1, max: MAX_MINUTES }));
      return;
    }
    const items = drafts.map((d) => ({
      kind: d.kind,
      title: d.title.trim(),
      speakerSite: d.speakerSite,
      allottedSec: d.minutes === null ? null : d.minutes * 60,
      deckId: d.deckId,
    }));
    setText($('agenda-status'), t('agendaEditor.saving'));
    void runCommand(store.client, 'agenda:set', { items }).then((ok) => {
      if (!ok) {
        setText($('agenda-status'), '');
        return;
      }
      dirty = false;
      base = '';
      setHidden($('agenda-changed'), true);
      setText($('agenda-status'), t('agendaEditor.saved'));
      render();
    });
  });

  return { render };
}
