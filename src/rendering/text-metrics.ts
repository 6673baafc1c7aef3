/**
 * Text widths for Vega's layout. Vega measures text with a canvas, which Node lacks; its
 * fallback (0.8 em per character) makes titles and legends far wider than they render, leaving
 * blank space and truncating labels early. Figures name DejaVu Sans first, so its advance
 * widths give the width text really has (narrower fonts only leave a little room).
 */
import { DEJAVU_SANS_BOLD_WIDTHS, DEJAVU_SANS_WIDTHS } from './text-widths.js';

function toMap(pairs: readonly number[]): Map<number, number> {
  const widths = new Map<number, number>();
  for (let index = 0; index < pairs.length; index += 2) widths.set(pairs[index]!, pairs[index + 1]!);
  return widths;
}

const REGULAR = toMap(DEJAVU_SANS_WIDTHS);
const BOLD = toMap(DEJAVU_SANS_BOLD_WIDTHS);

/** Width in thousandths of an em of a character the table lacks. */
function fallbackWidth(code: number): number {
  if (code >= 0x300 && code <= 0x36f) return 0; // combining marks
  const wide =
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    code >= 0x1f300;
  return wide ? 1000 : 700;
}

export function isBold(fontWeight: unknown): boolean {
  return (
    fontWeight === 'bold' ||
    fontWeight === 'bolder' ||
    (typeof fontWeight === 'number' && fontWeight >= 600) ||
    (typeof fontWeight === 'string' && Number(fontWeight) >= 600)
  );
}

/** Width in pixels of `text` at `fontSize` in DejaVu Sans. */
export function estimateTextWidth(text: string, fontSize: number, bold = false): number {
  const table = bold ? BOLD : REGULAR;
  let total = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    total += table.get(code) ?? fallbackWidth(code);
  }
  return (total * fontSize) / 1000;
}
