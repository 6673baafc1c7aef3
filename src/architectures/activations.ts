/** Hugging Face activation names (ACT2FN keys) → the activations the graph implements. */
import type { ConfigReader } from './config-reader.js';
import type { Activation } from './types.js';

const ACTIVATIONS: Record<string, Activation> = {
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new',
  gelu_fast: 'gelu_new', // the same tanh approximation, written differently
  gelu: 'gelu',
  relu: 'relu',
  silu: 'silu',
  swish: 'silu',
};

const SUPPORTED_ACTIVATIONS = Object.keys(ACTIVATIONS);

function activationFromConfig(name: string): Activation | undefined {
  return ACTIVATIONS[name];
}

/** The activation a config names under `key` (default `fallback`), or a recorded problem. */
export function readActivation(reader: ConfigReader, key: string, fallback: string): Activation {
  const name = reader.string(key, fallback);
  const activation = activationFromConfig(name);
  reader.require(activation !== undefined, `${key} ${JSON.stringify(name)} is not supported; supported: ${SUPPORTED_ACTIVATIONS.join(', ')}`);
  return activation ?? 'gelu_new';
}
