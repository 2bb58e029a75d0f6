/** Previous and Next through a list the server pages: `page` of `total` rows, `size` a page. */
import type { Words } from './i18n.js';

export function Pager(props: { words: Words; page: number; size: number; total: number; onPage: (page: number) => void }) {
  const { words, page, size, total } = props;
  if (total <= size) return null;
  return (
    <p class="pager">
      <button type="button" disabled={page === 0} onClick={() => props.onPage(page - 1)}>{words.previous}</button>
      <span>{page + 1} / {Math.ceil(total / size)}</span>
      <button type="button" disabled={(page + 1) * size >= total} onClick={() => props.onPage(page + 1)}>{words.next}</button>
    </p>
  );
}
