"""Clean the Jane Austen novels exported by export_austen.R and split them
into byte-token train / validation streams.

Cleaning (per novel):
  * lines are hard-wrapped at ~70 columns: consecutive non-blank lines are
    joined with one space into a paragraph (runs of spaces collapsed);
  * the Project Gutenberg italics markers "_" are removed;
  * paragraphs are separated by one blank line ("\n\n").
Split: the last VAL_FRACTION of each novel's paragraphs (by bytes) is the
validation text; the rest is training text. No validation byte is ever
trained on. Each novel is preceded by <|endoftext|> (id 256) in both streams.

Usage: python3 prepare_corpus.py RAW_DIR OUT_DIR
Writes OUT_DIR/train.bin, val.bin (uint16 token ids), val.txt, meta.json.
"""
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np

from byte_tokenizer import EOT_ID, encode

NOVELS = ["sensesensibility", "prideprejudice", "mansfieldpark",
          "emma", "northangerabbey", "persuasion"]
VAL_FRACTION = 0.05


def paragraphs(raw_text):
    """Unwrap hard-wrapped lines into paragraphs, drop "_" italics markers."""
    paras, cur = [], []
    for line in raw_text.split("\n"):
        line = line.strip()
        if line:
            cur.append(line)
        elif cur:
            paras.append(cur)
            cur = []
    if cur:
        paras.append(cur)
    out = []
    for lines in paras:
        p = re.sub(r" +", " ", " ".join(lines).replace("_", ""))
        out.append(p)
    return out


def split_paragraphs(paras, val_fraction):
    """Return (train_text, val_text): the tail paragraphs holding about
    val_fraction of the bytes go to validation."""
    sizes = [len(p.encode("utf-8")) + 2 for p in paras]
    budget = val_fraction * sum(sizes)
    cut, acc = len(paras), 0
    while cut > 0 and acc + sizes[cut - 1] <= budget:
        cut -= 1
        acc += sizes[cut]
    join = lambda ps: "\n\n".join(ps) + "\n"
    return join(paras[:cut]), join(paras[cut:])


def main(raw_dir, out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_ids, val_ids, val_texts, meta = [], [], [], {"novels": {}}
    for name in NOVELS:
        raw = (Path(raw_dir) / f"{name}.txt").read_bytes()
        paras = paragraphs(raw.decode("utf-8"))
        tr, va = split_paragraphs(paras, VAL_FRACTION)
        train_ids += [EOT_ID] + encode(tr)
        val_ids += [EOT_ID] + encode(va)
        val_texts.append(va)
        meta["novels"][name] = {"raw_sha256": hashlib.sha256(raw).hexdigest(), "raw_bytes": len(raw),
                                "train_bytes": len(tr.encode()), "val_bytes": len(va.encode())}
    np.array(train_ids, dtype=np.uint16).tofile(out / "train.bin")
    np.array(val_ids, dtype=np.uint16).tofile(out / "val.bin")
    (out / "val.txt").write_text("<|endoftext|>".join([""] + val_texts), encoding="utf-8")
    meta.update(train_tokens=len(train_ids), val_tokens=len(val_ids), val_fraction=VAL_FRACTION)
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
