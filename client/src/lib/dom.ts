/**
 * The consoles' view layer: a few DOM helpers that write only what changed, and a keyed list.
 * No framework: the four consoles are lists of rows and tiles whose fields change one at a time,
 * and these ~100 lines do what a view library would (patch by key, never recreate a control the
 * user is holding) at no bundle cost. Every write compares first, so a push that changes one
 * hall mutates only that hall's elements (tests/e2e/consoles63.test.ts counts the mutations).
 */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/** Sets an attribute, or removes it with null; untouched when it already has that value. */
export function setAttr(node: Element, name: string, value: string | null): void {
  if (value === null) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

/** Sets a CSS custom property on an element's style, when it differs. */
export function setVar(node: HTMLElement, name: string, value: string): void {
  if (node.style.getPropertyValue(name) !== value) node.style.setProperty(name, value);
}

export function setHidden(node: HTMLElement, hidden: boolean): void {
  if (node.hidden !== hidden) node.hidden = hidden;
}

export function setDisabled(
  node: HTMLButtonElement | HTMLSelectElement | HTMLInputElement,
  v: boolean,
): void {
  if (node.disabled !== v) node.disabled = v;
}

/** Shows a track in a video element, replacing the stream only when the track changed. */
export function showTrack(video: HTMLVideoElement, track: MediaStreamTrack | undefined): void {
  const current = (video.srcObject as MediaStream | null)?.getVideoTracks()[0];
  if (track && track !== current) {
    video.srcObject = new MediaStream([track]);
    void video.play().catch(() => undefined);
  } else if (!track && current) video.srcObject = null;
}

export interface Row {
  el: HTMLElement;
}

/**
 * Rows rendered from items by key: a row is created once for its key, updated in place after
 * that (its update writes through the helpers above, so an unchanged row is not touched),
 * moved only when its position changed, and removed when its key is gone.
 */
export class KeyedList<T, R extends Row> {
  readonly #rows = new Map<string, R>();

  constructor(
    readonly container: HTMLElement,
    private readonly key: (item: T) => string,
    private readonly create: (item: T) => R,
    private readonly update: (row: R, item: T, index: number) => void,
  ) {}

  get(key: string): R | undefined {
    return this.#rows.get(key);
  }

  rows(): IterableIterator<[string, R]> {
    return this.#rows.entries();
  }

  render(items: readonly T[]): void {
    const wanted = new Set<string>();
    for (const item of items) wanted.add(this.key(item));
    for (const [k, row] of this.#rows) {
      if (!wanted.has(k)) {
        row.el.remove();
        this.#rows.delete(k);
      }
    }
    let previous: Element | null = null;
    items.forEach((item, index) => {
      const k = this.key(item);
      let row = this.#rows.get(k);
      if (!row) {
        row = this.create(item);
        this.#rows.set(k, row);
      }
      this.update(row, item, index);
      // In place when it already follows the previous row: no DOM move, no mutation.
      const expected: Element | null = previous
        ? previous.nextElementSibling
        : this.container.firstElementChild;
      if (expected !== row.el) this.container.insertBefore(row.el, expected);
      previous = row.el;
    });
  }
}
