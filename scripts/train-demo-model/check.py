"""Check the exported model from the files alone, with an independent
numpy (float64) GPT-2 forward pass, and measure residual-stream norms.

1. Reads config.json and model.safetensors (own reader, validates layout).
2. Computes the next-byte loss on validation windows with numpy and with the
   PyTorch model of model.py (loaded from the training checkpoint if --ckpt is
   given, else from the same safetensors file) and asserts that they match.
3. Prints the mean L2 norm of the residual stream entering each block
   (TransformerLens resid_pre 0..n_layer-1) and of the final residual before
   ln_f, over validation text chunks with <|endoftext|> prepended, excluding
   position 0 (the <|endoftext|> position): centered (||x - mean(x)||, the
   primary metric of resid-norms for LayerNorm models) and raw (||x||), and
   the least-squares fit of ln(mean centered norm) against the layer index
   over layers 1..L and 0..L (growth factor per layer = exp(slope), R^2).

Usage: python3 check.py --model ../../models/demo-gpt2 --val /tmp/demo-train/data/val.txt
                        [--ckpt /tmp/demo-train/run/ckpt.pt] [--json_out results.json]
"""
import argparse
import json
import math
import os
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from byte_tokenizer import EOT, EOT_ID, encode
from safetensors_io import read_safetensors

# ---------------------------------------------------------------- numpy GPT-2


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def attention(x, W, p, n_head):
    b, t, d = x.shape
    dh = d // n_head
    qkv = x @ W[p + "c_attn.weight"] + W[p + "c_attn.bias"]
    q, k, v = (qkv[..., i * d:(i + 1) * d].reshape(b, t, n_head, dh).transpose(0, 2, 1, 3) for i in range(3))
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh)
    scores = np.where(np.tril(np.ones((t, t), dtype=bool)), scores, -np.inf)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    probs = scores / scores.sum(-1, keepdims=True)
    out = (probs @ v).transpose(0, 2, 1, 3).reshape(b, t, d)
    return out @ W[p + "c_proj.weight"] + W[p + "c_proj.bias"]


def forward(ids, W, cfg, writes=None):
    """ids [b, t] -> (log-probs [b, t, vocab], residual streams list).
    If a list is passed as writes, (attention output, MLP output, residual
    before the write) triples are appended to it for every block."""
    eps, n_head = cfg["layer_norm_epsilon"], cfg["n_head"]
    x = W["transformer.wte.weight"][ids] + W["transformer.wpe.weight"][: ids.shape[1]][None]
    resid = []
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        resid.append(x)
        attn_out = attention(layer_norm(x, W[p + "ln_1.weight"], W[p + "ln_1.bias"], eps), W, p + "attn.", n_head)
        x_mid = x + attn_out
        h = layer_norm(x_mid, W[p + "ln_2.weight"], W[p + "ln_2.bias"], eps)
        h = gelu_new(h @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"])
        mlp_out = h @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
        if writes is not None:
            writes.append((attn_out, mlp_out, x))
        x = x_mid + mlp_out
    resid.append(x)
    logits = layer_norm(x, W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], eps) @ W["transformer.wte.weight"].T
    m = logits.max(-1, keepdims=True)
    logp = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))
    return logp, resid


def cosine(a, b):
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def centered(x):
    return x - x.mean(-1, keepdims=True)


def log_linear_fit(values, first):
    """Least-squares line through ln(values[first:]) against the layer index:
    (growth factor per layer = exp(slope), R^2)."""
    x = np.arange(first, len(values), dtype=np.float64)
    y = np.log(np.asarray(values[first:], dtype=np.float64))
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    r2 = 1.0 - (resid ** 2).sum() / ((y - y.mean()) ** 2).sum()
    return float(math.exp(slope)), float(r2)


def nll(logp, targets):
    return -np.take_along_axis(logp, targets[..., None], axis=-1).mean()

# ---------------------------------------------------------------- data


