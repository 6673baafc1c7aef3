/**
 * `resid-norms fit --junit FILE`: the --expect gate's outcome as JUnit XML, the format CI test
 * dashboards read: one testcase per fit (file and hook, or file, variant and series), failed
 * when its growth factor lies outside the range. No timestamps: the same fits give the same
 * bytes. `fit` writes it (src/commands/fit.ts), atomically like every output of the tool.
 */
import type { FitEntry, FitFile, WeightFitEntry } from '../results/fit-schema.js';
import { formatGrowth, formatInterval, formatPhases, formatR2 } from '../messages/numbers.js';

/** Accepted growth factors for --expect; an undefined bound is open. */
export interface GrowthRange {
  low?: number;
  high?: number;
}

/** Whether a fitted growth factor (the point estimate) lies outside the --expect range; the gate and the JUnit file agree through it. */
export function isOutsideRange(growth: number, range: GrowthRange): boolean {
  return (range.low !== undefined && growth < range.low) || (range.high !== undefined && growth > range.high);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** "1.03..1.06", "1.03..", "..1.06"; "none" without --expect. */
export function describeRange(range: GrowthRange | undefined): string {
  return range === undefined ? 'none' : `${range.low ?? ''}..${range.high ?? ''}`;
}

function testcase(fit: FitEntry | WeightFitEntry, range: GrowthRange | undefined): { xml: string; failed: boolean } {
  const what = 'hook' in fit ? `${fit.hook} (${fit.metric}, ${fit.stat})` : `${fit.variant} ${fit.series}`;
  const name = `${what} layers ${fit.fromLayer}:${fit.toLayer}: growth per layer in ${describeRange(range)}`;
  const measured =
    `growth ${formatGrowth(fit.growth)} per layer (95% CI ${formatInterval(fit.ciLow, fit.ciHigh)}, ${fit.ciMethod}), R² ${formatR2(fit.r2)}; ` +
    `phases: ${formatPhases(fit.phases, ', ')}`;
  const failed = range !== undefined && isOutsideRange(fit.growth, range);
  const failure = failed
    ? `\n      <failure type="ExpectationError" message="${escapeXml(`growth ${formatGrowth(fit.growth)} is outside --expect ${describeRange(range)}`)}">${escapeXml(measured)}</failure>`
    : '';
  return {
    xml: `    <testcase classname="${escapeXml(fit.source)}" name="${escapeXml(name)}" time="0">${failure}\n      <system-out>${escapeXml(measured)}</system-out>\n    </testcase>`,
    failed,
  };
}

/** The JUnit document of a fit run: one suite, one testcase per fit. */
export function formatJunit(document: FitFile, range: GrowthRange | undefined): string {
  const fits = [...document.fits, ...(document.weightFits ?? [])];
  const cases = fits.map((fit) => testcase(fit, range));
  const failures = cases.filter((entry) => entry.failed).length;
  const suite = `resid-norms fit --expect ${describeRange(range)}`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="resid-norms fit" tests="${fits.length}" failures="${failures}" errors="0" time="0">`,
    `  <testsuite name="${escapeXml(suite)}" tests="${fits.length}" failures="${failures}" errors="0" skipped="0" time="0">`,
    '    <properties>',
    `      <property name="expect" value="${escapeXml(describeRange(range))}"/>`,
    `      <property name="tool" value="${escapeXml(`${document.createdBy.tool} ${document.createdBy.version}`)}"/>`,
    '    </properties>',
    ...cases.map((entry) => entry.xml),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
