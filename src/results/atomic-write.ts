/**
 * Atomic file writes for the results files and every other output: see src/io/output-file.ts,
 * the one implementation (exclusive, no-follow temp files renamed into place).
 */
export { describeWriteFailure, writeFileAtomic } from '../io/output-file.js';
