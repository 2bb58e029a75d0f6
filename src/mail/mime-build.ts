/**
 * nodemailer's MIME tree written out synchronously, without its streams. `MimeNode.build()` pipes
 * every node through PassThrough and Transform streams and waits a `setImmediate` between steps;
 * for a message whose parts are all in memory (every message Sesame composes) that machinery costs
 * more than the encoding. This walks the same tree in the same order, asks each node for the same
 * headers (`buildHeaders`) and feeds each part's bytes to nodemailer's own encoders in one call, so
 * the bytes are those `build()` gives (the tests compare them), in a fraction of the time. A tree
 * with anything else in it (a raw node, a stream, a file or URL, a transform) is left to `build()`.
 */
import { Encoder as Base64Encoder } from 'nodemailer/lib/base64/index.js';
import type MimeNode from 'nodemailer/lib/mime-node/index.js';
import { Encoder as QpEncoder } from 'nodemailer/lib/qp/index.js';
import type { Transform } from 'node:stream';

/** What of a MimeNode this reads beyond its declared type (fields every node has, set by nodemailer). */
interface NodeInternals { _raw?: unknown; _transforms?: unknown[]; _processFuncs?: unknown[] }

/** The message `root` stands for, as `root.build()` would give it; null when it holds a part this cannot write. */
export function buildSync(root: MimeNode): Buffer | null {
  const internals = root as unknown as NodeInternals;
  if ((internals._transforms?.length ?? 0) > 0 || (internals._processFuncs?.length ?? 0) > 0 || root.newline) return null;
  if (!inMemory(root)) return null;
  const out: Buffer[] = [];
  write(root, out);
  const message = Buffer.concat(out);
  // As build()'s last stage: the message ends with a line break.
  const last = message.length > 0 ? message[message.length - 1] : -1;
  return last === 0x0a ? message : Buffer.concat([message, Buffer.from(last === 0x0d ? '\n' : '\r\n')]);
}

/** Whether every node's content is a string or a Buffer (nothing to read or fetch) and none is raw. */
function inMemory(node: MimeNode): boolean {
  if ((node as unknown as NodeInternals)._raw) return false;
  const c = node.content;
  if (c !== undefined && c !== null && c !== '' && typeof c !== 'string' && !Buffer.isBuffer(c)) return false;
  return node.childNodes.every(inMemory);
}

/** A node as MimeNode.stream writes it: headers, the encoded content, then the children between boundaries. */
function write(node: MimeNode, out: Buffer[]): void {
  const encoding = node.getTransferEncoding();
  out.push(Buffer.from(`${node.buildHeaders()}\r\n\r\n`));
  const content = node.content as string | Buffer | undefined;
  if (content) {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    if (encoding === 'quoted-printable') {
      // Outside text a lone CR or LF is data (as in build()).
      encodeWith(new QpEncoder({ binary: !/^text\//i.test(node.contentType ?? '') }), bytes, out);
    } else if (encoding === 'base64') {
      encodeWith(new Base64Encoder(), bytes, out);
    } else {
      out.push(bytes);
    }
  }
  if (node.multipart) {
    node.childNodes.forEach((child, i) => {
      out.push(Buffer.from(`${i > 0 ? '\r\n' : ''}--${String(node.boundary)}\r\n`));
      write(child, out);
    });
    out.push(Buffer.from(`\r\n--${String(node.boundary)}--\r\n`));
  }
}

/**
 * Runs one of nodemailer's encoders over `bytes` in a single call: its own `_transform` and
 * `_flush` (the Transform contract's two steps), with what it pushes collected here instead of
 * going through a stream's buffers.
 */
function encodeWith(encoder: Transform, bytes: Buffer, out: Buffer[]): void {
  encoder.push = (chunk: string | Buffer | null): boolean => {
    if (chunk !== null) out.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
    return true;
  };
  const fail = (e?: Error | null): void => { if (e) throw e; };
  // A stream says 'buffer' for a Buffer chunk; Node's types only list string encodings.
  encoder._transform(bytes, 'buffer' as BufferEncoding, fail);
  encoder._flush(fail);
}
