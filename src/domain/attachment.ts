/** Attachment rules (FACTS §3.2 and §6.2): how many, how large, which names and types. */

export const ATTACHMENTS_MAX = 10;
export const ATTACHMENT_MAX_BYTES = 4 * 1024 * 1024;
export const ATTACHMENTS_TOTAL_MAX_BYTES = 8 * 1024 * 1024;
export const ATTACHMENT_NAME_MAX = 255;

/** Extensions Tencent accepts, with the MIME type each is sent as. */
export const ATTACHMENT_TYPES: Readonly<Record<string, string>> = {
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', xls: 'application/vnd.ms-excel',
  ods: 'application/vnd.oasis.opendocument.spreadsheet', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  docm: 'application/vnd.ms-word.document.macroEnabled.12', doc: 'application/msword', csv: 'text/csv', pdf: 'application/pdf',
  txt: 'text/plain', gif: 'image/gif', jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', tif: 'image/tiff', tiff: 'image/tiff',
  rtf: 'application/rtf', bmp: 'image/bmp', cgm: 'image/cgm', css: 'text/css', shtml: 'text/html', html: 'text/html', htm: 'text/html',
  zip: 'application/zip', xml: 'application/xml', ppt: 'application/vnd.ms-powerpoint',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation', tar: 'application/x-tar',
  ez: 'application/andrew-inset', ics: 'text/calendar', mobi: 'application/x-mobipocket-ebook', msg: 'application/vnd.ms-outlook',
  pub: 'application/x-mspublisher', eps: 'application/postscript', odt: 'application/vnd.oasis.opendocument.text',
  mp3: 'audio/mpeg', m4a: 'audio/mp4',
};

/** The MIME type for an acceptable file name, or null (unknown or refused extension, or a forbidden character). */
export function attachmentType(fileName: string): string | null {
  if (fileName.length === 0 || fileName.length > ATTACHMENT_NAME_MAX) return null;
  // No spaces or ? \ * | " < > : / (FACTS §6.2), and no control characters (header safety).
  if (/[\s?\\*|"<>:/\u0000-\u001f\u007f]/.test(fileName)) return null;
  const dot = fileName.lastIndexOf('.');
  if (dot <= 0) return null;
  const ext = fileName.slice(dot + 1).toLowerCase();
  // Own entries only: `a.constructor` or `a.__proto__` must not find what every object inherits.
  return Object.hasOwn(ATTACHMENT_TYPES, ext) ? ATTACHMENT_TYPES[ext] : null;
}
