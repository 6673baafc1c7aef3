"""Train the byte-level GPT-2 demo model on the prepared Austen corpus.

Usage (see README.md):
  python3 train.py --data /tmp/demo-train/data --out /tmp/demo-train/run [--seed 1234] ...

Writes OUT/ckpt.pt (PyTorch state_dict + config + args; with --keep_ckpts
also OUT/ckpt_step<N>.pt at every evaluation) and OUT/log.json (loss
history, per-layer residual norms, wall-clock). Deterministic given
the seed, the thread count and the machine (CPU only).
"""
import argparse
import json
import math
import os
import random
import time
from pathlib import Path

# torch runs its own intra-op threads; letting OpenBLAS spawn more threads
# inside each of them oversubscribes the 2 cores (measured: 3.3 s/step
# instead of 2.0 s/step). Must be set before numpy/torch load OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import torch
import torch.nn.functional as F

from model import GPT2Config, GPT2LMHeadModel

EOT_ID = 256


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="directory with train.bin / val.bin from prepare_corpus.py")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=1234)
    # The defaults are the shipped model's run. It used 2 threads on an idle
    # machine (2.2 s/step); 1 thread is about as fast when idle and far less
    # hurt when other processes share the cores, but changes float rounding.
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n_layer", type=int, default=8)
    p.add_argument("--n_embd", type=int, default=128)
    p.add_argument("--n_head", type=int, default=4)
    p.add_argument("--n_positions", type=int, default=256)
    p.add_argument("--batch_size", type=int, default=32, help="sequences of n_positions tokens per step")
    p.add_argument("--max_steps", type=int, default=500)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min_lr", type=float, default=1e-4)
    p.add_argument("--warmup_steps", type=int, default=100)
    p.add_argument("--weight_decay", type=float, default=0.1)
    p.add_argument("--beta1", type=float, default=0.9)
    p.add_argument("--beta2", type=float, default=0.95)
    p.add_argument("--grad_clip", type=float, default=1.0)
    p.add_argument("--eval_interval", type=int, default=100)
    # GPT-2's dropouts (its config: 0.1 each), as in the shipped run.
    p.add_argument("--embd_pdrop", type=float, default=0.1, help="dropout on wte + wpe")
    p.add_argument("--attn_pdrop", type=float, default=0.1, help="dropout on attention probabilities")
    p.add_argument("--resid_pdrop", type=float, default=0.1, help="dropout on attn and MLP outputs before the residual add")
    p.add_argument("--norm_windows", type=int, default=256,
                   help="validation chunks (<|endoftext|> + n_positions-1 bytes) for the in-loop norm measurement")
    p.add_argument("--keep_ckpts", action="store_true", help="also keep ckpt_step<N>.pt at every evaluation")
    return p.parse_args()


def seed_everything(seed, threads):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def load_tokens(path):
    return torch.from_numpy(np.fromfile(path, dtype=np.uint16).astype(np.int64))


def random_batch(tokens, batch_size, ctx, gen):
    """batch_size random windows of ctx+1 tokens: inputs and shifted targets."""
    starts = torch.randint(0, len(tokens) - ctx - 1, (batch_size,), generator=gen)
    windows = torch.stack([tokens[s:s + ctx + 1] for s in starts.tolist()])
    return windows[:, :-1], windows[:, 1:]


def lr_at(step, a):
    """Linear warmup, then cosine decay from lr to min_lr at max_steps."""
    if step < a.warmup_steps:
        return a.lr * (step + 1) / a.warmup_steps
    t = (step - a.warmup_steps) / max(1, a.max_steps - a.warmup_steps)
    return a.min_lr + 0.5 * (a.lr - a.min_lr) * (1.0 + math.cos(math.pi * min(1.0, t)))


