/** The table `sweep` prints: one line per member with its status and growth. */
import type { SweepSummary } from '../results/sweep-schema.js';
import { formatGrowth, formatInterval } from '../messages/numbers.js';
import { formatTextTable } from './text-table.js';

/** One line per member: number, spec, status, growth with its interval (or why there is none). */
export function formatSweepTable(summary: SweepSummary): string {
  const columns = [
    { title: '#', align: 'right', minWidth: 4 },
    { title: 'member', maxWidth: 48 }, // longer specs overflow their column rather than widen it
    { title: 'status', minWidth: 8 },
    { title: `growth of ${summary.hook} per layer (95% CI)` },
  ] as const;
  const rows = summary.members.map((member) => {
    const growth = member.growth
      ? `${formatGrowth(member.growth.factor)} (${formatInterval(member.growth.ciLow, member.growth.ciHigh)}), layers ${member.growth.fromLayer}–${member.growth.toLayer}`
      : member.error
        ? member.error.message.slice(0, 100)
        : '—';
    return [String(member.index), member.spec, member.status, growth];
  });
  return `${formatTextTable(columns, rows).join('\n')}\n`;
}
