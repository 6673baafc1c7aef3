/**
 * The one place ONNX Runtime is loaded from. In a checkout it is the onnxruntime-node package in
 * node_modules/ (a dev dependency); in an installed package it is the copy in vendor/, made by
 * scripts/vendor-onnxruntime.mjs without its install script, so installing resid-norms never
 * fetches CUDA libraries nobody asked for (README, Install). Either way only the package's own
 * folder is looked in, never node_modules/ further up, whose onnxruntime-node may be of another
 * version than our onnxruntime-common.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as OnnxRuntime from 'onnxruntime-node';
import { PACKAGE_ROOT } from '../package-paths.js';

/** Where ONNX Runtime is loaded from: its package folder (where its install script and libraries are). */
export const ONNX_RUNTIME_DIR = [join(PACKAGE_ROOT, 'node_modules', 'onnxruntime-node'), join(PACKAGE_ROOT, 'vendor', 'onnxruntime-node')].find((dir) =>
  existsSync(join(dir, 'package.json')),
);

function loadOnnxRuntime(): typeof OnnxRuntime {
  if (ONNX_RUNTIME_DIR === undefined) {
    throw new Error(
      `ONNX Runtime is missing from this installation (neither node_modules/onnxruntime-node nor vendor/onnxruntime-node in ${PACKAGE_ROOT}); reinstall resid-norms`,
    );
  }
  return createRequire(join(PACKAGE_ROOT, 'package.json'))(ONNX_RUNTIME_DIR) as typeof OnnxRuntime;
}

export const ort = loadOnnxRuntime();
export type { InferenceSession, Tensor } from 'onnxruntime-node';