def val_windows(val_txt, ctx):
    """Validation text, per document, cut into chunks of ctx-1 bytes, each
    with <|endoftext|> prepended: an int array [n_windows, ctx]."""
    docs = [d for d in Path(val_txt).read_text(encoding="utf-8").split(EOT) if d]
    rows = []
    for doc in docs:
        ids = encode(doc)
        for s in range(0, len(ids) - (ctx - 1) + 1, ctx - 1):
            rows.append([EOT_ID] + ids[s:s + ctx - 1])
    return np.array(rows, dtype=np.int64)


def torch_reference(ids, ckpt, W, cfg):
    """Loss and residual norms from the PyTorch model of model.py."""
    import torch
    import torch.nn.functional as F
    from model import GPT2Config, GPT2LMHeadModel
    torch.set_num_threads(2)
    keys = ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "layer_norm_epsilon")
    model = GPT2LMHeadModel(GPT2Config(**{k: cfg[k] for k in keys}))
    if ckpt:
        sd = torch.load(ckpt, map_location="cpu")["state_dict"]
    else:
        sd = {k: torch.from_numpy(np.array(v)) for k, v in W.items()}
    model.load_state_dict(sd)
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(ids)
        logits, resid = model(x[:, :-1], return_resid=True)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1)).item()
    return loss, [r[:, 1:].norm(dim=-1).mean().item() for r in resid]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, help="folder with config.json and model.safetensors")
    p.add_argument("--val", required=True, help="val.txt written by prepare_corpus.py")
    p.add_argument("--ckpt", default=None, help="training checkpoint to compare against (optional)")
    p.add_argument("--loss_windows", type=int, default=16)
    p.add_argument("--max_windows", type=int, default=0, help="windows for the norm measurement (0 = all)")
    p.add_argument("--json_out", default=None)
    a = p.parse_args()

    cfg = json.loads((Path(a.model) / "config.json").read_text())
    meta, tensors = read_safetensors(Path(a.model) / "model.safetensors")
    W = {k: v.astype(np.float64) for k, v in tensors.items()}
    ctx = cfg["n_positions"]
    print(f"model.safetensors: {len(tensors)} tensors, {sum(v.size for v in tensors.values())} parameters, metadata {meta}")

    # 1) loss on validation bytes: numpy vs PyTorch (targets are the next bytes)
    windows = val_windows(a.val, ctx + 1)
    step = max(1, len(windows) // a.loss_windows)
    sample = windows[::step][: a.loss_windows]
    sample = sample[:, 1:]  # plain validation bytes, no <|endoftext|>
    logp, resid_np = forward(sample[:, :-1], W, cfg)
    loss_np = float(nll(logp, sample[:, 1:]))
    loss_pt, norms_pt = torch_reference(sample, a.ckpt, W, cfg)
    norms_np = [float(np.linalg.norm(r[:, 1:], axis=-1).mean()) for r in resid_np]
    print(f"loss on {sample.shape[0]} x {sample.shape[1] - 1} validation bytes: numpy {loss_np:.6f}  "
          f"pytorch {loss_pt:.6f}  |diff| {abs(loss_np - loss_pt):.2e}  (nats/byte; uniform = ln 257 = {math.log(257):.4f})")
    assert abs(loss_np - loss_pt) < 1e-4, "numpy and PyTorch losses differ"
    assert max(abs(x - y) / y for x, y in zip(norms_np, norms_pt)) < 1e-4, "residual norms differ"
    print("numpy forward pass from the files matches the PyTorch model: OK")

    # 2) residual norms over validation chunks with <|endoftext|> prepended
    win = val_windows(a.val, ctx)
    if a.max_windows:
        win = win[: a.max_windows]
    L = cfg["n_layer"]
    sums, cen_sums, count, pos0 = np.zeros(L + 1), np.zeros(L + 1), 0, np.zeros(L + 1)
    write_sums = np.zeros((L, 4))  # |attn_out|, |mlp_out|, |block write|, cos(block write, resid_pre)
    total_nll, total_n = 0.0, 0
    for b0 in range(0, len(win), 32):
        ids = win[b0:b0 + 32]
        writes = []
        logp, resid = forward(ids, W, cfg, writes)
        for i, (att, mlp, x) in enumerate(writes):
            att, mlp, x = att[:, 1:], mlp[:, 1:], x[:, 1:]
            write_sums[i] += [np.linalg.norm(att, axis=-1).sum(), np.linalg.norm(mlp, axis=-1).sum(),
                              np.linalg.norm(att + mlp, axis=-1).sum(), cosine(att + mlp, x).sum()]
        total_nll += float(nll(logp[:, :-1], ids[:, 1:])) * ids[:, 1:].size
        total_n += ids[:, 1:].size
        sums += [np.linalg.norm(r[:, 1:], axis=-1).sum() for r in resid]
        cen_sums += [np.linalg.norm(centered(r[:, 1:]), axis=-1).sum() for r in resid]
        pos0 += [np.linalg.norm(centered(r[:, 0]), axis=-1).sum() for r in resid]
        count += ids.shape[0] * (ids.shape[1] - 1)
    norms, cen_norms = sums / count, cen_sums / count
    names = [f"resid_pre {i}" for i in range(cfg["n_layer"])] + ["final (before ln_f)"]
    print(f"\nmean L2 norm of the residual stream over {len(win)} validation chunks x {ctx - 1} positions "
          f"(<|endoftext|> at position 0 excluded):")
    print(f"  {'layer':>5s} {'residual':20s} {'centered':>9s} {'ratio':>7s} {'raw':>9s}")
    for i, (n, c, v) in enumerate(zip(names, cen_norms, norms)):
        ratio = f"x{c / cen_norms[i - 1]:.3f}" if i else ""
        print(f"  {i:5d} {n:20s} {c:9.3f} {ratio:>7s} {v:9.3f}")
    fits = {}
    for first in (1, 0):
        for metric, vals in (("centered", cen_norms), ("raw", norms)):
            growth, r2 = log_linear_fit(vals, first)
            fits[f"{metric}_layers_{first}_to_{L}"] = {"growth_per_layer": growth, "r2": r2}
            print(f"least-squares fit of ln(mean {metric} norm) over layers {first}..{L}: "
                  f"x{growth:.4f} per layer, R^2 {r2:.4f}")
    print(f"final / resid_pre 1 (centered) = {cen_norms[-1] / cen_norms[1]:.2f}")
    print(f"(position 0, <|endoftext|>, centered, for reference: " + " ".join(f"{v / len(win):.1f}" for v in pos0) + ")")
    print(f"loss on these chunks: {total_nll / total_n:.4f} nats/byte")
    writes_mean = write_sums / count
    print("\nwhat each block writes (mean over the same positions):")
    print("  block   |attn out|  |mlp out|  |attn+mlp|  cos(attn+mlp, resid_pre)")
    for i, (wa, wm, wb, c) in enumerate(writes_mean):
        print(f"  {i:5d}   {wa:9.3f}  {wm:9.3f}  {wb:10.3f}  {c:+.3f}")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps({
            "loss_check": {"n_windows": int(sample.shape[0]), "n_targets": int(sample[:, 1:].size),
                           "numpy": loss_np, "pytorch": loss_pt},
            "norm_windows": int(len(win)), "positions_per_window": ctx - 1,
            "resid_norms_centered": dict(zip(names, cen_norms.tolist())),
            "resid_norms_raw": dict(zip(names, norms.tolist())), "fits": fits,
            "pos0_norms_centered": (pos0 / len(win)).tolist(), "val_chunks_loss": total_nll / total_n,
            "block_writes": [dict(zip(["attn_out", "mlp_out", "block_out", "cos_with_resid_pre"], r))
                             for r in writes_mean.tolist()]}, indent=2) + "\n")


if __name__ == "__main__":
    main()
