// Small DOM helpers. Text goes in as text nodes only: message content is never HTML.

export type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  testid?: string;
  title?: string;
  /** data-* attributes (undefined ones are left out). */
  data?: Record<string, string | number | boolean | undefined>;
  attrs?: Record<string, string>;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.testid) el.dataset.testid = props.testid;
  if (props.title) el.title = props.title;
  for (const [name, value] of Object.entries(props.data ?? {}))
    if (value !== undefined) el.dataset[name] = String(value);
  for (const [name, value] of Object.entries(props.attrs ?? {})) el.setAttribute(name, value);
  if (tag === 'button') el.setAttribute('type', 'button');
  for (const child of children) if (child) el.append(child);
  return el;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el as T;
}

/** One child of a keyed list: rebuilt only when its signature changed. */
export interface Keyed {
  key: string;
  sig: string;
  render: () => HTMLElement;
}

/**
 * Makes `parent`'s children the rendered `items`, in order, keeping the elements whose key and
 * signature did not change: an open inline editor keeps its focus and caret, and a re-render
 * after each event costs only what changed.
 */
export function reconcile(parent: HTMLElement, items: readonly Keyed[]): void {
  const old = new Map<string, HTMLElement>();
  for (const child of Array.from(parent.children) as HTMLElement[]) old.set(child.dataset.key ?? '', child);
  let cursor = parent.firstElementChild;
  for (const item of items) {
    let el = old.get(item.key);
    old.delete(item.key);
    if (!el || el.dataset.sig !== item.sig) {
      const fresh = item.render();
      fresh.dataset.key = item.key;
      fresh.dataset.sig = item.sig;
      if (el) {
        el.replaceWith(fresh);
        if (cursor === el) cursor = fresh;
      }
      el = fresh;
    }
    if (el === cursor) cursor = cursor.nextElementSibling;
    else parent.insertBefore(el, cursor);
  }
  for (const el of old.values()) el.remove();
}

export function clockTime(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** A time today, else a date: for the conversation list and "last seen". */
export function shortTime(iso: string): string {
  const date = new Date(iso);
  return date.toDateString() === new Date().toDateString()
    ? clockTime(iso)
    : date.toLocaleDateString([], { month: 'short', day: 'numeric' });
}
