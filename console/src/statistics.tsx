/**
 * Statistics: GetStatisticsReport for a period (at most 90 days), by sender and recipient domain:
 * totals, the rates they make, and a daily chart (uPlot, drawn on a canvas: no inline markup).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { action, type Session } from './api.js';
import type { Words } from './i18n.js';
import { dayFromNow as day } from './text.js';
import { errorText } from './use-action.js';

interface Volume { SendDate: string; RequestCount: number; AcceptedCount: number; DeliveredCount: number; OpenedCount: number; ClickedCount: number; BounceCount: number; UnsubscribeCount: number }
interface Report { DailyVolumes: Volume[]; OverallVolume: Volume }

const rate = (n: number, of: number): string => (of > 0 ? `${((100 * n) / of).toFixed(1)} %` : '–');

export function Statistics(props: { session: Session; words: Words }) {
  const { session, words } = props;
  const [from, setFrom] = useState(day(session.timeZone, -6));
  const [to, setTo] = useState(day(session.timeZone, 0));
  const [domain, setDomain] = useState('');
  const [mailbox, setMailbox] = useState('');
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async () => {
    try {
      setReport(await action<Report>(session, 'GetStatisticsReport', {
        StartDate: from, EndDate: to, ...(domain ? { Domain: domain.trim() } : {}), ...(mailbox ? { ReceivingMailboxType: mailbox.trim() } : {}),
      }));
      setError(null);
    } catch (err) { setError(errorText(err)); }
  };
  useEffect(() => { void load(); }, [session]);
  const o = report?.OverallVolume;
  return (
    <section aria-labelledby="statistics-heading">
      <h2 id="statistics-heading">{words.nav.statistics}</h2>
      <form class="inline" onSubmit={(e) => { e.preventDefault(); void load(); }}>
        <label for="stats-from">{words.from}</label>
        <input id="stats-from" type="date" required value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
        <label for="stats-to">{words.to}</label>
        <input id="stats-to" type="date" required value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
        <label for="stats-domain">{words.senderDomain}</label>
        <input id="stats-domain" value={domain} onInput={(e) => setDomain((e.target as HTMLInputElement).value)} />
        <label for="stats-mailbox">{words.recipientDomain}</label>
        <input id="stats-mailbox" placeholder="gmail.com" value={mailbox} onInput={(e) => setMailbox((e.target as HTMLInputElement).value)} />
        <button type="submit">{words.show}</button>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
      {o && (
        <dl class="figures" aria-label={words.totals}>
          <div><dt>{words.sent}</dt><dd data-figure="requests">{o.RequestCount}</dd></div>
          <div><dt>{words.delivered}</dt><dd data-figure="delivered">{o.DeliveredCount}</dd></div>
          <div><dt>{words.deliveryRate}</dt><dd>{rate(o.DeliveredCount, o.AcceptedCount)}</dd></div>
          <div><dt>{words.openRate}</dt><dd>{rate(o.OpenedCount, o.DeliveredCount)}</dd></div>
          <div><dt>{words.clickRate}</dt><dd>{rate(o.ClickedCount, o.DeliveredCount)}</dd></div>
          <div><dt>{words.bounceRate}</dt><dd>{rate(o.BounceCount, o.AcceptedCount)}</dd></div>
          <div><dt>{words.unsubscribed}</dt><dd>{o.UnsubscribeCount}</dd></div>
        </dl>
      )}
      {report && <Chart words={words} days={report.DailyVolumes} />}
    </section>
  );
}

/** The daily chart: requests, deliveries, opens, clicks and bounces per day. */
function Chart(props: { words: Words; days: Volume[] }) {
  const box = useRef<HTMLDivElement>(null);
  const { words, days } = props;
  useEffect(() => {
    if (!box.current) return undefined;
    const x = days.map((d) => Date.parse(`${d.SendDate}T00:00:00Z`) / 1000);
    const series = (k: keyof Volume) => days.map((d) => Number(d[k]));
    const plot = new uPlot({
      width: Math.min(900, box.current.clientWidth || 900), height: 280,
      series: [
        {},
        { label: words.sent, stroke: '#0969da' },
        { label: words.delivered, stroke: '#1a7f37' },
        { label: words.opened, stroke: '#8250df' },
        { label: words.clicked, stroke: '#bf8700' },
        { label: words.bounced, stroke: '#cf222e' },
      ],
      axes: [{}, {}],
    }, [x, series('RequestCount'), series('DeliveredCount'), series('OpenedCount'), series('ClickedCount'), series('BounceCount')], box.current);
    return () => plot.destroy();
  }, [days, words]);
  return <figure><div ref={box} class="chart" role="img" aria-label={words.dailyChart} /><figcaption>{words.dailyChart}</figcaption></figure>;
}
