"""Byte-level tokenizer of the demo model: token id b is the byte b of the
UTF-8 text (0..255) and <|endoftext|> is id 256. vocab_size = 257.

Also writes the Hugging Face tokenizer.json / tokenizer_config.json that
express the same mapping: a BPE model with no merges whose vocabulary maps
GPT-2's bytes_to_unicode() character of byte b to id b, behind a ByteLevel
pre-tokenizer, with <|endoftext|> as a special added token.
"""
import json

EOT = "<|endoftext|>"
EOT_ID = 256
VOCAB_SIZE = 257


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def encode(text):
    """Text -> list of byte ids (no special-token parsing)."""
    return list(text.encode("utf-8"))


def decode(ids):
    return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")


def tokenizer_json():
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    vocab[EOT] = EOT_ID
    added = {"id": EOT_ID, "content": EOT, "single_word": False, "lstrip": False,
             "rstrip": False, "normalized": False, "special": True}
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added],
        "normalizer": None,
        "pre_tokenizer": dict(byte_level),
        "post_processor": {**byte_level, "trim_offsets": False},
        "decoder": dict(byte_level),
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None,
            "continuing_subword_prefix": "", "end_of_word_suffix": "",
            "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab, "merges": [],
        },
    }


def tokenizer_config_json(n_positions):
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {str(EOT_ID): {"content": EOT, "lstrip": False, "normalized": False,
                                               "rstrip": False, "single_word": False, "special": True}},
        "bos_token": EOT,
        "eos_token": EOT,
        "unk_token": EOT,
        "clean_up_tokenization_spaces": False,
        "model_max_length": n_positions,
        "tokenizer_class": "GPT2Tokenizer",
    }


def write_tokenizer_files(outdir, n_positions):
    with open(f"{outdir}/tokenizer.json", "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(), f, ensure_ascii=False, indent=2)
        f.write("\n")
    with open(f"{outdir}/tokenizer_config.json", "w", encoding="utf-8") as f:
        json.dump(tokenizer_config_json(n_positions), f, indent=2)
        f.write("\n")
