/** Files that ship inside the package, found relative to the compiled code (dist/src/…). */
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const DEFAULT_PROMPTS = fileURLToPath(new URL('../../prompts/default.txt', import.meta.url));

/** The small GPT-2 trained for this project, used when no --model is given. */
export const DEMO_MODEL_DIR = fileURLToPath(new URL('../../models/demo-gpt2', import.meta.url));
export const DEMO_MODEL_ID = 'demo-gpt2';
