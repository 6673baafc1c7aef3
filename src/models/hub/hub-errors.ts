/**
 * Hub failures → one-line messages that say what happened and what to do. The Hub answers 401
 * (not 404) for a repo that does not exist when no token is sent, the same as for a private or
 * gated one, so that answer names all three; a 401 to a request that carried a token means the
 * token itself was refused (expired, revoked), even on a public repo. Other cases: gated repos
 * without access (403), missing revisions and files (404), the rate limit (429, after the waits
 * of src/models/hub/retrying-fetch.ts), redirect loops, bodies over their bound, malformed
 * listings, timeouts and unreachable hosts.
 */
import { InputError, ModelError, NetworkError, ResidNormsError, UsageError, quote } from '../../errors.js';
import { BodyLimitError } from './bounded-body.js';
import { ListingError } from './hub-api.js';
import { HubHttpError, networkCode, RATE_LIMIT_RETRIES } from './hub-http-error.js';
import { describeRateLimit } from './rate-limit.js';
import { RedirectError } from './redirecting-fetch.js';
import { isHubTimeout } from './timed-fetch.js';

export interface HubContext {
  repo: string;
  revision: string;
  endpoint: string;
  file?: string;
  /** A dataset (prompts): "not found" is then an input error (exit 3), not a model error (exit 4). */
  dataset?: boolean;
  /** Where the token sent came from ("HF_TOKEN", a token file…), when one was sent. */
  tokenSource?: string;
}

const LOGIN = 'run `huggingface-cli login` or set HF_TOKEN';

/** Explained failures that hold for every revision of their repo (see isRepoRefusal). */
const repoWide = new WeakSet<ResidNormsError>();

/** True for an explained failure of the whole repo: a sweep need not try its other revisions. */
export function isRepoWide(error: unknown): boolean {
  return error instanceof ResidNormsError && repoWide.has(error);
}

export function explainHubError(error: unknown, context: HubContext): ResidNormsError {
  if (error instanceof ResidNormsError) return error;
  const what = context.file ? `${context.repo}/${context.file}` : context.repo;
  if (error instanceof HubHttpError) {
    const explained = explainHttpError(error, context, what);
    if (isRepoRefusal(error)) repoWide.add(explained);
    return explained;
  }
  if (error instanceof RedirectError)
    return new NetworkError(
      `${context.endpoint} ${error.message} for ${quote(what)}; check HF_ENDPOINT (a proxy or mirror that redirects to itself?) and run again`,
    );
  if (error instanceof BodyLimitError) return new NetworkError(`${quote(what)}: ${error.message}; refused, run again later or check HF_ENDPOINT`);
  if (error instanceof ListingError) return new NetworkError(`${context.endpoint}: ${error.message}`);
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

function explainHttpError(error: HubHttpError, context: HubContext, what: string): ResidNormsError {
  const kind = context.dataset ? 'dataset' : 'model repo';
  const NotFound = context.dataset ? InputError : ModelError;
  const hint = context.dataset
    ? 'check the name (e.g. hf://datasets/NeelNanda/pile-10k)'
    : 'check the name (e.g. openai-community/gpt2) or see `resid-norms models`';
  const said = error.errorMessage ? `: ${quote(error.errorMessage, 120)}` : '';
  switch (error.status) {
    case 401:
      if (error.withToken && error.errorCode !== 'GatedRepo') {
        return new UsageError(
          `${context.endpoint} refused the access token from ${context.tokenSource ?? 'HF_TOKEN'} (HTTP 401${said}) for ${quote(context.repo)}: it is invalid or expired; ` +
            'create a new one at huggingface.co/settings/tokens (then `huggingface-cli login` or set HF_TOKEN), or unset it for public repos',
        );
      }
      if (error.errorCode === 'GatedRepo')
        return new ModelError(`${quote(context.repo)} is gated (HTTP 401): accept its terms on the Hub, then ${LOGIN} with a token that has access`);
      return new NotFound(
        `${kind} ${quote(context.repo)} (revision ${quote(context.revision)}) not found on ${context.endpoint}, or gated / private (${LOGIN}); ${hint}`,
      );
    case 403:
      if (error.errorCode === 'GatedRepo') {
        return new ModelError(
          `${quote(context.repo)} is gated and the token from ${context.tokenSource ?? 'HF_TOKEN'} has no access (HTTP 403); accept its terms at ${context.endpoint}/${context.repo} and run again`,
        );
      }
      return new ModelError(`${context.endpoint} refused access to ${quote(what)} (HTTP 403${said}); the token may lack the read permission for it`);
    case 404:
      if (context.file === undefined && (error.errorCode === 'RevisionNotFound' || /invalid rev(ision)? id/i.test(error.errorMessage ?? ''))) {
        return new NotFound(
          `revision ${quote(context.revision)} of ${quote(context.repo)} not found on ${context.endpoint}; give a branch, tag or commit sha the repo has`,
        );
      }
      if (context.file !== undefined && error.errorCode !== 'RepoNotFound')
        return new NotFound(`${quote(what)} not found at revision ${quote(context.revision)}`);
      return new NotFound(
        `${kind} ${quote(context.repo)} (revision ${quote(context.revision)}) not found on ${context.endpoint}${error.withToken ? ' (or private, and the token has no access)' : ''}; ${hint}`,
      );
    case 429: {
      const state = describeRateLimit(error.rateLimit);
      return new NetworkError(
        `${context.endpoint} rate-limited the requests for ${quote(what)} (HTTP 429 ${RATE_LIMIT_RETRIES + 1} times, waited between${state ? `; ${state}` : ''}); ` +
          `wait a few minutes and run again (finished files stay in the cache)${error.withToken ? '' : ', or log in: logged-in users get more requests'}`,
      );
    }
    default:
      return new NetworkError(`${context.endpoint} answered HTTP ${error.status}${said} for ${quote(what)}; try again later`);
  }
}

/** True for failures of the repo as a whole (missing, gated, private, a refused token): every revision of it fails the same way. */
export function isRepoRefusal(error: unknown): boolean {
  if (!(error instanceof HubHttpError)) return false;
  return error.status === 401 || (error.status === 403 && error.errorCode === 'GatedRepo') || (error.status === 404 && error.errorCode === 'RepoNotFound');
}
