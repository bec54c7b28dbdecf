/**
 * The deck controls of a console that may present (the chair's panel; a hall's page while it
 * holds the token): choose a deck, show it, turn its pages with the buttons or the keys (→,
 * PageDown, space: next; ←, PageUp: previous), take it off. Every screen follows the state.
 */
import type { ConferenceClient } from './ConferenceClient';
import { KeyedList, el, setDisabled, setHidden, setText } from './dom';
import type { ConsoleStore } from './store';
import { runCommand, t } from './ui';

/** The controls, made inside #deck-controls (the same on every console that has them). */
function build(box: HTMLElement): void {
  const button = (id: string, key: string, cls = '') =>
    el('button', { id, type: 'button', class: cls }, t(key));
  box.append(
    el('label', { for: 'deck-select' }, t('deck.choose')),
    el('select', { id: 'deck-select' }),
    button('deck-show', 'deck.show'),
    el(
      'div',
      { id: 'deck-pager', class: 'buttons deck-pager', hidden: '' },
      button('deck-prev', 'deck.prev'),
      el('span', { id: 'deck-page', class: 'deck-page' }),
      button('deck-next', 'deck.next', 'primary'),
      button('deck-close', 'deck.close'),
    ),
  );
}

export function bindDeckControls(
  store: ConsoleStore,
  client: ConferenceClient,
  allowed: () => boolean,
): void {
  const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  build($('deck-controls'));
  const select = $<HTMLSelectElement>('deck-select');
  const options = new KeyedList<{ id: string; label: string }, { el: HTMLOptionElement }>(
    select,
    (o) => o.id,
    (o) => ({ el: new Option(o.label, o.id) }),
    (row, o) => setText(row.el, o.label),
  );
  const turn = (by: number) => {
    const s = store.state?.slide;
    if (s) void runCommand(client, 'slide:page', { page: s.page + by });
  };
  $('deck-show').addEventListener('click', () => {
    if (select.value) void runCommand(client, 'slide:show', { deckId: select.value });
  });
  $('deck-prev').addEventListener('click', () => turn(-1));
  $('deck-next').addEventListener('click', () => turn(1));
  $('deck-close').addEventListener('click', () => void runCommand(client, 'slide:close', {}));
  document.addEventListener('keydown', (ev) => {
    const target = ev.target as HTMLElement;
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName))
      return;
    if (!store.state?.slide || !allowed()) return;
    if (['ArrowRight', 'PageDown', ' '].includes(ev.key)) {
      ev.preventDefault();
      turn(1);
    } else if (['ArrowLeft', 'PageUp'].includes(ev.key)) {
      ev.preventDefault();
      turn(-1);
    }
  });
  store.subscribe(() => {
    const state = store.state;
    const decks = state?.decks ?? [];
    setHidden($('deck-controls'), !allowed() || decks.length === 0);
    options.render(
      decks.map((d) => ({ id: d.id, label: t('deck.option', { title: d.title, pages: d.pages }) })),
    );
    const slide = state?.slide ?? null;
    const deck = slide ? decks.find((d) => d.id === slide.deckId) : undefined;
    setHidden($('deck-pager'), !slide);
    if (slide && deck) {
      setText($('deck-page'), t('deck.page', { page: slide.page, pages: deck.pages }));
      setDisabled($<HTMLButtonElement>('deck-prev'), slide.page <= 1);
      setDisabled($<HTMLButtonElement>('deck-next'), slide.page >= deck.pages);
    }
  });
}