def make_optimizer(model, a):
    """AdamW; weight decay on matrices and embeddings only (not biases/LayerNorms)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": a.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=a.lr, betas=(a.beta1, a.beta2), foreach=True)


@torch.no_grad()
def evaluate(model, tokens, ctx, batch_size=32, max_tokens=None):
    """Mean next-token loss (nats per token = per byte) over consecutive,
    non-overlapping windows of ctx targets; also the mean raw L2 norm of the
    residual stream per layer (positions >= 1, no <|endoftext|> prepended)."""
    model.eval()
    n = len(tokens) - 1 if max_tokens is None else min(len(tokens) - 1, max_tokens)
    n_win = n // ctx
    total_loss, total_count = 0.0, 0
    norm_sum, norm_count = None, 0
    for w0 in range(0, n_win, batch_size):
        ws = range(w0, min(n_win, w0 + batch_size))
        x = torch.stack([tokens[w * ctx:w * ctx + ctx] for w in ws])
        y = torch.stack([tokens[w * ctx + 1:w * ctx + ctx + 1] for w in ws])
        logits, resid = model(x, return_resid=True)
        total_loss += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum").item()
        total_count += y.numel()
        norms = torch.stack([r[:, 1:].norm(dim=-1).sum() for r in resid])
        norm_sum = norms if norm_sum is None else norm_sum + norms
        norm_count += x.size(0) * (ctx - 1)
    model.train()
    return total_loss / total_count, (norm_sum / norm_count).tolist()


def log_linear_growth(values):
    """exp(slope) of the least-squares line through ln(values) vs index."""
    y = np.log(np.asarray(values, dtype=np.float64))
    return float(math.exp(np.polyfit(np.arange(len(y)), y, 1)[0]))


@torch.no_grad()
def measure_norms(model, tokens, ctx, n_windows, batch_size=32):
    """Residual norms measured the way resid-norms measures them: evenly
    spread validation chunks of ctx-1 tokens with <|endoftext|> prepended,
    position 0 excluded; mean centered (||x - mean(x)||) and raw L2 norm of
    resid_pre 0..n_layer-1 and the final residual."""
    model.eval()
    starts = np.linspace(0, len(tokens) - ctx, n_windows).astype(np.int64).tolist()
    cen_sum, raw_sum, count = None, None, 0
    for b0 in range(0, len(starts), batch_size):
        rows = [torch.cat([torch.tensor([EOT_ID]), tokens[s:s + ctx - 1]]) for s in starts[b0:b0 + batch_size]]
        _, resid = model(torch.stack(rows), return_resid=True)
        cen = torch.stack([(r[:, 1:] - r[:, 1:].mean(-1, keepdim=True)).norm(dim=-1).sum() for r in resid])
        raw = torch.stack([r[:, 1:].norm(dim=-1).sum() for r in resid])
        cen_sum = cen if cen_sum is None else cen_sum + cen
        raw_sum = raw if raw_sum is None else raw_sum + raw
        count += len(rows) * (ctx - 1)
    model.train()
    return (cen_sum / count).tolist(), (raw_sum / count).tolist()


def main():
    a = parse_args()
    seed_everything(a.seed, a.threads)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    train_tokens = load_tokens(Path(a.data) / "train.bin")
    val_tokens = load_tokens(Path(a.data) / "val.bin")
    cfg = GPT2Config(n_layer=a.n_layer, n_embd=a.n_embd, n_head=a.n_head, n_positions=a.n_positions,
                     embd_pdrop=a.embd_pdrop, attn_pdrop=a.attn_pdrop, resid_pdrop=a.resid_pdrop)
    model = GPT2LMHeadModel(cfg)
    opt = make_optimizer(model, a)
    gen = torch.Generator().manual_seed(a.seed)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"params {n_params}  train tokens {len(train_tokens)}  val tokens {len(val_tokens)}  threads {torch.get_num_threads()}", flush=True)
    log = {"args": vars(a), "config": cfg.to_dict(), "n_params": n_params, "torch": torch.__version__,
           "threads": torch.get_num_threads(), "openblas_threads": os.environ["OPENBLAS_NUM_THREADS"],
           "history": [], "evals": []}
    t0 = time.time()
    recent = []
    for step in range(a.max_steps):
        lr = lr_at(step, a)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = random_batch(train_tokens, a.batch_size, a.n_positions, gen)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip).item()
        opt.step()
        recent = (recent + [loss.item()])[-50:]
        log["history"].append({"step": step + 1, "lr": lr, "loss": loss.item(), "grad_norm": gnorm,
                               "elapsed_s": time.time() - t0})
        if (step + 1) % 10 == 0:
            print(f"step {step + 1:5d}  lr {lr:.2e}  loss {loss.item():.4f}  avg50 {sum(recent) / len(recent):.4f}  "
                  f"gnorm {gnorm:.2f}  {time.time() - t0:7.1f}s", flush=True)
        if (step + 1) % a.eval_interval == 0 or step + 1 == a.max_steps:
            val_loss, norms = evaluate(model, val_tokens, a.n_positions)
            cen, raw = measure_norms(model, val_tokens, a.n_positions, a.norm_windows)
            growth = log_linear_growth(cen[1:])
            log["evals"].append({"step": step + 1, "val_loss": val_loss, "resid_norms": norms,
                                 "bos_centered_norms": cen, "bos_raw_norms": raw, "centered_growth_1_to_L": growth,
                                 "train_loss_avg50": sum(recent) / len(recent), "elapsed_s": time.time() - t0})
            print(f"EVAL step {step + 1}  val {val_loss:.4f} nats/byte  resid norms "
                  + " ".join(f"{v:.1f}" for v in norms), flush=True)
            print(f"EVAL step {step + 1}  with <|endoftext|>: centered " + " ".join(f"{v:.2f}" for v in cen)
                  + f"  raw " + " ".join(f"{v:.2f}" for v in raw)
                  + f"  growth(1..L) x{growth:.3f}/layer", flush=True)
            ck = {"state_dict": model.state_dict(), "config": cfg.to_dict(), "args": vars(a), "step": step + 1}
            torch.save(ck, out / "ckpt.pt")
            if a.keep_ckpts:
                torch.save(ck, out / f"ckpt_step{step + 1}.pt")
    train_time = time.time() - t0
    # final losses: full validation split, and an equal-sized slice of training data
    val_loss, norms = evaluate(model, val_tokens, a.n_positions)
    train_loss, _ = evaluate(model, train_tokens, a.n_positions, max_tokens=len(val_tokens))
    log["final"] = {"steps": a.max_steps, "tokens_seen": a.max_steps * a.batch_size * a.n_positions,
                    "train_wall_clock_s": train_time, "val_loss": val_loss, "train_loss_eval": train_loss,
                    "train_loss_avg_last50": sum(recent) / len(recent), "val_resid_norms": norms}
    print("FINAL", json.dumps(log["final"]), flush=True)
    (out / "log.json").write_text(json.dumps(log, indent=1) + "\n")


if __name__ == "__main__":
    main()
