import { pdfText, renderEventReport } from '../../activities/report';
import { comparePromotion } from '../../domain/promotion-check';
import {
  AZURE_SECRET_CODE,
  CUSTOMER,
  EVENT_ID,
  mixedEvent,
  mixedMachines,
  pdfPages,
} from './notifications-fixtures';

const squash = (s: string) => s.replace(/\s+/g, ' ');

describe('event report PDF', () => {
  let pages: string[];
  let all: string;
  let pdf: Buffer;

  beforeAll(async () => {
    pdf = await renderEventReport({
      event: mixedEvent,
      machines: mixedMachines,
      customer_name: CUSTOMER.name,
      pipeline: { name: 'Production rollout', step: 1 },
      generated_at: '2025-03-04T07:02:10.000Z',
    });
    pages = await pdfPages(pdf);
    all = squash(pages.join('\n'));
  });

  it('is a PDF with numbered pages', () => {
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pages.length).toBeGreaterThanOrEqual(2);
    pages.forEach((p, i) => expect(squash(p)).toContain(`Page ${i + 1} of ${pages.length}`));
    pages.forEach((p) => expect(squash(p)).toContain(`Event ${EVENT_ID}`));
  });

  it('has the header: customer, plan, pipeline/step, window, final status', () => {
    const first = squash(pages[0]);
    expect(first).toContain('Patching Event Report');
    expect(first).toContain('Customer Acme Corp (cus_acme)');
    expect(first).toContain('Plan Web fleet monthly (pln_webfleet)');
    expect(first).toContain('Pipeline Production rollout (ppl_prod), step 2');
    expect(first).toContain('Window 2025-03-04 06:00 - 07:00 UTC (1 h)');
    expect(first).toContain('Final status DONE_PARTIAL');
    expect(first).toContain('Partial success: at least one machine succeeded, but failures occurred');
  });

  it('counts machines by status', () => {
    for (const s of [
      'SUCCESS',
      'SUCCESS_NO_UPDATES',
      'SUCCESS_MANUAL',
      'FAILED',
      'NOT_AVAILABLE',
      'TIMED_OUT',
      'NOT_IN_TIME_WINDOW',
      'OMITTED',
    ])
      expect(all).toMatch(new RegExp(`\\b${s} 1\\b`));
    expect(all).toContain('Total machines 8');
    expect(all).toContain('Global hooks 2 run, 1 failed');
    expect(all).toContain('Host hooks 2 run, 1 failed');
    expect(all).toContain('Updates installed 4 in total on 2 machine(s)');
  });

  it('lists every machine with SSM id, status, times, reboot and updates', () => {
    expect(all).toContain('1 web-1 i-0a1b2c3d4e5f60001 SUCCESS 06:01 06:24 yes 3');
    expect(all).toContain('3 db-1 i-0a1b2c3d4e5f60003 FAILED 06:25 06:31 no 0');
    expect(all).toContain('4 db-2 mi-0123456789abcdef0 NOT_AVAILABLE - - - 0');
    expect(all).toContain('8 cache-1 i-0a1b2c3d4e5f60008 NOT_IN_TIME_WINDOW');
  });

  it('details installed updates, failure reasons and manual status with action taken', () => {
    expect(all).toContain('Installed updates (3)');
    for (const p of mixedMachines[0].installed!) expect(all).toContain(p);
    expect(all).toContain(
      'Reason SSM command Failed: yum exited with code 1 (package conflict: postgresql15-libs)',
    );
    expect(all).toContain('Reason SSM agent is not online (ping status ConnectionLost)');
    expect(all).toContain('SUCCESS_MANUAL (set manually)');
    expect(all).toContain(
      'Action taken Finished yum update by hand after the window; services verified by J. Doe',
    );
    expect(all).toContain('Previous reason command still running at the window end (TIMED_OUT)');
  });

  it('shows global and host hook results with code and message, without secrets', () => {
    expect(all).toMatch(/pre_0 lambda .*snapshot-? ?volumes 200 OK EBS snapshots taken for 8 volumes/);
    expect(all).toMatch(
      /post_0 azure .*health-? ?check\?code=\*\*\* 500 FAILED health check failed: 2 of 5 endpoints ?down/,
    );
    expect(all).toMatch(
      /pre_host_0 script s3:\/\/acme-ops\/hooks\/stop- ?app\.sh 500 FAILED script exited with code 3/,
    );
    expect(all).not.toContain(AZURE_SECRET_CODE);
    expect(all).not.toMatch(/code=(?!\*\*\*)/); // the parameter is named, its value never shown
  });

  it('renders characters the standard fonts lack as "?" instead of garbage', () => {
    expect(pdfText('Ünïcödé — ok ✓ 中')).toBe('Ünïcödé — ok ? ?');
    expect(pdfText('a\u0000b\tc\r\nd')).toBe('ab    c\nd');
  });

  it('handles an event that never ran and a partial-run event', async () => {
    const empty = await renderEventReport({
      event: {
        ...mixedEvent,
        status: 'DONE_ERROR',
        hooks: [],
        failure_reasons: ['global pre hook pre_0 failed'],
        started_at: undefined,
        finished_at: undefined,
      },
      machines: [],
      generated_at: '2025-03-04T07:02:10.000Z',
    });
    const t = squash((await pdfPages(empty)).join('\n'));
    expect(t).toContain('Executed not started');
    expect(t).toContain('No global hooks ran.');
    expect(t).toContain('The event has no machines.');
    expect(t).toContain('Customer cus_acme');

    const partial = await renderEventReport({
      event: { ...mixedEvent, run_no: 1 },
      machines: mixedMachines.map((m) =>
        m.machine_id === 'mch_db1' ? { ...m, run_no: 1, status: 'SUCCESS', reason: undefined } : m,
      ),
      generated_at: '2025-03-04T09:00:00.000Z',
    });
    const p = squash((await pdfPages(partial)).join('\n'));
    expect(p).toContain('1 partial run(s) after the scheduled run; machines show their last run');
    expect(p).toContain('Run partial run 1');
  });

  it('lists machines on hold with their reason, expiry and who held them; none: no section', async () => {
    expect(all).not.toContain('Machines on hold');
    const hold = { reason: 'vendor case 4711 open', until: '2025-04-01T00:00:00.000Z', set_by: 'key_ops' };
    const pdf = await renderEventReport({
      event: mixedEvent,
      machines: mixedMachines.map((m) =>
        m.name === 'cache-1'
          ? { ...m, status: 'OMITTED', reason: `on hold: ${hold.reason} (until ${hold.until})`, hold }
          : m,
      ),
      generated_at: '2025-03-04T07:02:10.000Z',
    });
    const t = squash((await pdfPages(pdf)).join('\n'));
    expect(t).toContain('Machines on hold');
    expect(t).toMatch(/cache-1 i-\w+ vendor case 4711 open 2025-04-01 00:00 key_ops/);
  });

  it('a promoted event has a Promotion section: the set, and per machine installed / missing / unexpected', async () => {
    expect(all).not.toContain('Promotion exact_previous_step');
    const pdf = await renderEventReport({
      event: {
        ...mixedEvent,
        promotion_check: comparePromotion({
          mode: 'exact_previous_step',
          previousStep: 0,
          fromEvents: ['evt_dev'],
          manifest: {
            AMAZON_LINUX_2023: [
              { kb_id: 'openssl.x86_64', title: 'openssl-3.0.13' },
              { kb_id: 'curl.x86_64', title: 'curl-8.5.0' },
            ],
          },
          exclusions: ['zlib.x86_64'],
          machines: [
            {
              machine_id: 'mch_a',
              name: 'stg-a',
              status: 'FAILED',
              operating_system: 'AMAZON_LINUX_2023',
              patches: [{ kb_id: 'openssl.x86_64', title: 'openssl-3.0.13' }],
            },
          ],
          checkedAt: '2025-03-04T07:02:00.000Z',
        }),
      },
      machines: mixedMachines,
      generated_at: '2025-03-04T07:02:10.000Z',
    });
    const t = squash((await pdfPages(pdf)).join('\n'));
    expect(t).toContain(
      'Promotion exact_previous_step: the promoted set is the manifest of step 1 (events evt_dev)',
    );
    expect(t).toContain('Excluded: zlib.x86_64.');
    expect(t).toContain('AMAZON_LINUX_2023: 2 patch(es): curl-8.5.0, openssl-3.0.13');
    expect(t).toContain('Result: at least one machine did not install exactly the promoted set');
    expect(t).toMatch(/stg-a \(mch_a\) FAILED AMAZON_LINUX_2023 openssl-3.0.13 curl-8.5.0 none/);
  });
});
