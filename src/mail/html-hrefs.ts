/**
 * Where the links of an HTML document are, as offsets into its text: each `href` of an `<a>` or
 * `<area>` with its value decoded, and each `</body>`. Read by htmlparser2's tokenizer, not by
 * patterns over the document, so a link inside a comment, a `<script>`, a `<style>` or a `<title>`
 * is not one, and no markup shape makes the reading slower than one pass: the tokenizer is a state
 * machine over the characters, and nothing here keeps a stack of open elements (which unclosed tags
 * would make deep) or revisits text it has passed.
 *
 * Where it differs from a browser: `<iframe>`, `<noembed>`, `<noframes>`, `<noscript>` and
 * `<plaintext>` hold raw text to a browser and markup to htmlparser2, so an `<a href>` written inside
 * one would be counted (mail clients drop the first four; nobody sends the fifth).
 */
import { QuoteType, Tokenizer, type TokenizerCallbacks } from 'htmlparser2';

/** An `href` value's place in the document. */
export interface HrefSpan {
  /** Offset of the value's first character (after its opening quote, if any). */
  start: number;
  /** Offset just past its last character (at its closing quote, if any). */
  end: number;
  /** Whether the value stood without quotes (a replacement must add them). */
  unquoted: boolean;
  /** The value with character references decoded, or null when it is longer than asked for. */
  value: string | null;
}

/** The links and body ends of a document. */
export interface HtmlHrefs {
  /** In document order. */
  hrefs: HrefSpan[];
  /** Offsets of the `<` of each `</body>` end tag, in document order. */
  bodyEnds: number[];
}

/** Elements whose `href` is a link a reader follows. */
const LINK_ELEMENTS = new Set(['a', 'area']);

/**
 * Finds the `href`s of `<a>` and `<area>` elements and the `</body>` tags. Values longer than
 * `maxValueChars` UTF-16 units are reported with a null value (never gathered: a 5 MB attribute costs
 * no copy). Throws only if the tokenizer does.
 */
export function findHrefs(html: string, maxValueChars: number): HtmlHrefs {
  const hrefs: HrefSpan[] = [];
  const bodyEnds: number[] = [];
  /** Lower-cased name of a short tag or attribute, '' for a long one (no element we want has one). */
  const nameAt = (start: number, end: number): string => (end - start <= 4 ? html.slice(start, end).toLowerCase() : '');

  let inLink = false; // the open tag being read is an <a> or an <area>
  let sawHref = false; // …and its first href has been read: later ones are dropped (HTML §13.2.5.33)
  let inHref = false; // the attribute being read is that first href
  let nameEnd = 0;
  let value = '';
  let tooLong = false;
  let pending: HrefSpan | null = null; // kept only if the tag closes (a tag cut by the end of input is none)

  const append = (text: string): void => {
    if (tooLong) return;
    if (value.length + text.length > maxValueChars) {
      tooLong = true;
      value = '';
    } else value += text;
  };

  const cbs: TokenizerCallbacks = {
    onopentagname(start, end) {
      inLink = LINK_ELEMENTS.has(nameAt(start, end));
      sawHref = false;
      pending = null;
    },
    onattribname(start, end) {
      inHref = inLink && !sawHref && nameAt(start, end) === 'href';
      if (!inHref) return;
      sawHref = true;
      nameEnd = end;
      value = '';
      tooLong = false;
    },
    onattribdata(start, end) {
      if (inHref) append(html.slice(start, end));
    },
    onattribentity(codepoint) {
      if (inHref) append(String.fromCodePoint(codepoint));
    },
    onattribend(quote, endIndex) {
      if (!inHref) return;
      inHref = false;
      pending = valueSpan(html, nameEnd, quote, endIndex, tooLong ? null : value);
    },
    onopentagend() {
      if (pending) hrefs.push(pending);
      pending = null;
      inLink = false;
    },
    onselfclosingtag() {
      if (pending) hrefs.push(pending);
      pending = null;
      inLink = false;
    },
    onclosetag(start, end) {
      // htmlparser2 lets whitespace stand between `</` and the name, where HTML sees a bogus
      // comment (§13.2.5.7): only `</body` written together is an end tag.
      if (nameAt(start, end) === 'body' && html.startsWith('</', start - 2)) bodyEnds.push(start - 2);
    },
    oncdata() {},
    oncomment() {},
    ondeclaration() {},
    onend() {},
    onprocessinginstruction() {},
    ontext() {},
    ontextentity() {},
  };
  const tokenizer = new Tokenizer({ xmlMode: false, decodeEntities: true }, cbs);
  tokenizer.write(html);
  tokenizer.end();
  return { hrefs, bodyEnds };
}

/**
 * The span of a value that ended at `endIndex`. The tokenizer reports where the attribute's name ends
 * and where its value ends; between the name and the value stand only whitespace, `=` and the
 * opening quote, so the first quote (or non-space after `=`) found from the name's end opens it.
 */
function valueSpan(html: string, nameEnd: number, quote: QuoteType, endIndex: number, value: string | null): HrefSpan | null {
  if (quote === QuoteType.Double || quote === QuoteType.Single) {
    const start = html.indexOf(quote === QuoteType.Double ? '"' : "'", nameEnd) + 1;
    return { start, end: endIndex - 1, unquoted: false, value };
  }
  if (quote === QuoteType.Unquoted) {
    let start = html.indexOf('=', nameEnd) + 1;
    while (start < endIndex && /[\t\n\f\r ]/.test(html[start])) start++;
    return { start, end: endIndex, unquoted: true, value };
  }
  return null; // `<a href>`: no value to rewrite
}
