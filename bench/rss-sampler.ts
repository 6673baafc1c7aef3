/**
 * Run a command as a child process and sample its memory from /proc/<pid>/status every 0.1 s:
 * peak RssAnon (anonymous memory: what a --max-memory budget bounds) and peak VmRSS (which also
 * counts the page cache of memory-mapped weights, the kernel's to reclaim).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface SampledRun {
  status: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  peakRssAnonBytes: number;
  peakRssBytes: number;
  samples: number;
}

function statusField(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) * 1024 : 0;
}

export function runSampled(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; intervalMs?: number } = {}): Promise<SampledRun> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout = (stdout + chunk).slice(-(1 << 20))));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-(1 << 20))));
    let peakRssAnonBytes = 0;
    let peakRssBytes = 0;
    let samples = 0;
    const sample = () => {
      try {
        const text = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        peakRssAnonBytes = Math.max(peakRssAnonBytes, statusField(text, 'RssAnon'));
        peakRssBytes = Math.max(peakRssBytes, statusField(text, 'VmRSS'));
        samples += 1;
      } catch {
        // the process has just ended
      }
    };
    const timer = setInterval(sample, options.intervalMs ?? 100);
    child.on('error', (error) => {
      clearInterval(timer);
      reject(error);
    });
    child.on('close', (status) => {
      clearInterval(timer);
      resolve({ status, stdout, stderr, seconds: (performance.now() - startedAt) / 1000, peakRssAnonBytes, peakRssBytes, samples });
    });
  });
}
