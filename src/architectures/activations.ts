/** Hugging Face activation names (ACT2FN keys) → the activations the graph implements. */
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

export const SUPPORTED_ACTIVATIONS = Object.keys(ACTIVATIONS);

export function activationFromConfig(name: string): Activation | undefined {
  return ACTIVATIONS[name];
}
