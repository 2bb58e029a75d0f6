/** A button that copies `text` to the clipboard; `label` names it for screen readers and tests. */
import type { Words } from './i18n.js';

export function CopyButton(props: { words: Words; text: string; label?: string }) {
  return <button type="button" aria-label={props.label} onClick={() => { void navigator.clipboard?.writeText(props.text); }}>{props.words.copy}</button>;
}
