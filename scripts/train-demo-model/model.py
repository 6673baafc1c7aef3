"""A plain-PyTorch GPT-2 that computes exactly what Hugging Face's
GPT2LMHeadModel computes, including its three dropouts (embd_pdrop,
attn_pdrop, resid_pdrop; active only in training mode), with parameter names and
shapes laid out the way GPT2LMHeadModel stores them:

  transformer.wte.weight            [vocab, d]
  transformer.wpe.weight            [n_positions, d]
  transformer.h.{i}.ln_1.weight|bias              [d]
  transformer.h.{i}.attn.c_attn.weight|bias       [d, 3d] | [3d]   (Conv1D: [in, out], q,k,v)
  transformer.h.{i}.attn.c_proj.weight|bias       [d, d]  | [d]
  transformer.h.{i}.ln_2.weight|bias              [d]
  transformer.h.{i}.mlp.c_fc.weight|bias          [d, 4d] | [4d]
  transformer.h.{i}.mlp.c_proj.weight|bias        [4d, d] | [d]
  transformer.ln_f.weight|bias      [d]
  (lm_head.weight is tied to transformer.wte.weight and not a separate tensor)
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GPT2Config:
    vocab_size: int = 257
    n_positions: int = 256
    n_embd: int = 128
    n_layer: int = 8
    n_head: int = 4
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02
    # HF GPT-2's dropout probabilities (GPT-2 itself: 0.1 each). Training
    # only: they have no parameters and do nothing in eval mode.
    embd_pdrop: float = 0.0
    attn_pdrop: float = 0.0
    resid_pdrop: float = 0.0

    def to_dict(self):
        return asdict(self)


def gelu_new(x):
    """GPT-2's GELU, tanh approximation (HF "gelu_new" / NewGELUActivation):
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). torch's fused
    gelu(approximate="tanh") evaluates this same formula in one kernel."""
    return F.gelu(x, approximate="tanh")


class Conv1D(nn.Module):
    """HF's Conv1D: a linear layer whose weight is stored as [in, out]."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.size(-1)), self.weight).view(*x.shape[:-1], -1)


class Attention(nn.Module):
    """Causal self-attention, fused q,k,v projection (c_attn) then c_proj.

    HF computes softmax(where(causal, q k^T / sqrt(d_head), finfo.min)) v.
    Here the scale and the mask are fused into one baddbmm (adding -inf above
    the diagonal): the same function, up to float rounding, and faster on CPU.
    """

    def __init__(self, cfg):
        super().__init__()
        self.n_head = cfg.n_head
        self.d_head = cfg.n_embd // cfg.n_head
        self.c_attn = Conv1D(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = Conv1D(cfg.n_embd, cfg.n_embd)
        n = cfg.n_positions
        bias = torch.full((n, n), float("-inf")).triu(diagonal=1)  # 0 on/below diagonal
        self.register_buffer("mask_bias", bias, persistent=False)
        self.attn_dropout = nn.Dropout(cfg.attn_pdrop)  # on the attention probabilities
        self.resid_dropout = nn.Dropout(cfg.resid_pdrop)  # on the output, as HF does

    def split_heads(self, x):
        b, t, _ = x.shape  # -> [b * h, t, dh]
        return x.view(b, t, self.n_head, self.d_head).transpose(1, 2).reshape(b * self.n_head, t, self.d_head)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)
        scores = torch.baddbmm(self.mask_bias[:t, :t], q, k.transpose(1, 2), alpha=1.0 / math.sqrt(self.d_head))
        probs = self.attn_dropout(torch.softmax(scores, dim=-1))
        out = torch.bmm(probs, v).view(b, self.n_head, t, self.d_head).transpose(1, 2).reshape(b, t, d)
        return self.resid_dropout(self.c_proj(out))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c_fc = Conv1D(cfg.n_embd, 4 * cfg.n_embd)
        self.c_proj = Conv1D(4 * cfg.n_embd, cfg.n_embd)
        self.dropout = nn.Dropout(cfg.resid_pdrop)

    def forward(self, x):
        return self.dropout(self.c_proj(gelu_new(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LayerNorm transformer block."""

    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.mlp = MLP(cfg)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)
        self.drop = nn.Dropout(cfg.embd_pdrop)
        self.h = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)


class GPT2LMHeadModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.transformer = Transformer(cfg)
        self.init_weights()

    def init_weights(self):
        """HF GPT2PreTrainedModel._init_weights: N(0, 0.02) weights, zero biases,
        unit LayerNorms, and c_proj weights scaled by 1/sqrt(2 * n_layer)."""
        std = self.cfg.initializer_range
        for name, p in self.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                nn.init.ones_(p)
            elif name.endswith(".bias"):
                nn.init.zeros_(p)
            elif name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, std / math.sqrt(2 * self.cfg.n_layer))
            else:
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids, return_resid=False):
        """ids: LongTensor [batch, seq]. Returns logits [batch, seq, vocab]
        and, if return_resid, the list of residual streams: the input of
        each block (resid_pre 0..n_layer-1) and the final residual before ln_f."""
        t = ids.size(1)
        tr = self.transformer
        pos = torch.arange(t, device=ids.device)
        x = tr.drop(tr.wte(ids) + tr.wpe(pos)[None])
        resid = []
        for block in tr.h:
            resid.append(x)
            x = block(x)
        resid.append(x)
        logits = F.linear(tr.ln_f(x), tr.wte.weight)  # LM head tied to wte
        return (logits, resid) if return_resid else logits

    def hf_state_dict(self):
        """Tensors in GPT2LMHeadModel's key order, without the tied lm_head."""
        return {k: v.detach().contiguous() for k, v in self.state_dict().items()}
