/**
 * Hub failures → one-line messages that say what happened and what to do: not found, gated or
 * private, unreachable, server errors.
 */
import { HubApiError } from '@huggingface/hub';
import { ModelError, NetworkError, ResidNormsError, quote } from '../../errors.js';
import { isHubTimeout } from './timed-fetch.js';

export interface HubContext {
  repo: string;
  revision: string;
  endpoint: string;
  file?: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function explainHubError(error: unknown, context: HubContext): ResidNormsError {
  if (error instanceof ResidNormsError) return error;
  const what = context.file ? `${context.repo}/${context.file}` : context.repo;
  if (error instanceof HubApiError) {
    switch (error.statusCode) {
      case 401:
      case 403:
        return new ModelError(
          `${quote(context.repo)} refused access (HTTP ${error.statusCode}): the repo is gated or private; ` +
            'accept its terms on the Hub and set HF_TOKEN to a token that has access',
        );
      case 404:
        if (context.file === undefined && /invalid rev(ision)? id/i.test(error.message)) {
          return new ModelError(`revision ${quote(context.revision)} of ${quote(context.repo)} not found on ${context.endpoint}; give a branch, tag or commit sha the repo has`);
        }
        return new ModelError(
          context.file
            ? `${quote(what)} not found at revision ${quote(context.revision)}`
            : `model repo ${quote(context.repo)} (revision ${quote(context.revision)}) not found on ${context.endpoint}; check the name (e.g. openai-community/gpt2) or see \`resid-norms models\``,
        );
      default:
        return new NetworkError(`${context.endpoint} answered HTTP ${error.statusCode} for ${quote(what)}; try again later`);
    }
  }
  if (isHubTimeout(error)) {
    const detail = (typeof error === 'string' ? error : (error as Error).message).replace(/^timed out: /, '');
    return new NetworkError(
      `${context.endpoint} timed out for ${quote(what)} (${detail}); check the network and run again (a partial download resumes), or raise RESID_NORMS_HUB_TIMEOUT_MS / RESID_NORMS_HUB_STALL_TIMEOUT_MS`,
    );
  }
  const code = networkCode(error);
  if (code !== undefined || (error instanceof TypeError && /fetch failed/i.test(error.message))) {
    return new NetworkError(
      `cannot reach ${context.endpoint} (${code ?? 'fetch failed'}) to get ${quote(what)}; check the network, or set HF_HUB_OFFLINE=1 to use only the local cache`,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new NetworkError(`download of ${quote(what)} failed: ${quote(message.split('\n')[0], 160)}`);
}

/** True for failures worth retrying: connection resets, timeouts and 5xx answers. */
export function isTransient(error: unknown): boolean {
  if (error instanceof HubApiError) return error.statusCode >= 500;
  // A timeout or a stop the user asked for is final; retrying would only prolong it.
  if (isHubTimeout(error) || (error instanceof Error && error.name === 'AbortError')) return false;
  const code = networkCode(error);
  return code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'UND_ERR_SOCKET' || (error instanceof Error && /terminated|premature|aborted|other side closed/i.test(error.message));
}
