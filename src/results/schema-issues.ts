/** Turn a zod error into one line naming the first problem and where it is. */
import type { z } from 'zod';

export function describeFirstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'unknown problem';
  const path = issue.path.length === 0 ? '(top level)' : formatPath(issue.path);
  return `${path}: ${issue.message}`;
}

function formatPath(path: PropertyKey[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`)).join('');
}
