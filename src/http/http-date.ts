/**
 * HTTP-date (RFC 9110 §5.6.7): the three formats a recipient must accept,
 * and nothing else. `Date.parse` accepts far more ("18 Aug 2050", "UTC",
 * two-digit years), and a date misread as valid turns an expired response
 * into a fresh one, so proxy mode parses strictly:
 *
 *   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
 *   RFC 850      Sunday, 06-Nov-94 08:49:37 GMT   (a two-digit year more than
 *                50 years ahead is read as the past century)
 *   asctime      Sun Nov  6 08:49:37 1994
 *
 * Names are matched without regard to case (recipients are lenient there);
 * spacing, separators, digit counts and the `GMT` zone are exact.
 *
 * @example
 * parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'); // 784111777000
 * parseHttpDate('Sun, 06 Nov 1994 08:49:37 UTC'); // null
 */

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY = '(?:mon|tue|wed|thu|fri|sat|sun)';
const LONG_DAY = '(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)';
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

const IMF = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} gmt$`, 'i');
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} gmt$`, 'i');
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`, 'i');

function build(
  year: number,
  month: string,
  day: number,
  h: string,
  m: string,
  s: string,
): number | null {
  const mon = MONTHS.indexOf(month.toLowerCase());
  const hour = Number(h);
  const minute = Number(m);
  const second = Number(s);
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const ms = Date.UTC(year, mon, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls 31 Feb over into March: such a date is not a date.
  if (new Date(ms).getUTCDate() !== day) return null;
  return ms;
}

/**
 * Milliseconds since the epoch, or null when `value` is not an HTTP-date.
 * `now` places RFC 850's two-digit years.
 */
export function parseHttpDate(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  let m = IMF.exec(text);
  if (m) {
    const [, d, mon, y, h, mi, s] = m as unknown as string[];
    return build(Number(y), mon as string, Number(d), h as string, mi as string, s as string);
  }
  m = RFC850.exec(text);
  if (m) {
    const [, d, mon, yy, h, mi, s] = m as unknown as string[];
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(yy);
    // RFC 9110 §5.6.7: more than 50 years in the future means the previous century.
    if (year > thisYear + 50) year -= 100;
    return build(year, mon as string, Number(d), h as string, mi as string, s as string);
  }
  m = ASCTIME.exec(text);
  if (m) {
    const [, mon, d, h, mi, s, y] = m as unknown as string[];
    return build(
      Number(y),
      mon as string,
      Number((d as string).trim()),
      h as string,
      mi as string,
      s as string,
    );
  }
  return null;
}

/** An IMF-fixdate for `ms` (what `Date.prototype.toUTCString` prints). */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
