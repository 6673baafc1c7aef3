"""Export a training checkpoint to Hugging Face GPT-2 layout:
config.json, model.safetensors, tokenizer.json, tokenizer_config.json.

Usage: python3 export.py --ckpt /tmp/demo-train/run/ckpt.pt --out ../../models/demo-gpt2
"""
import argparse
import json
from pathlib import Path

import torch

from byte_tokenizer import EOT_ID, VOCAB_SIZE, write_tokenizer_files
from safetensors_io import write_safetensors


def hf_config(c):
    """A config.json as GPT2Config.save_pretrained writes it. The dropout
    probabilities are the ones used in training (they do nothing at
    inference); checkpoints from before they existed used none."""
    return {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": c.get("attn_pdrop", 0.0),
        "bos_token_id": EOT_ID,
        "embd_pdrop": c.get("embd_pdrop", 0.0),
        "eos_token_id": EOT_ID,
        "initializer_range": c["initializer_range"],
        "layer_norm_epsilon": c["layer_norm_epsilon"],
        "model_type": "gpt2",
        "n_ctx": c["n_positions"],
        "n_embd": c["n_embd"],
        "n_head": c["n_head"],
        "n_inner": None,
        "n_layer": c["n_layer"],
        "n_positions": c["n_positions"],
        "reorder_and_upcast_attn": False,
        "resid_pdrop": c.get("resid_pdrop", 0.0),
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.0,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": c["vocab_size"],
    }


def expected_shapes(c):
    d, v, p = c["n_embd"], c["vocab_size"], c["n_positions"]
    shapes = {"transformer.wte.weight": [v, d], "transformer.wpe.weight": [p, d]}
    for i in range(c["n_layer"]):
        h = f"transformer.h.{i}."
        shapes.update({
            h + "ln_1.weight": [d], h + "ln_1.bias": [d],
            h + "attn.c_attn.weight": [d, 3 * d], h + "attn.c_attn.bias": [3 * d],
            h + "attn.c_proj.weight": [d, d], h + "attn.c_proj.bias": [d],
            h + "ln_2.weight": [d], h + "ln_2.bias": [d],
            h + "mlp.c_fc.weight": [d, 4 * d], h + "mlp.c_fc.bias": [4 * d],
            h + "mlp.c_proj.weight": [4 * d, d], h + "mlp.c_proj.bias": [d],
        })
    shapes.update({"transformer.ln_f.weight": [d], "transformer.ln_f.bias": [d]})
    return shapes


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ckpt", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    ck = torch.load(a.ckpt, map_location="cpu")
    c, sd = ck["config"], ck["state_dict"]
    assert c["vocab_size"] == VOCAB_SIZE
    shapes = expected_shapes(c)
    assert list(sd.keys()) == list(shapes.keys()), "state_dict keys differ from GPT2LMHeadModel's"
    for k, s in shapes.items():
        assert list(sd[k].shape) == s and sd[k].dtype == torch.float32, (k, sd[k].shape, s)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    size = write_safetensors(out / "model.safetensors", {k: sd[k].numpy() for k in shapes}, {"format": "pt"})
    (out / "config.json").write_text(json.dumps(hf_config(c), indent=2) + "\n")
    write_tokenizer_files(str(out), c["n_positions"])
    print(f"exported step {ck['step']} to {out}: model.safetensors {size} bytes, "
          f"{sum(v.numel() for v in sd.values())} parameters")


if __name__ == "__main__":
    main()
